rockspec_format = "3.0"
package = "hcsshim"
version = "scm-1"
source = {
  url = "git+file:///dev/null", -- replaced by the release process
}
description = {
  summary = "Containers, processes, layers and HNS networks through the Host Compute Service API",
  detailed = [[
hcsshim for Lua does for Lua what Microsoft's Go package hcsshim does for Go:
it creates and manages compute systems (containers) through the Host Compute
Service API, runs processes in them, manages container image layers and HNS
networks.  On Windows it binds vmcompute.dll; on Linux it brings its own host
compute service built on crun, catatonit, overlayfs and libarchive.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson >= 2.1.0",
  "luafilesystem >= 1.8.0",
  "argparse >= 0.7.0",
}
external_dependencies = {
  platforms = {
    linux = {
      JANSSON = { header = "jansson.h" },
      LIBARCHIVE = { header = "archive.h" },
      CRYPTO = { header = "openssl/evp.h" },
      SQLITE3 = { header = "sqlite3.h" },
    },
    -- Windows layer tars: a libarchive that keeps go-winio's MSWINDOWS.*
    -- PAX records (scripts/libarchive-mswindows.patch; `make win32` builds
    -- one from Debian's source)
    win32 = {
      LIBARCHIVE = { header = "archive.h", library = "archive" },
    },
  },
}
build = {
  type = "make",
  build_target = "all",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA = "$(LUA)",
  },
  install_target = "install-lib",
  install_variables = {
    LIBDIR = "$(LIBDIR)",
    LUADIR = "$(LUADIR)",
  },
  -- the `hcsshim` command (LuaRocks wraps it with the tree's paths)
  install = {
    bin = { hcsshim = "bin/hcsshim" },
  },
  platforms = {
    -- Windows (MSVC or mingw): the same shared sources plus src/win32/,
    -- built by LuaRocks itself.  vmcompute.dll, ole32.dll and iphlpapi.dll
    -- are loaded at run time from System32, so only libarchive (Windows
    -- layer tars), crypt32 (base64), bcrypt (random bytes) and advapi32
    -- (token privileges, SDDL) are linked.
    win32 = {
      type = "builtin",
      modules = {
        ["hcsshim.core"] = {
          sources = {
            "src/bind.c", "src/constants.c", "src/core.c", "src/guid.c", "src/guidtext.c", "src/handle.c", "src/hns.c",
            "src/json.c", "src/layer.c", "src/pipe.c",
            "src/process.c", "src/queue.c", "src/service.c", "src/system.c", "src/wclayer.c",
            "src/archive.c", "src/digest.c", "src/files.c", "src/tarstream.c",
            "src/win32/dll.c", "src/win32/hns.c", "src/win32/layer.c", "src/win32/plat.c",
            "src/win32/priv.c", "src/win32/process.c", "src/win32/stdio.c", "src/win32/system.c",
            "src/win32/utf.c", "src/win32/bstream.c", "src/win32/wcfs.c", "src/win32/wcimport.c",
            "src/win32/wcmeta.c", "src/win32/wcexport.c", "src/win32/wcwriter.c", "src/win32/wcdest.c", "src/win32/wcstream.c",
          },
          incdirs = { "src", "$(LIBARCHIVE_INCDIR)" },
          libdirs = { "$(LIBARCHIVE_LIBDIR)" },
          defines = { "_WIN32_WINNT=0x0A00", "WINVER=0x0A00" },
          libraries = { "archive", "crypt32", "bcrypt", "advapi32" },
        },
        ["hcsshim"] = "lua/hcsshim/init.lua",
        ["hcsshim.error"] = "lua/hcsshim/error.lua",
        ["hcsshim.guid"] = "lua/hcsshim/guid.lua",
        ["hcsshim.hns"] = "lua/hcsshim/hns.lua",
        ["hcsshim.id"] = "lua/hcsshim/id.lua",
        ["hcsshim.image"] = "lua/hcsshim/image.lua",
        ["hcsshim.image_format"] = "lua/hcsshim/image_format.lua",
        ["hcsshim.image_source"] = "lua/hcsshim/image_source.lua",
        ["hcsshim.image_store"] = "lua/hcsshim/image_store.lua",
        ["hcsshim.json"] = "lua/hcsshim/json.lua",
        ["hcsshim.layer"] = "lua/hcsshim/layer.lua",
        ["hcsshim.layer_stream"] = "lua/hcsshim/layer_stream.lua",
        ["hcsshim.commit"] = "lua/hcsshim/commit.lua",
        ["hcsshim.network"] = "lua/hcsshim/network.lua",
        ["hcsshim.notification"] = "lua/hcsshim/notification.lua",
        ["hcsshim.process"] = "lua/hcsshim/process.lua",
        ["hcsshim.run"] = "lua/hcsshim/run.lua",
        ["hcsshim.schema"] = "lua/hcsshim/schema.lua",
        ["hcsshim.service"] = "lua/hcsshim/service.lua",
        ["hcsshim.system"] = "lua/hcsshim/system.lua",
        ["hcsshim.stdio"] = "lua/hcsshim/stdio.lua",
        ["hcsshim.prune"] = "lua/hcsshim/prune.lua",
        ["hcsshim.cli"] = "lua/hcsshim/cli/init.lua",
        ["hcsshim.cli.out"] = "lua/hcsshim/cli/out.lua",
        ["hcsshim.cli.progress"] = "lua/hcsshim/cli/progress.lua",
        ["hcsshim.cli.containers"] = "lua/hcsshim/cli/containers.lua",
        ["hcsshim.cli.run"] = "lua/hcsshim/cli/run.lua",
        ["hcsshim.cli.net"] = "lua/hcsshim/cli/net.lua",
        ["hcsshim.cli.layers"] = "lua/hcsshim/cli/layers.lua",
      },
    },
  },
}
