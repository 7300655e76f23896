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

return M
