-- Private memory of one idle per-container monitor: a running container
-- with no request in flight, Private_Clean + Private_Dirty from
-- /proc/PID/smaps_rollup of its monitor.  Prints `monitor_private_kib N`
-- (target <= 256: the monitor is per container, so it is paid N times).
local hcsshim = require "hcsshim"

local bench = require "bench.support"
local sh = bench.sh
local monitor_pid = require("support.procs").monitor_pid

local root = sh("mktemp -d /var/tmp/hcsshim-bench-mon.XXXXXX"):gsub("%s+$", "")
local rootfs = root .. "/bb"
sh(("mkdir -p %s/bin %s/etc %s/proc %s/sys %s/dev && cp /bin/busybox %s/bin/ && ln -s busybox %s/bin/sh")
  :format(rootfs, rootfs, rootfs, rootfs, rootfs, rootfs, rootfs))

local function private_kib(pid)
  local kib = 0
  for line in io.lines("/proc/" .. pid .. "/smaps_rollup") do
    local n = line:match("^Private_Clean:%s+(%d+) kB") or line:match("^Private_Dirty:%s+(%d+) kB")
    if n then kib = kib + tonumber(n) end
  end
  return kib
end

local id = "bench-mon-" .. hcsshim.new_guid():sub(1, 8)
local c
local ok, err = pcall(function()
  c = assert(hcsshim.create_container(id, { VolumePath = rootfs }))
  assert(c:start())
  -- one exec round trip first, so the idle state is the one after use
  local p = assert(c:create_process({ CommandLine = "sh -c true" }))
  assert(p:wait(30))
  p:close()
  local pid = assert(monitor_pid(id), "no monitor process found")
  print(("monitor_private_kib %d"):format(private_kib(pid)))
  assert(c:terminate())
  assert(c:wait(30))
  c:close()
end)
if not ok and c and c:is_open() then -- a failed round leaves no container behind
  c:terminate()
  c:wait(30)
  c:close()
end
os.execute("rm -rf --one-file-system " .. root)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
