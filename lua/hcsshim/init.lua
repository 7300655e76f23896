--- hcsshim for Lua: containers, processes, layers and HNS through the
-- Host Compute Service API, on Windows (vmcompute.dll) and on Linux (the
-- Linux host compute service: crun, overlayfs, libarchive).
--
--     local hcsshim = require "hcsshim"
--     local c = assert(hcsshim.create_container("web", { VolumePath = root }))
--     assert(c:start())
--
-- Failures return `nil, err` (an `hcsshim.error`); misuse raises.
-- Timeouts are seconds; nil means hcsshim's default (4 minutes for
-- create/start/pause/resume), `math.huge` means forever.
-- @module hcsshim
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local json = require "hcsshim.json"
local schema = require "hcsshim.schema"
local layer = require "hcsshim.layer"
local N = require "hcsshim.notification"
require "hcsshim.system"
require "hcsshim.process"

local M = {}

-- Ids are caller data: refused (hcsshim.id) like any other bad value.
local function bad_id(op, id)
  local _, why = require("hcsshim.id").system(id)
  if why then
    return errors.new({ kind = "container", op = op, id = id:gsub("%z", "\\0"):gsub("%c", "?"), hresult = 0x80070057,
      message = "The parameter is incorrect. (" .. why .. ")" })
  end
end

M._VERSION = core._VERSION
--- "linux" or "windows": which backend stands behind the API.
M.platform = core.platform
M.error = errors
M.json = json
M.schema = schema
M.notification = N
M.TIMEOUT_INFINITE = math.huge

-- Using a closed handle raises an hcsshim.error named ErrAlreadyClosed.
debug.getregistry()["hcsshim.closed_error"] = function(msg)
  return errors.new({ name = "ErrAlreadyClosed", message = msg })
end

for name in pairs(errors.predicates) do M[name] = errors[name] end

--- Create a compute system (HcsCreateComputeSystem, then waits for
-- SystemCreateCompleted when the create is asynchronous).
-- @tparam string id compute system id (Linux: 1..128 of `[A-Za-z0-9_.-]`)
-- @tparam table config ContainerConfig with HCS's field names: Name,
-- Owner, HostName, VolumePath, LayerFolderPath, Layers = {{ID=, Path=}},
-- MappedDirectories = {{HostPath=, ContainerPath=, ReadOnly=}},
-- ProcessorCount, ProcessorWeight (1..10000), ProcessorMaximum
-- (1..10000, percent x 100), MemoryMaximumInMB, StorageIOPSMaximum,
-- StorageBandwidthMaximum (bytes/s), ...  SystemType defaults to "Container".
-- @tparam[opt] number timeout seconds (default 240)
-- @treturn hcsshim.system|nil,hcsshim.error (already exists 0xC037010F, ...)
function M.create_container(id, config, timeout)
  if type(id) ~= "string" then error("bad argument #1 to 'create_container' (string expected, got " .. type(id) .. ")", 2) end
  if type(config) ~= "table" then error("bad argument #2 to 'create_container' (table expected, got " .. type(config) .. ")", 2) end
  local idErr = bad_id("CreateContainer", id)
  if idErr then return nil, idErr end
  local cfg = {}
  for k, v in pairs(config) do cfg[k] = v end
  local has_type = false
  for k in pairs(cfg) do if type(k) == "string" and k:lower() == "systemtype" then has_type = true end end
  if not has_type then cfg.SystemType = "Container" end
  local text, err = schema.encode("ContainerConfig", cfg)
  if not text then
    return nil, errors.new({ kind = "container", op = "CreateContainer", id = id, hresult = 0x80070057,
      message = "invalid configuration: " .. err })
  end
  local sys, hr, result = core.create_compute_system(id, text)
  if not sys then
    return nil, errors.from_core({ kind = "container", op = "CreateContainer", id = id, extra = text }, hr, result)
  end
  if errors.u32(hr) == 0xC0370103 then
    local ok, werr = sys:_complete("CreateContainer", N.CREATE_COMPLETED, N.timeout(timeout, "CreateContainer"))
    if not ok then
      sys:terminate()
      sys:close()
      return nil, werr
    end
  end
  return sys
end

--- Open an existing compute system (HcsOpenComputeSystem), from this or
-- any other process.
-- @tparam string id
-- @treturn hcsshim.system|nil,hcsshim.error (not found 0xC037010E)
function M.open_container(id)
  if type(id) ~= "string" then error("bad argument #1 to 'open_container' (string expected, got " .. type(id) .. ")", 2) end
  local idErr = bad_id("OpenContainer", id)
  if idErr then return nil, idErr end
  local sys, hr, result = core.open_compute_system(id)
  if not sys then
    return nil, errors.from_core({ kind = "container", op = "OpenContainer", id = id }, hr, result)
  end
  return sys
