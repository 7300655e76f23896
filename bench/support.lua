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

--- Runs `a` and `b` once each as warm-up, then `rounds` times (default M.rounds) interleaved (so
-- load on the machine hits both alike); returns their medians in seconds.
function M.paired(a, b, rounds)
  a(0)
  b(0)
  local ta, tb = {}, {}
  for i = 1, rounds or M.rounds do
    ta[i] = a(i)
    tb[i] = b(i)
  end
  return M.median(ta), M.median(tb)
end

return M
