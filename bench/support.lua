-- What the benchmarks share: shell commands that must succeed, medians,
-- and the round count (BENCH_ROUNDS, default 15).
local M = {}

M.rounds = tonumber(os.getenv("BENCH_ROUNDS") or "") or 15

--- Runs a shell command; returns its output, raises if it fails.
function M.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  if not p:close() then error("command failed: " .. cmd .. "\n" .. out) end
  return out
end

--- The median of a list of numbers (sorts the list in place).
function M.median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end

return M
