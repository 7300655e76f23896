--- The compute service itself: its properties, settings and options, and
-- the calling thread's network compartment.  `modify_service_settings` and
-- `set_current_thread_compartment_id` exist on Windows only: on Linux each
-- fails with ErrNotSupported (`hcsshim.is_not_supported(err)`).
-- @module hcsshim.service
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local json = require "hcsshim.json"
local schema = require "hcsshim.schema"

local M = {}

local OPTIONS = { RuntimeRoot = true, DataRoot = true, CgroupParent = true, SeccompProfile = true }

--- Properties of the compute service itself (HcsGetServiceProperties).
-- @tparam[opt] table query `{PropertyTypes = {...}}`
-- @treturn table|nil,hcsshim.error
function M.get_service_properties(query)
  local q, qerr = schema.encode("PropertyQuery", query or {})
  if not q then error("bad argument #1 to 'get_service_properties' (" .. qerr .. ")", 2) end
  local text, err = errors.hcs_call("GetServiceProperties", nil, core.service_properties, q)
  if not text then return nil, err end
  return errors.decode_output(text, { kind = "hcs", op = "hcsshim::GetServiceProperties" })
end

--- Set where the Linux host compute service keeps its state, instead of
-- the environment variables.  Only before the first call that uses them
-- (otherwise ErrVmcomputeOperationInvalidState); not supported on Windows.
-- `SeccompProfile` (HCSSHIM_SECCOMP_PROFILE) may change at any time and
-- applies to containers created afterwards: the path of a seccomp profile
-- in the containers project's format (default
-- /usr/share/containers/seccomp.json, Debian golang-github-containers-common),
-- or "unconfined" for no seccomp filter (README: Confinement on Linux).
-- @tparam table opts `{RuntimeRoot = "/run/hcsshim", DataRoot = "/var/lib/hcsshim",
-- CgroupParent = "/hcsshim", SeccompProfile = "unconfined"}` (any subset; absolute paths)
-- @treturn true|nil,hcsshim.error
function M.configure(opts)
  for _, name in ipairs({ "RuntimeRoot", "DataRoot", "CgroupParent", "SeccompProfile" }) do
    local v = opts[name]
    if v ~= nil then
      local ok, err = errors.hcs_call("Configure", name .. "=" .. tostring(v), core.set_option, name, v)
      if not ok then return nil, err end
    end
  end
  for k in pairs(opts) do
    if not OPTIONS[k] then
      error("bad argument #1 to 'configure' (unknown option '" .. tostring(k) .. "')", 2)
    end
  end
  return true
end

--- Change compute-service settings (HcsModifyServiceSettings).
-- @tparam table settings
-- @treturn true|nil,hcsshim.error
function M.modify_service_settings(settings)
  local text, jerr = json.encode(settings or {})
  if not text then error("bad argument #1 to 'modify_service_settings' (" .. jerr .. ")", 2) end
  return errors.hcs_call("ModifyServiceSettings", nil, core.modify_service_settings, text)
end

--- Network compartment of the calling thread (iphlpapi).
-- @tparam integer id compartment id
-- @treturn true|nil,hcsshim.error
function M.set_current_thread_compartment_id(id)
  return errors.hcs_call("SetCurrentThreadCompartmentId", "compartmentId=" .. tostring(id),
    core.set_current_thread_compartment_id, id)
end

return M
