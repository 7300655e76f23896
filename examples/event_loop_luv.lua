-- Several containers driven at once from one Lua state with luv (libuv):
-- a poll handle per stdout pipe delivers output as it arrives, and a poll
-- handle on each process's pollable fd (`p:pollfd()`) reports its exit.
--
--   lua5.4 examples/event_loop_luv.lua rootfs.tar
--
-- Windows has no pollable handle (`pollfd()` is -1): there, use a
-- `uv.new_timer()` that asks `p:is_running()` and
-- `hcsshim.stdio.read_ready(files, 0)` every few milliseconds instead.
local uv = require "luv"
local hcsshim = require "hcsshim"
local rootfs = assert(arg[1], "usage: event_loop_luv.lua ROOTFS.tar")

local results = {}

local function drive(name, box, script)
  local p = assert(box.container:create_process{ CommandArgs = { "sh", "-c", script },
    CreateStdOutPipe = true })
  local _, stdout = p:stdio()
  local parts = {}
  local out = uv.new_poll(hcsshim.stdio.fileno(stdout))
  local exit = uv.new_poll(p:pollfd())
  local out_done, exited = false, false
  -- both seen: the result, then the poll handles go before the fds they watch
  local function finish()
    if not (out_done and exited) then return end
    results[name] = { output = table.concat(parts), exit_code = p:exit_code() }
    out:close()
    exit:close()
    p:close()
    stdout:close()
  end
  out:start("r", function()                      -- output as it arrives
    local chunk = hcsshim.stdio.read_ready({ stdout }, 0)[1]
    if chunk then parts[#parts + 1] = chunk io.write(name, ": ", chunk) return end
    if chunk == false then out:stop() out_done = true finish() end
  end)
  exit:start("r", function()                     -- a notification: exited?
    if not p:is_running() then exit:stop() exited = true finish() end
  end)
end

local boxes = {}
for i = 1, 3 do
  boxes[i] = assert(hcsshim.run{ rootfs = rootfs, command = "sleep 600", detach = true })
  drive("c" .. i, boxes[i], ("for n in 1 2 3; do echo tick $n; sleep 0.%d; done; exit %d"):format(i, i))
end
local t0 = hcsshim.monotime()
local ok, err = pcall(uv.run)
for _, b in ipairs(boxes) do b.stop() end
assert(ok, err)
for i = 1, 3 do
  local r = results["c" .. i]
  assert(r and r.exit_code == i and select(2, r.output:gsub("tick", "")) == 3)
end
print(("3 containers driven together in %.2f s"):format(hcsshim.monotime() - t0))
