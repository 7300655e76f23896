--- Notification types and default timeouts (hcs-api.md section 2).
-- @module hcsshim.notification
local M = {
  SYSTEM_EXITED = 0x00000001,
  CREATE_COMPLETED = 0x00000002,
  START_COMPLETED = 0x00000003,
  PAUSE_COMPLETED = 0x00000004,
  RESUME_COMPLETED = 0x00000005,
  PROCESS_EXITED = 0x00010000,
  SERVICE_DISCONNECT = 0x01000000,
}

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
