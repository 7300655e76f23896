-- Seed archives of the tar import harness (fuzz_tar_import), written at
-- fuzz time with the specs' own tar writer: ordinary layers (files, dirs,
-- links, xattrs, whiteouts, an opaque dir) and the hostile cases of
-- spec/layer_spec.lua ("..", absolute names, writes through a planted
-- symlink, hard links out).  Usage: lua5.4 spec/fuzz/tar_seeds.lua DIR
local tar = require "support.tar"
local dir = assert(arg[1], "usage: tar_seeds.lua DIR")

local seeds = {
  plain = {
    { name = "./", type = "dir", mode = 493 },
    { name = "bin/", type = "dir" }, { name = "bin/sh", type = "file", data = "#!x\n", mode = 493 },
    { name = "etc/", type = "dir" }, { name = "etc/passwd", type = "file", data = "root:x:0:0::/:/bin/sh\n" },
    { name = "bin/ash", type = "hardlink", link = "bin/sh" },
    { name = "sbin", type = "symlink", link = "bin" },
    { name = "home/app/", type = "dir", uid = 1000, gid = 1000, mode = 448 },
    { name = "dev/null", type = "char", major = 1, minor = 3 },
    { name = "x", type = "file", data = "caps", xattrs = { ["security.capability"] = "\1\0\0\2" } },
  },
  whiteouts = {
    { name = "a/", type = "dir" }, { name = "a/f", type = "file", data = "f" },
    { name = "a/.wh.f", type = "file" }, { name = "a/.wh.gone", type = "file" },
    { name = "o/", type = "dir" }, { name = "o/.wh..wh..opq", type = "file" },
    { name = ".wh..wh.plnk", type = "dir" }, { name = "e/f", type = "file", data = "x" },
    { name = ".wh.e", type = "file" },
  },
  dotdot = { { name = "../evil", type = "file", data = "x" } },
  absolute = { { name = "/abs", type = "file", data = "x" } },
  symlink_out = {
    { name = "evil", type = "symlink", link = "../outside" }, { name = "evil/pwned", type = "file", data = "x" },
  },
  symlink_abs = {
    { name = "evil", type = "symlink", link = "/tmp" }, { name = "evil/pwned", type = "file", data = "x" },
  },
  dotdot_outside = { { name = "../outside/x", type = "file", data = "x" } },
  link_then_write = {
    { name = "l", type = "symlink", link = "../outside/f" }, { name = "l", type = "file", data = "through?" },
    { name = "h", type = "hardlink", link = "l" },
  },
  hardlink_out = { { name = "h", type = "hardlink", link = "../../../../etc/passwd" } },
  hardlink_abs = { { name = "h2", type = "hardlink", link = "/etc/passwd" } },
  replace = {
    { name = "d/", type = "dir" }, { name = "d/f", type = "file", data = "1" },
    { name = "d", type = "file", data = "now a file" }, { name = "d", type = "symlink", link = "." },
  },
}
for name, entries in pairs(seeds) do tar.write(dir .. "/" .. name .. ".tar", entries) end