end

--- List compute systems (HcsEnumerateComputeSystems).
-- @tparam[opt] table query `{Ids=, Names=, Owners=, Types=}`, each an
-- array of strings; a system matches when every given key has its value
-- @treturn table|nil,hcsshim.error array of ContainerProperties
-- (`{Id, Name, SystemType, Owner, State, ...}`)
function M.get_containers(query)
  local q, err = schema.encode("ComputeSystemQuery", query or {})
  if not q then error(err, 2) end
  local text, hr, result = core.enumerate_compute_systems(q)
  if not text then return nil, errors.from_core({ kind = "hcs", op = "hcsshim::GetContainers" }, hr, result) end
  local list = json.decode(text)
  if type(list) ~= "table" then list = {} end
  return list
end
--- Alias of `get_containers`.
-- @function list_containers
M.list_containers = M.get_containers

--- Properties of the compute service itself (HcsGetServiceProperties).
-- @tparam[opt] table query `{PropertyTypes = {...}}`
-- @treturn table|nil,hcsshim.error
function M.get_service_properties(query)
  local text, hr, result = core.service_properties(json.encode(query or {}))
  if not text then return nil, errors.from_core({ kind = "hcs", op = "hcsshim::GetServiceProperties" }, hr, result) end
  return json.decode(text)
end

--- Set where the Linux host compute service keeps its state, instead of
-- the environment variables.  Only before the first call that uses them
-- (otherwise ErrVmcomputeOperationInvalidState); not supported on Windows.
-- @tparam table opts `{RuntimeRoot = "/run/hcsshim", DataRoot = "/var/lib/hcsshim",
-- CgroupParent = "/hcsshim"}` (any subset; absolute paths)
-- @treturn true|nil,hcsshim.error
function M.configure(opts)
  for _, name in ipairs({ "RuntimeRoot", "DataRoot", "CgroupParent" }) do
    local v = opts[name]
    if v ~= nil then
      local ok, hr = core.set_option(name, v)
      if not ok then
        return nil, errors.from_core({ kind = "hcs", op = "hcsshim::Configure", rest = name .. "=" .. tostring(v) }, hr)
      end
    end
  end
  for k in pairs(opts) do
    if k ~= "RuntimeRoot" and k ~= "DataRoot" and k ~= "CgroupParent" then
      error("bad argument #1 to 'configure' (unknown option '" .. tostring(k) .. "')", 2)
    end
  end
  return true
end

--- Seconds on a monotonic clock (float), for deadlines.
-- @treturn number
M.monotime = core.monotime

--- A new random GUID (version 4), lower case.
-- @treturn string
M.new_guid = core.new_guid

--- The GUID of a name (NameToGuid).  Windows computes it inside
-- vmcompute.dll with an unpublished algorithm; Linux computes a
-- deterministic version-5 GUID of its own, so values differ between the
-- platforms.
-- @tparam string name
-- @treturn string|nil,hcsshim.error
function M.name_to_guid(name)
  local g, hr = core.name_to_guid(name)
  if not g then return nil, errors.from_core({ kind = "hcs", op = "hcsshim::NameToGuid", rest = "name=" .. name }, hr) end
  return g
end

--- Parse a GUID (any case, optional braces).
-- @tparam string text
-- @treturn string|nil canonical lower-case text, or nil and a message
-- @treturn string the 16 bytes in Windows memory layout
function M.parse_guid(text)
  return core.guid_parse(text)
end

--- Format 16 bytes in Windows memory layout as a GUID string.
-- @tparam string bytes
-- @treturn string
M.guid_from_bytes = core.guid_from_bytes

--- 16 bytes in Windows memory layout of a GUID string.
-- @tparam string text
-- @treturn string|nil bytes, or nil and a message
function M.guid_to_bytes(text)
  local s, b = core.guid_parse(text)
  if not s then return nil, b end
  return b
end

for k, v in pairs(layer) do M[k] = v end

--- HNS networks and endpoints (`hcsshim.hns`), the network workflows
-- (`hcsshim.network.provision`) and the run workflow (`hcsshim.run{...}`,
-- see `hcsshim.run`).
M.hns = require "hcsshim.hns"
M.network = require "hcsshim.network"
function M.run(opts) return require("hcsshim.run").run(opts) end

--- Decode a process status document (HcsGetProcessProperties output) into
-- an exit code, as `process:exit_code` does.
-- @function decode_process_status
-- @tparam table status decoded `{ProcessId, Exited, ExitCode, LastWaitResult[, Signal]}`
-- @treturn integer|nil exit code (128+N after death by signal N)
-- @treturn string|hcsshim.error the signal's name or nil; or the error
-- (ErrInvalidProcessState when not exited, the LastWaitResult HRESULT)
M.decode_process_status = core.process_methods.decode_exit

return M
