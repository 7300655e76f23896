-- The run workflow on Windows (issue 13 item 9): layer paths split on \ as
-- well as /, the Windows data root, no os.execute, stdin through close_stdin.
local hcsshim = require "hcsshim"
local t = require "support"
local ctl, eq, ok, has = t.ctl, t.eq, t.ok, t.has

ctl("delay 10")

test("run(): C:\\ layer paths give the right parent id and LayerIds", function()
  local home = "C:\\ProgramData\\docker\\windowsfilter"
  local parent = home .. "\\4" -- NameToGuid("4") is a known vector
  local n2g = t.calls("NameToGuid")
  local r, err = hcsshim.run({ layers = { parent, home .. "\\base" }, home = home, command = "echo hello",
    id = "run-paths" })
  ok(r, tostring(err))
  eq(r.exit_code, 0)
  eq(r.stdout, "hello")
  has(t.last("CreateSandboxLayer"), "id=run-paths-sandbox parent=4 layers=[{bd9c3ef9-f239-59b5-a27e-15c523b1d149")
  local cfg = t.last("HcsCreateComputeSystem")
  has(cfg, '"LayerFolderPath":"C:\\\\ProgramData\\\\docker\\\\windowsfilter\\\\run-paths-sandbox"')
  has(cfg, '{"ID":"bd9c3ef9-f239-59b5-a27e-15c523b1d149","Path":"C:\\\\ProgramData\\\\docker\\\\windowsfilter\\\\4"}')
  ok(t.calls("NameToGuid") > n2g)
  eq(t.last("NameToGuid"), "base", "NameToGuid of the base name, not the whole path")
  eq(hcsshim.layer_exists(home, "run-paths-sandbox"), false, "the sandbox was removed")
end)

test("run(): the default layer home is under %ProgramData% on Windows", function()
  local r, err = hcsshim.run({ layers = { "C:\\layers\\4" }, command = "cat", stdin = "from stdin\n",
    id = "run-home" })
  ok(r, tostring(err))
  eq(r.stdout, "from stdin\n")
  local pd = os.getenv("ProgramData") or "C:\\ProgramData"
  has(t.last("CreateSandboxLayer"), "home=" .. pd .. "\\hcsshim\\layers id=run-home-sandbox")
end)

test("run(): a failed NameToGuid fails the run and leaves nothing", function()
  local home = "C:\\h"
  ctl("fail NameToGuid 0x80070057")
  local r, err = hcsshim.run({ layers = { "C:\\layers\\4" }, home = home, command = "echo x", id = "run-n2g" })
  eq(r, nil)
  has(tostring(err), "NameToGuid")
  eq(hcsshim.layer_exists(home, "run-n2g-sandbox"), false)
end)

test("hcsshim.core.sleep pauses without a shell", function()
  local core = require "hcsshim.core"
  local t0 = hcsshim.monotime()
  core.sleep(0.05)
  local dt = hcsshim.monotime() - t0
  ok(dt >= 0.045 and dt < 1, "slept " .. dt)
end)
