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

local info = { Flavour = 1, HomeDir = "C:\\ProgramData\\docker\\windowsfilter" }

-- item 8 (Go's syscall.UTF16PtrFromString refuses a string with a NUL: EINVAL)
test("a NUL byte in a string argument is refused, never cut at the NUL", function()
  local hns = require "hcsshim.hns"
  local core = require "hcsshim.core"
  local before = t.calls("HNSCall")
  t.raises(function() hns.get_network("abc\0def") end, "NUL")
  t.raises(function() core.hns_call("GET", "/networks/abc\0def", "") end, "NUL")
  t.raises(function() core.hns_call("GET", "/networks/", "{}\0x") end, "NUL")
  eq(t.calls("HNSCall"), before, "nothing reached HNSCall")
  local c = running("f-nul")
  local p = assert(c:create_process({ CommandLine = "sleep" }))
  local m0 = t.calls("HcsModifyProcess")
  t.raises(function() p:_modify('{"Operation":"CloseHandle"}\0junk') end, "NUL")
  t.raises(function() c:_modify('{}\0junk') end, "NUL")
  eq(t.calls("HcsModifyProcess"), m0)
  assert(p:kill())
  p:close()
  finish(c)
end)

-- item 8 (internal/wclayer/layerid.go: LayerID's NameToGuid error is returned)
test("a NameToGuid failure fails the layer call instead of a zero LayerId", function()
  assert(hcsshim.create_layer(info, "f-n2g", ""))
  local before = t.calls("PrepareLayer")
  ctl("fail NameToGuid 0x80070057")
  local r, err = hcsshim.prepare_layer(info, "f-n2g", { "C:\\layers\\4" })
  eq(r, nil)
  eq(err.hresult, 0x80070057)
  has(tostring(err), "NameToGuid")
  eq(t.calls("PrepareLayer"), before, "PrepareLayer not called with a zero GUID")
  assert(hcsshim.destroy_layer(info, "f-n2g"))
end)

-- item 8 (internal/wclayer/getlayermountpath.go: the two calls; never a cut path)
test("GetLayerMountPath: a path that grows between the calls is read whole", function()
  assert(hcsshim.create_layer(info, "f-grow", ""))
  assert(hcsshim.activate_layer(info, "f-grow"))
  ctl("growpath 1")
  local path, err = hcsshim.get_layer_mount_path(info, "f-grow")
  ctl("growpath 0")
  ok(path, tostring(err))
  eq(path, t.last("GetLayerMountPath.path"), "the whole path of the last complete answer")
  assert(hcsshim.deactivate_layer(info, "f-grow"))
  assert(hcsshim.destroy_layer(info, "f-grow"))
end)

-- item 6 (cmd/wclayer/{import,export,remove}.go: winio.EnableProcessPrivileges first)
test("layer import, export and destroy enable SeBackupPrivilege and SeRestorePrivilege", function()
  ctl("dropprivileges") -- an elevated token holds them switched off
  assert(hcsshim.create_layer(info, "f-priv", ""))
  local r, err = hcsshim.export_layer(info, "f-priv", "C:\\export", {})
  eq(r, true, tostring(err))
  ctl("dropprivileges")
  r, err = hcsshim.import_layer_folder(info, "f-priv2", "C:\\import", {})
  eq(r, true, tostring(err))
  ctl("dropprivileges")
  local w = assert(hcsshim.new_layer_writer(info, "f-priv3", {}))
  assert(w:close())
  ctl("dropprivileges")
  local rd = assert(hcsshim.new_layer_reader(info, "f-priv", {}))
  assert(rd:close())
  for _, id in ipairs({ "f-priv", "f-priv2" }) do
    ctl("dropprivileges")
    r, err = hcsshim.destroy_layer(info, id)
    eq(r, true, tostring(err))
  end
  eq(hcsshim.enable_process_privileges({ "SeBackupPrivilege", "SeRestorePrivilege" }), true)
  local bad, berr = hcsshim.enable_process_privileges({ "SeNoSuchPrivilege" })
  eq(bad, nil)
  has(tostring(berr), "SeNoSuchPrivilege")
end)

local function harness(mode)
  local exe = assert(os.getenv("HCSSHIM_HARNESS"), "HCSSHIM_HARNESS is set by run-win32-tests.sh")
  local f = assert(io.popen(exe .. " " .. mode .. " 2>&1"))
  local out = f:read("a")
  local okc, how, code = f:close()
  return out, okc, how, code
end

-- item 3 (internal/hcs/callback.go: an integer callbackNumber looked up under callbackMapLock)
test("callbacks after a failed unregister and after lua_close are dropped (C harness)", function()
  local out, okc, _, code = harness("late")
  ok(okc, "harness late exited " .. tostring(code) .. ": " .. out)
  has(out, "ok: late callbacks")
end)

-- the backend's missing-export path (hcs-api.md 1.1: every proc optional)
test("a missing export gives the named not-supported error (C harness, Wine's own iphlpapi)", function()
  local out, okc, _, code = harness("missing")
  ok(okc, "harness missing exited " .. tostring(code) .. ": " .. out)
  has(out, "ok: a missing export")
end)

-- item 5 (internal/hcs/process.go processSignalResult: a gone process is no error)
test("signal of a process that exited before its notification arrived succeeds", function()
  local c = running("f-signal")
  ctl("delay 2000")
  local p = assert(c:create_process({ CommandLine = "exit 0" }))
  until_exited(p)
  local r, err = p:signal(15)
  ctl("delay 10")
  eq(r, true, tostring(err))
  eq(t.last("HcsSignalProcess"), '{"Signal":15}')
  p:close()
  finish(c)
end)

-- item 8 (internal/wclayer/preparelayer.go: prepareLayerLock)
test("PrepareLayer calls from two threads never overlap (C harness)", function()
  local out, okc, _, code = harness("prepare")
  ok(okc, "harness prepare exited " .. tostring(code) .. ": " .. out)
  has(out, "none overlapping")
end)

-- item 2 (internal/hcs/process.go StdioLegacy/makeOpenFiles: handles wrapped as overlapped files)
test("stdio: the module's own file objects over the pipes, not inheritable", function()
  local c = running("f-stdio")
  local p = assert(c:create_process({ CommandLine = "cat", CreateStdInPipe = true, CreateStdOutPipe = true,
    CreateStdErrPipe = true }))
  local i, o, e = p:stdio()
  ok(i and o and e, "three stdio objects")
  eq(ctl("inheritable " .. p:pid()), "0", "no handle an io.popen child could inherit")
  assert(i:write("one\n", "two\n", 3, "\n"))
  assert(p:close_stdin())
  local lines = {}
  for line in o:lines() do lines[#lines + 1] = line end
  eq(table.concat(lines, ","), "one,two,3")
  eq(o:read("a"), "")
  eq(o:read("l"), nil)
  eq(e:read(1), nil) -- stderr ended empty
  assert(p:wait(5))
  eq(o:close(), true)
  t.raises(function() o:read("a") end, "closed file")
  e:close() -- stdin was closed by close_stdin
  p:close()
  finish(c)
end)

-- item 2 (HcsGetProcessInfo returns fresh duplicates; the C runtime's 512-stream limit is not ours)
test("stdio of an opened process: fresh handles, more than the C runtime's 512 streams", function()
  local c = running("f-many")
  local p = assert(c:create_process({ CommandLine = "sleep", CreateStdOutPipe = true }))
  local op = assert(c:open_process(p:pid()))
  local keep = {}
  for n = 1, 600 do
    local a, b, cerr = op:_stdio()
    ok(b, "stdout " .. n .. ": " .. tostring(cerr))
    keep[n] = b
  end
  eq(ctl("inheritable " .. p:pid()), "0")
  for _, f in ipairs(keep) do f:close() end
  assert(p:kill())
  assert(p:wait(5))
  op:close()
  p:close()
  finish(c)
end)
