-- Runs last: every function of hcs-api.md section 1 was called (but the
-- streaming layer exports, which hcsshim no longer uses), and every
-- CoTaskMem allocation of the double was freed exactly once.
local t = require "support"

local section1 = {
  "HcsEnumerateComputeSystems", "HcsCreateComputeSystem", "HcsOpenComputeSystem", "HcsCloseComputeSystem",
  "HcsStartComputeSystem", "HcsShutdownComputeSystem", "HcsTerminateComputeSystem", "HcsPauseComputeSystem",
  "HcsResumeComputeSystem", "HcsGetComputeSystemProperties", "HcsModifyComputeSystem",
  "HcsRegisterComputeSystemCallback", "HcsUnregisterComputeSystemCallback", "HcsCreateProcess", "HcsOpenProcess",
  "HcsCloseProcess", "HcsTerminateProcess", "HcsGetProcessInfo", "HcsGetProcessProperties", "HcsModifyProcess",
  "HcsGetServiceProperties", "HcsRegisterProcessCallback", "HcsUnregisterProcessCallback",
  "HcsModifyServiceSettings", "HNSCall",
  "ActivateLayer", "CopyLayer", "CreateLayer", "CreateSandboxLayer", "ExpandSandboxSize", "DeactivateLayer",
  "DestroyLayer", "ExportLayer", "ImportLayer", "GetLayerMountPath", "GetBaseImages", "LayerExists", "NameToGuid",
  "PrepareLayer", "UnprepareLayer", "ProcessBaseImage", "ProcessUtilityImage",
}
-- The streaming Import/ExportLayerBegin/Next/Write/Read/End exports are
-- not called: the layer streams go through the legacy folder (ImportLayer,
-- ExportLayer), as hcsshim's wclayer has since 2018.
local streaming = {
  "ImportLayerBegin", "ImportLayerNext", "ImportLayerWrite", "ImportLayerEnd",
  "ExportLayerBegin", "ExportLayerNext", "ExportLayerRead", "ExportLayerEnd",
}

test("every vmcompute function of section 1 was called at least once", function()
  local missing = {}
  for _, f in ipairs(section1) do
    if t.calls(f) < 1 then missing[#missing + 1] = f end
  end
  t.eq(table.concat(missing, " "), "", "never called")
  t.eq(#section1 + #streaming, 50)
end)

test("the streaming layer exports were never called", function()
  local called = {}
  for _, f in ipairs(streaming) do
    if t.calls(f) > 0 then called[#called + 1] = f end
  end
  t.eq(table.concat(called, " "), "", "called")
end)

test("CoTaskMemFree was called once per callee allocation", function()
  collectgarbage()
  collectgarbage()
  local a, f, foreign, spy = t.ctl("allocs"):match("(%d+) (%d+) (%d+) (%d+)")
  t.eq(spy, "1", "IMallocSpy registered")
  t.ok(tonumber(a) > 20, "allocations: " .. a)
  t.eq(f, a, "frees == allocations")
  -- a second CoTaskMemFree of a block the double allocated, or a free of a
  -- block it never handed out, is counted here rather than in f
  t.eq(foreign, "0", "foreign (double or unknown) frees")
end)
