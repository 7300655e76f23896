--- Progress of long imports and exports: a bar (bytes, rate, time left)
-- on a terminal, plain lines otherwise (logs, pipes, tests).
-- `HCSSHIM_PROGRESS=bar|lines|none` overrides the terminal test.
-- @module hcsshim.cli.progress
local hcsshim = require "hcsshim"
local out = require "hcsshim.cli.out"

local M = {}

-- Whether stderr is a terminal (the `test` utility answers for us on
-- POSIX; Windows gets lines).
local function stderr_is_tty()
  if hcsshim.platform ~= "linux" then return false end
  return os.execute("test -t 2") == true
end

local function mode()
  local m = os.getenv("HCSSHIM_PROGRESS")
  if m == "bar" or m == "lines" or m == "none" then return m end
  return stderr_is_tty() and "bar" or "lines"
end

local function bar_text(self, done, elapsed)
  if self.total <= 0 then -- the size is not known ahead (an export)
    return ("\r%s %s  %s/s "):format(self.label, out.bytes(done), out.bytes(elapsed > 0 and done / elapsed or 0))
  end
  local frac = math.min(1, done / self.total)
  local rate = elapsed > 0 and done / elapsed or 0
  local left = rate > 0 and (self.total - done) / rate or 0
  local cells = math.floor(frac * 30 + 0.5)
  return ("\r%s [%s%s] %s / %s  %s/s  %ds left "):format(self.label, string.rep("#", cells),
    string.rep(" ", 30 - cells), out.bytes(done), out.bytes(self.total), out.bytes(rate),
    math.ceil(left))
end

local function line_text(self, done, elapsed)
  if self.total <= 0 then return ("%s: %s (%.1f s)\n"):format(self.label, out.bytes(done), elapsed) end
  local pct = math.floor(100 * done / self.total)
  return ("%s: %d%% (%s of %s, %.1f s)\n"):format(self.label, pct, out.bytes(done),
    out.bytes(self.total), elapsed)
end

-- Seconds between two reports: a bar redraws often, a log gets a line a second.
local EVERY = { bar = 0.1, lines = 1 }

--- A progress reporter.
-- @tparam string label what is in progress ("layer import base")
-- @tparam integer total bytes expected (0: unknown, the bar shows bytes only)
-- @treturn table with `update(done_bytes)` (drawn at most every 0.1 s on a
-- bar, every second as lines; the first always) and `finish([done_bytes])`
function M.new(label, total)
  local self = { label = label, total = total, mode = mode(), t0 = hcsshim.monotime() }
  local last
  function self.update(done, force)
    local now = hcsshim.monotime()
    if not force and last and now - last < (EVERY[self.mode] or 0) then return end
    last = now
    local elapsed = now - self.t0
    if self.mode == "bar" then io.stderr:write(bar_text(self, done, elapsed))
    elseif self.mode == "lines" then io.stderr:write(line_text(self, done, elapsed)) end
    io.stderr:flush()
  end
  function self.finish(done)
    done = done or self.total
    self.update(done, true)
    if self.mode == "bar" then io.stderr:write("\n") end
    if self.mode ~= "none" then
      local elapsed = math.max(hcsshim.monotime() - self.t0, 1e-6)
      io.stderr:write(("%s: done, %s in %.2f s (%s/s)\n"):format(self.label, out.bytes(done),
        elapsed, out.bytes(done / elapsed)))
    end
  end
  return self
end

return M
