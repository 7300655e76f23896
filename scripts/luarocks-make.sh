#!/bin/sh
# `make rock`: `luarocks make` for Lua 5.4 (Debian's LuaRocks defaults to
# 5.1) with a configuration that declares the rocks Debian's packages
# already provide (rocks_provided: lua-cjson, luafilesystem and argparse from
# lua-cjson, lua-filesystem and lua-argparse), so
# LuaRocks downloads nothing for them and works offline.  A dependency no
# installed package provides is fetched from the rocks server as usual.
# The configuration stands in for the user's own (LUAROCKS_CONFIG);
# arguments go to `luarocks make` (e.g. --tree DIR).
set -eu
cd "$(dirname "$0")/.."
conf="$PWD/${BUILD:-build}/luarocks-config-5.4.lua"
mkdir -p "$(dirname "$conf")"
{
  echo "-- written by scripts/luarocks-make.sh: rocks that Debian packages provide"
  echo "rocks_provided = {"
  # the rocks we depend on that Debian packages: rock name, package name
  for pair in lua-cjson:lua-cjson luafilesystem:lua-filesystem argparse:lua-argparse; do
    v=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "${pair#*:}" 2>/dev/null |
      sed -n 's/^ii *\([0-9][0-9.]*\).*/\1/p')
    [ -z "$v" ] || echo "  [\"${pair%%:*}\"] = \"$v-1\","
  done
  echo "}"
} >"$conf"
LUAROCKS_CONFIG="$conf" exec luarocks --lua-version 5.4 make "$@"
