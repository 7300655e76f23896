-- Several containers driven at once from one Lua state with cqueues: each
-- container's process is a coroutine that reads its stdout as data
-- arrives (the loop never blocks on a pipe) and awaits its exit through
-- the process's pollable fd (`p:pollfd()`, then `p:is_running()`).
--
--   lua5.4 examples/event_loop_cqueues.lua rootfs.tar
--
-- Windows has no pollable handle (`pollfd()` is -1): there, ask
-- `p:wait(0)` / `p:is_running()` and `hcsshim.stdio.read_ready(files, 0)`
-- from a periodic timer (`cqueues.sleep(0.05)` in the coroutine) instead.
local cqueues = require "cqueues"
local hcsshim = require "hcsshim"
local rootfs = assert(arg[1], "usage: event_loop_cqueues.lua ROOTFS.tar")

-- A pollable for cqueues: the descriptor and the events to wait for.
local function readable(fd) return { pollfd = fd, events = "r" } end

local function drive(name, box, script, results)
  local p <close> = assert(box.container:create_process{ CommandArgs = { "sh", "-c", script },
    CreateStdOutPipe = true })
  local _, stdout = p:stdio()
  local fd, parts = hcsshim.stdio.fileno(stdout), {}
  while true do                              -- output as it arrives
    cqueues.poll(readable(fd))
    local chunk = hcsshim.stdio.read_ready({ stdout }, 0)[1]
    if chunk == false then break end
    if chunk then parts[#parts + 1] = chunk io.write(name, ": ", chunk) end
  end
  while p:is_running() do cqueues.poll(readable(p:pollfd())) end -- the exit, via the pollable fd
  results[name] = { output = table.concat(parts), exit_code = p:exit_code() }
  -- cqueues keeps descriptors registered: forget them before they close
  cqueues.cancel(fd)
  cqueues.cancel(p:pollfd())
  stdout:close()
end

local boxes, results = {}, {}
local loop = cqueues.new()
for i = 1, 3 do
  boxes[i] = assert(hcsshim.run{ rootfs = rootfs, command = "sleep 600", detach = true })
  local script = ("for n in 1 2 3; do echo tick $n; sleep 0.%d; done; exit %d"):format(i, i)
  loop:wrap(function() drive("c" .. i, boxes[i], script, results) end)
end
local t0 = hcsshim.monotime()
local ok, err = loop:loop()
for _, b in ipairs(boxes) do b.stop() end
assert(ok, err)
for i = 1, 3 do
  local r = results["c" .. i]
  assert(r and r.exit_code == i and select(2, r.output:gsub("tick", "")) == 3)
end
print(("3 containers driven together in %.2f s"):format(hcsshim.monotime() - t0))
