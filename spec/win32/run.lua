-- A small runner for the Wine suite (busted does not run under the Windows
-- lua.exe here): each test file calls test(name, fn); failures are listed
-- and the run ends with "N passed, N failed".
local files = { "hcs_test", "layer_test", "wclayer_test", "golden_test", "fidelity_test", "run_test", "zz_final_test" }
local passed, failed, failures = 0, 0, {}
local current
function test(name, fn) -- luacheck: ignore (global for the test files)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    failures[#failures + 1] = current .. ": " .. name .. "\n  " .. tostring(err)
    print("FAIL " .. current .. ": " .. name)
  end
end
for _, f in ipairs(files) do
  current = f
  local chunk, err = loadfile("spec/win32/" .. f .. ".lua")
  if not chunk then
    failed = failed + 1
    failures[#failures + 1] = f .. ": " .. err
  else
    local ok, e = xpcall(chunk, debug.traceback)
    if not ok then
      failed = failed + 1
      failures[#failures + 1] = f .. ": " .. tostring(e)
    end
  end
end
for _, m in ipairs(failures) do print(m) end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
