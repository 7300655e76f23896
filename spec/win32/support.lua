-- Helpers shared by the Wine suite.
local dbl = require "doublectl"
local M = {}

function M.ctl(cmd) return assert(dbl.ctl(cmd)) end
function M.calls(name) return tonumber(M.ctl("calls " .. name)) end
function M.last(name) return M.ctl("last " .. name) end
M.sleep = require("hcsshim.core").sleep
M.utf16 = dbl.utf16

function M.eq(a, b, msg)
  if a ~= b then
    error((msg or "values differ") .. ":\n  expected: " .. tostring(b) .. "\n  actual:   " .. tostring(a), 2)
  end
end
function M.ok(v, msg) if not v then error(msg or "assertion failed", 2) end return v end
function M.has(s, sub, msg)
  if type(s) ~= "string" or not s:find(sub, 1, true) then
    error((msg or "substring missing") .. ": '" .. tostring(sub) .. "' not in '" .. tostring(s) .. "'", 2)
  end
end
function M.raises(fn, sub)
  local ok, err = pcall(fn)
  if ok then error("expected an error", 2) end
  if sub then M.has(tostring(err), sub) end
  return err
end

-- a file's bytes
function M.read(path)
  local f <close> = assert(io.open(path, "rb"))
  return f:read("a")
end

local n = 0
function M.unique(p) n = n + 1; return (p or "t") .. "-" .. n end

-- A folder path of this run under the temp folder (not made), and its
-- removal through the double (Lua has no rmdir).
function M.scratch(p)
  return (os.getenv("TEMP") or "C:\\windows\\temp") .. "\\hcsshim-suite-" .. M.unique(p) .. "-" .. os.time()
end
function M.rmtree(path) M.ctl("rmtree " .. path) end

return M
