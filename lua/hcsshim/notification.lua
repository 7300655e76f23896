--- Notification types and default timeouts (hcs-api.md section 2).
-- The type values (SYSTEM_EXITED, CREATE_COMPLETED, START_COMPLETED,
-- PAUSE_COMPLETED, RESUME_COMPLETED, PROCESS_EXITED, SERVICE_DISCONNECT)
-- come from the C seam (src/platform.h, handed over as `core.notification`),
-- their one source.
-- @module hcsshim.notification
local core = require "hcsshim.core"

local M = {}
for name, value in pairs(core.notification) do M[name] = value end

--- Wait failure reasons of the core -> hcsshim error names.
M.reason_names = {
  timeout = "ErrTimeout",
  exited = "ErrUnexpectedContainerExit",
  disconnected = "ErrUnexpectedProcessAbort",
  closed = "ErrHandleClose",
}

local env_names = {
  CreateContainer = "HCSSHIM_TIMEOUT_SYSTEMCREATE", Start = "HCSSHIM_TIMEOUT_SYSTEMSTART",
  Pause = "HCSSHIM_TIMEOUT_SYSTEMPAUSE", Resume = "HCSSHIM_TIMEOUT_SYSTEMRESUME",
}

--- The timeout of an async operation: the caller's, else the
-- HCSSHIM_TIMEOUT_* variable (seconds), else 4 minutes as in hcsshim.
-- @tparam number|nil timeout seconds
-- @tparam string op operation name
-- @treturn number seconds
function M.timeout(timeout, op)
  if timeout then return timeout end
  local v = tonumber(os.getenv(env_names[op] or "") or "")
  if v and v > 0 then return v end
  return 240
end

--- The longest single wait in the C core, seconds: longer waits are
-- made of waits this long, so that Lua runs between them.  A signal
-- handler of the host (lua.c's Ctrl-C sets a hook that raises
-- "interrupted!") acts within this time, even where the wait it
-- interrupts would not return (a condition variable; Windows).
M.SLICE = 0.25

--- The time left until `deadline` (a `hcsshim.monotime()` value, nil
-- for none): 0 once it passed.
-- @tparam[opt] number deadline
-- @treturn number|nil seconds, nil without a deadline
function M.left(deadline)
  return deadline and math.max(0, deadline - core.monotime()) or nil
end

--- The next wait's length towards `deadline` (a `hcsshim.monotime()`
-- value, nil for none): at most `SLICE` seconds, 0 once it passed.
-- @tparam[opt] number deadline
-- @treturn number seconds
function M.slice(deadline)
  return math.min(M.SLICE, M.left(deadline) or M.SLICE)
end

--- Wait for a notification of type ntype on handle h (its `_wait`), in
-- slices of at most `SLICE` seconds.
-- @param h a system or process handle
-- @tparam integer ntype notification type
-- @tparam[opt] number timeout seconds; nil or `math.huge` = forever
-- @return as `_wait`: true, status, data | false, reason, status
function M.wait(h, ntype, timeout)
  if timeout and timeout <= M.SLICE then return h:_wait(ntype, timeout) end
  local deadline = timeout and timeout < math.huge and core.monotime() + timeout or nil
  while true do
    local ok, a, b = h:_wait(ntype, M.slice(deadline))
    if ok or a ~= "timeout" or (deadline and core.monotime() >= deadline) then return ok, a, b end
  end
end

return M
