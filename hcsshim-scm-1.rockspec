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
}
external_dependencies = {
  platforms = {
    linux = {
      JANSSON = { header = "jansson.h" },
      LIBARCHIVE = { header = "archive.h" },
      CRYPTO = { header = "openssl/evp.h" },
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
  install_target = "install",
  install_variables = {
    LIBDIR = "$(LIBDIR)",
    LUADIR = "$(LUADIR)",
  },
}
