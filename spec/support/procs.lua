-- Processes of the service as the host sees them (no hcsshim needed, so
-- bench/ can use it too).
local M = {}

--- The pid (a string) of the monitor of compute system `id`: the process
-- whose argv[0] ends in /monitor and whose argv[2] is the id; nil if none.
function M.monitor_pid(id)
  local ls = assert(io.popen("ls /proc"))
  local pids = ls:read("a")
  ls:close()
  for pid in pids:gmatch("%d+") do
    local f = io.open("/proc/" .. pid .. "/cmdline", "rb")
    if f then
      local args = {}
      for a in f:read("a"):gmatch("([^%z]*)%z") do args[#args + 1] = a end
      f:close()
      if args[1] and args[1]:match("/monitor$") and args[3] == id then return pid end
    end
  end
end

return M
