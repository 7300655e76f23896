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
--
-- This module only assembles the public API; each function is documented
-- in the module that defines it: `hcsshim.system` (create_container,
-- open_container, get_containers, list_containers), `hcsshim.process`,
-- `hcsshim.layer` (every layer function), `hcsshim.service`
-- (get_service_properties, configure, modify_service_settings,
-- set_current_thread_compartment_id), `hcsshim.guid` (new_guid,
-- name_to_guid, parse_guid, guid_from_bytes, guid_to_bytes) and
-- `hcsshim.error` (the `is_*` predicates).
-- @module hcsshim
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local process = require "hcsshim.process"

local M = {}

M._VERSION = core._VERSION
--- "linux" or "windows": which backend stands behind the API.
M.platform = core.platform
M.error = errors
M.json = require "hcsshim.json"
M.schema = require "hcsshim.schema"
M.notification = require "hcsshim.notification"
M.TIMEOUT_INFINITE = math.huge

local function export(module)
  for k, v in pairs(module) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" then M[k] = v end
  end
end

for name in pairs(errors.predicates) do M[name] = errors[name] end
export(require "hcsshim.system")
export(require "hcsshim.layer")
export(require "hcsshim.service")
export(require "hcsshim.guid")

--- Seconds on a monotonic clock (float), for deadlines.
-- @function monotime
-- @treturn number
M.monotime = core.monotime

--- HNS networks and endpoints (`hcsshim.hns`), the network workflows
-- (`hcsshim.network.provision`) and the run workflow (`hcsshim.run{...}`,
-- see `hcsshim.run`).
M.hns = require "hcsshim.hns"
M.network = require "hcsshim.network"

--- Reading process output without blocking (`hcsshim.stdio`).
M.stdio = require "hcsshim.stdio"

--- Remove what is ours and unused (see `hcsshim.prune.prune`).
-- @tparam[opt] table opts
-- @return as `hcsshim.prune.prune`
function M.prune(opts) return require("hcsshim.prune").prune(opts) end

--- Remove what a detached run made (see `hcsshim.run.remove`).
-- @tparam string id compute system id
-- @tparam[opt] table opts
-- @return as `hcsshim.run.remove`
function M.remove_run(id, opts) return require("hcsshim.run").remove(id, opts) end

--- The default layer home of the workflows (see `hcsshim.run.default_home`).
-- @treturn string
function M.default_layer_home() return require("hcsshim.run").default_home() end

--- Run a command in a new container (see `hcsshim.run.run`).
-- @tparam table opts
-- @return as `hcsshim.run.run`
function M.run(opts) return require("hcsshim.run").run(opts) end

--- Decode a process status document (HcsGetProcessProperties output) into
-- an exit code, as `process:exit_code` does.
-- @function decode_process_status
-- @tparam table status decoded `{ProcessId, Exited, ExitCode, LastWaitResult[, Signal]}`
-- @treturn integer|nil exit code (128+N after death by signal N)
-- @treturn string|hcsshim.error the signal's name or nil; or the error
-- (ErrInvalidProcessState when not exited, the LastWaitResult HRESULT)
M.decode_process_status = process.decode_exit

return M
