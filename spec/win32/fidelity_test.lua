-- Behaviour of real HCS that the double reproduces strictly (issue 13):
-- each test names the hcsshim source that shows the real behaviour.
local hcsshim = require "hcsshim"
local t = require "support"
local ctl, eq, ok, has = t.ctl, t.eq, t.ok, t.has

ctl("delay 10")

local function running(id)
  local c = assert(hcsshim.create_container(id, { Name = id }))
  assert(c:start())
  return c
end

local function finish(c)
  c:terminate()
  c:wait(5)
  c:close()
end

-- waits until the double reports the process exited (its ProcessExited
-- notification may still be on the way)
local function until_exited(p)
  for _ = 1, 200 do
    local props = assert(p:properties())
    if props.Exited then return end
    t.sleep(0.01)
  end
  error("the process did not exit")
end

-- item 5 (internal/hcs/process.go Kill: os.ErrPermission or IsAlreadyStopped is success)
test("kill of a process that exited before its notification arrived succeeds (ERROR_ACCESS_DENIED)", function()
  local c = running("f-kill")
  ctl("delay 2000") -- the ProcessExited notification comes late
  local p = assert(c:create_process({ CommandLine = "exit 0" }))
  until_exited(p)
  local r, err = p:kill()
  ctl("delay 10")
  eq(r, true, tostring(err))
  eq(t.last("HcsTerminateProcess") ~= nil, true)
  p:close()
  finish(c)
end)

-- item 5 (internal/hcs/errors.go IsAlreadyStopped: ErrVmcomputeSystemAlreadyStopped 0x80370110)
test("0x80370110 (system already stopped, SDK form) is already-stopped", function()
  local c = running("f-stopped")
  c:terminate()
  assert(c:wait(5))
  local r, err = c:modify({ ResourceType = "Network", RequestType = "Add", Settings = "ep-1" })
  eq(r, nil)
  eq(err.hresult, 0x80370110)
  ok(hcsshim.is_already_stopped(err), tostring(err))
  eq(err.name, "ErrVmcomputeSystemAlreadyStopped")
  c:close()
end)

-- item 5 (internal/hcs/process.go CloseStdin: skipped once the process stopped)
test("close_stdin on an exited process is skipped, not sent to HCS", function()
  local c = running("f-closein")
  local p = assert(c:create_process({ CommandLine = "exit 0", CreateStdInPipe = true }))
  assert(p:wait(5))
  local before = t.calls("HcsModifyProcess")
  local r, err = p:close_stdin()
  eq(r, true, tostring(err))
  eq(t.calls("HcsModifyProcess"), before, "no HcsModifyProcess after the exit")
  p:close()
  finish(c)
end)

-- item 4 (internal/hcs/system.go waitBackground: ErrVmcomputeUnexpectedExit -> exitError, Wait succeeds)
test("SystemExited with 0xC0370106: wait succeeds, exit_error reports the unexpected exit", function()
  local c = running("f-unexp")
  eq(c:exit_error(), nil)
  ctl("fire f-unexp 1 0xC0370106")
  assert(c:wait(5))
  local e = c:exit_error()
  ok(e, "an exit error")
  eq(e.hresult, 0xC0370106)
  eq(e.name, "ErrVmcomputeUnexpectedExit")
  has(tostring(e), "container f-unexp encountered an error during Wait")
  finish(c)
end)

-- item 4 (internal/hcs/system.go waitBackground: any other failure is the wait error)
test("SystemExited carrying a failure status is a wait error", function()
  local c = running("f-sysfail")
  ctl("fire f-sysfail 1 0x80004005")
  local r, err = c:wait(5)
  eq(r, nil)
  eq(err.hresult, 0x80004005)
  has(tostring(err), "container f-sysfail encountered an error during WaitTimeout")
  eq(c:exit_error(), nil)
  finish(c)
end)

-- item 4 (internal/hcs/process.go waitBackground/ExitCode: a failed ProcessExited is the wait error)
test("ProcessExited carrying a failure status is a wait error and no exit code", function()
  local c = running("f-procfail")
  local p = assert(c:create_process({ CommandLine = "sleep" }))
  ctl("fireproc " .. p:pid() .. " 0x10000 0x8007045B")
  local r, err = p:wait(5)
  eq(r, nil)
  eq(err.hresult, 0x8007045B)
  has(tostring(err), "process " .. p:pid() .. " in container f-procfail encountered an error during WaitTimeout")
  local code, cerr = p:exit_code()
  eq(code, nil)
  eq(cerr.hresult, 0x8007045B)
  assert(p:kill())
  p:close()
  finish(c)
end)
