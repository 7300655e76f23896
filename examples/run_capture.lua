-- Run a command in a new container and capture its output: stdout and
-- stderr come back together (any amount, no deadlock), a callback sees
-- stderr as it arrives, and the rootfs tar is imported once and reused.
--
--   lua5.4 examples/run_capture.lua rootfs.tar
local hcsshim = require "hcsshim"
local rootfs = assert(arg[1], "usage: run_capture.lua ROOTFS.tar")

local seen = 0
local r = assert(hcsshim.run{
  rootfs = rootfs,
  args = { "sh", "-c", 'echo "hello $WHO from $(pwd)"; head -c 100000 /dev/zero | tr "\\0" x >&2' },
  env = { WHO = "example" }, cwd = "/tmp", timeout = 60,
  on_stderr = function(chunk) seen = seen + #chunk end,
})
io.write(r.stdout)
print(("stderr bytes seen by the callback: %d; exit code %d"):format(seen, r.exit_code))
assert(r.exit_code == 0 and seen == 100000)
