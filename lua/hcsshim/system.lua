--- Compute systems (containers): create, open and list them, and the
-- methods of `hcsshim.system` handles.  They mirror hcsshim's
-- CreateContainer/OpenContainer/GetContainers and its Container interface
-- (v0.5.2, with the later fixes: a callback per handle, every waiter sees
-- the exit).  All are re-exported by `hcsshim`.
-- @module hcsshim.system
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local json = require "hcsshim.json"
local schema = require "hcsshim.schema"
local process = require "hcsshim.process"
local N = require "hcsshim.notification"
local ids = require "hcsshim.id"

local M = {}
local S = core.system_methods -- the methods of every system handle
local PENDING = errors.hresult.HCS_E_OPERATION_PENDING
local E_INVALIDARG = errors.hresult.E_INVALIDARG
local UNEXPECTED_EXIT = errors.hresult.HCS_E_UNEXPECTED_EXIT

-- Ids are caller data: refused (hcsshim.id) like any other bad value.
local function bad_id(op, id)
  local _, why = ids.system(id)
  if why then
    return errors.new({ kind = "container", op = op, id = (id:gsub("%z", "\\0"):gsub("%c", "?")),
      hresult = E_INVALIDARG, message = "The parameter is incorrect. (" .. why .. ")" })
  end
end

-- Misuse raises, in Lua's own words, at the caller's level.
local function check_arg(fname, n, v, want)
  if type(v) ~= want then
    local msg = string.format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, want, type(v))
    error(msg, 3)
  end
end

-- A copy of the configuration with SystemType "Container" unless it has
-- one (in any case of the key, as HCS reads keys).
local function with_system_type(config)
  local cfg = {}
  for k, v in pairs(config) do cfg[k] = v end
  for k in pairs(cfg) do
    if type(k) == "string" and k:lower() == "systemtype" then return cfg end
  end
  cfg.SystemType = "Container"
  return cfg
end

--- Create a compute system (HcsCreateComputeSystem, then waits for
-- SystemCreateCompleted when the create is asynchronous).
-- @tparam string id compute system id (Linux: 1..128 of `[A-Za-z0-9_.-]`)
-- @tparam table config ContainerConfig with HCS's field names: Name,
-- Owner, HostName, VolumePath, LayerFolderPath, Layers = {{ID=, Path=}},
-- MappedDirectories = {{HostPath=, ContainerPath=, ReadOnly=}},
-- ProcessorCount, ProcessorWeight (1..10000), ProcessorMaximum
-- (1..10000, percent x 100), MemoryMaximumInMB, StorageIOPSMaximum,
-- StorageBandwidthMaximum (bytes/s), ...  SystemType defaults to "Container".
-- @tparam[opt] number timeout seconds (default 240, `math.huge` = forever);
-- on Linux it bounds the exchanges with the new system's monitor
-- @treturn hcsshim.system|nil,hcsshim.error (already exists 0xC037010F;
-- Linux: E_ACCESSDENIED "requires root (CAP_SYS_ADMIN)" without that
-- capability, E_NOTSUPPORTED naming scripts/setup-host.sh on a hybrid
-- cgroup host that lacks its fix, ...)
function M.create_container(id, config, timeout)
  check_arg("create_container", 1, id, "string")
  check_arg("create_container", 2, config, "table")
  local idErr = bad_id("CreateContainer", id)
  if idErr then return nil, idErr end
  local text, err = schema.encode("ContainerConfig", with_system_type(config))
  if not text then
    return nil, errors.new({ kind = "container", op = "CreateContainer", id = id,
      hresult = E_INVALIDARG, message = "invalid configuration: " .. err })
  end
  timeout = N.timeout(timeout, "CreateContainer")
  local deadline = core.monotime() + timeout -- one budget for the call and its completion
  local sys, hr, result = core.create_compute_system(id, text, timeout)
  if not sys then
    return nil, errors.from_core({ kind = "container", op = "CreateContainer", id = id,
      extra = text }, hr, result)
  end
  if errors.u32(hr) == PENDING then
    local ok, werr = sys:_complete("CreateContainer", N.CREATE_COMPLETED, N.left(deadline))
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
-- @treturn hcsshim.system|nil,hcsshim.error (not found 0xC037010E; on
-- Linux the host errors of `create_container`)
function M.open_container(id)
  check_arg("open_container", 1, id, "string")
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
-- (`{Id, Name, SystemType, Owner, State, ...}`); on Linux the host errors
-- of `create_container` (never an empty list for a caller who cannot see)
function M.get_containers(query)
  local q, err = schema.encode("ComputeSystemQuery", query or {})
  if not q then error(err, 2) end
  local text, hr, result = core.enumerate_compute_systems(q)
  if not text then return nil, errors.hcs("GetContainers", nil, hr, result) end
  return errors.decode_output(text, { kind = "hcs", op = "hcsshim::GetContainers" })
end
--- Alias of `get_containers`.
-- @function list_containers
M.list_containers = M.get_containers

--- Wait until the service has forgotten compute system `id` (a stopped
-- system goes once its last handle closed), watching through the
-- enumeration: every handle opened to look would be one more reason for
-- the system to stay.
-- @tparam string id compute system id
-- @tparam[opt] number timeout seconds (default 30)
-- @treturn true|nil,hcsshim.error ErrTimeout while it is still known, or
-- the enumeration's error
function M.wait_forgotten(id, timeout)
  check_arg("wait_forgotten", 1, id, "string")
  local deadline = core.monotime() + (timeout or 30)
  while true do
    local list, err = M.get_containers({ Ids = { id } })
    if not list then return nil, err end
    if #list == 0 then return true end
    if core.monotime() >= deadline then
      return nil, errors.new({ kind = "container", op = "WaitForgotten", id = id, name = "ErrTimeout",
        hresult = errors.hresult.E_TIMEOUT, message = "compute system " .. id .. " is still known" })
    end
    core.sleep(0.02)
  end
end

--- Methods of system handles (the `hcsshim.system` userdata).
-- @section methods

local function cerr(self, op, hr, result, extra)
  return errors.from_core({ kind = "container", op = op, id = self:id(), extra = extra }, hr, result)
end

local function wait_error(self, op, reason, status)
  local name = N.reason_names[reason]
  local e = errors.new({ kind = "container", op = op, id = self:id(), name = name })
  if status and status ~= 0 then e.cause = errors.new({ hresult = status }) end
  return e
end

--- Wait for a completion notification (the HCS async pattern).
-- @local
function S:_complete(op, ntype, timeout)
  -- _wait: true, status, data | false, reason, status
  local ok, a, b = N.wait(self, ntype, timeout)
  if not ok then return nil, wait_error(self, op, a, b) end
  if a ~= 0 then return nil, cerr(self, op, a, nil) end
  return true
end

-- The timeout bounds the call itself too: on Linux the service answers
-- synchronously, and a runtime step that hangs must not hold the caller.
local function async_op(self, opname, op, ntype, timeout)
  timeout = N.timeout(timeout, opname)
  local deadline = core.monotime() + timeout -- one budget for the call and its completion
  local ok, hr, result = self:_op(op, "", timeout)
  if not ok then return nil, cerr(self, opname, hr, result) end
  if errors.u32(hr) == PENDING then
    return self:_complete(opname, ntype, N.left(deadline))
  end
  return true
end

--- Start the compute system (HcsStartComputeSystem; waits for
-- SystemStartCompleted when the start is asynchronous).
-- @tparam[opt] number timeout seconds (default 240, `math.huge` = forever):
-- the call returns within it (plus a little) even when a runtime step
-- hangs (Linux: `crun start`); the step goes on, and `terminate` cuts it short
-- @treturn true|nil,hcsshim.error (invalid state 0xC0370105 when not created;
-- ErrTimeout on timeout, `hcsshim.is_timeout(err)` (Linux: with HRESULT
-- ERROR_TIMEOUT 0x800705B4 and the service's words); terminated
-- 0xC0370107 when a terminate or shutdown cut the start short)
function S:start(timeout)
  return async_op(self, "Start", "start", N.START_COMPLETED, timeout)
end

--- Pause every process of the system (HcsPauseComputeSystem; freezer on Linux).
-- @tparam[opt] number timeout seconds (default 240), as in `start`
-- @treturn true|nil,hcsshim.error (timeout and cut short as in `start`)
function S:pause(timeout)
  return async_op(self, "Pause", "pause", N.PAUSE_COMPLETED, timeout)
end

--- Resume a paused system (HcsResumeComputeSystem).
-- @tparam[opt] number timeout seconds (default 240), as in `start`
-- @treturn true|nil,hcsshim.error (timeout and cut short as in `start`)
function S:resume(timeout)
  return async_op(self, "Resume", "resume", N.RESUME_COMPLETED, timeout)
end

local function stop(self, opname, op, timeout)
  local ok, hr, result = self:_op(op, "", timeout)
  if ok then return true end -- S_OK or pending: the request was accepted
  local e = cerr(self, opname, hr, result)
  if errors.is_already_stopped(e) then return true end
  return nil, e
end

--- Ask the system to shut down gracefully (HcsShutdownComputeSystem).
-- Every process gets SIGTERM (Linux) and the chance to exit; the call
-- never force-terminates.  It returns once the request is accepted: use
-- `wait` for the exit.  Shutting down a stopped system succeeds.  A
-- runtime step in progress (a start, pause, resume or process creation
-- that hangs) is cut short: its caller gets terminated 0xC0370107.
-- @tparam[opt] number timeout seconds for the request to be accepted
-- (Linux; default 240, `math.huge` = forever; ErrTimeout beyond it)
-- @treturn true|nil,hcsshim.error
function S:shutdown(timeout)
  return stop(self, "Shutdown", "shutdown", timeout)
end

--- Terminate the system at once (HcsTerminateComputeSystem; SIGKILL to
-- every process on Linux).  Terminating a stopped system succeeds.  It
-- works on a system stuck in a runtime step (a `crun start` that hangs,
-- even one another process waits for): the step is killed first and its
-- caller gets terminated 0xC0370107.
-- @tparam[opt] number timeout seconds for the request to be accepted
-- (Linux; default 240, `math.huge` = forever; ErrTimeout beyond it)
-- @treturn true|nil,hcsshim.error
function S:terminate(timeout)
  return stop(self, "Terminate", "terminate", timeout)
end

--- Wait for the system to exit (the SystemExited notification).
-- Any number of waiters, on any handle, see the exit.
-- @tparam[opt] number timeout seconds; nil = forever; 0 = poll
-- @treturn true|nil,hcsshim.error (ErrTimeout, ErrUnexpectedProcessAbort,
-- ErrHandleClose, or the failure status SystemExited carried)
function S:wait(timeout)
  local op = timeout and "WaitTimeout" or "Wait"
  local ok, reason, status = N.wait(self, N.SYSTEM_EXITED, timeout)
  if not ok then return nil, wait_error(self, op, reason, status) end
  -- reason is the notification's status here: an unexpected exit is still
  -- an exit (see exit_error); any other failure is the wait's error, as in
  -- hcsshim's waitBackground
  if reason == 0 or errors.u32(reason) == UNEXPECTED_EXIT then return true end
  return nil, cerr(self, op, reason)
end

--- Why the system exited, when HCS reported the exit as unexpected
-- (SystemExited with ErrVmcomputeUnexpectedExit 0xC0370106: the system
-- stopped without a shutdown or terminate); nil for a requested exit or
-- while the system runs.  hcsshim's System.ExitError.
-- @treturn hcsshim.error|nil
function S:exit_error()
  local has, status = self:_has(N.SYSTEM_EXITED)
  if has and errors.u32(status) == UNEXPECTED_EXIT then return cerr(self, "Wait", status) end
  return nil
end

--- A descriptor for event loops (from the C core): it becomes readable
-- when a notification arrives for this handle (the system exited, an
-- asynchronous start, pause or resume completed).  Poll it for
-- reading (poll/epoll, cqueues `cqueues.poll{pollfd = fd, events = "r"}`,
-- luv `uv.new_poll(fd)`), then ask `is_running()` or `wait(0)`, which
-- also drain it.  It belongs to the handle: valid until `close()`; never
-- read or close it yourself (cqueues: `cqueues.cancel(fd)` before the
-- handle closes).  Linux: an eventfd.  Windows: -1, there is no pollable
-- handle: ask `is_running()` from a timer of the loop instead (see
-- examples/event_loop_cqueues.lua and examples/event_loop_luv.lua).
-- @function pollfd
-- @treturn integer

--- Whether the system has not exited yet (created, running or paused),
-- without an error for "no": a `wait(0)` that reads the answer.  For an
-- event loop: poll `pollfd()`, then ask this.
-- @treturn boolean false once the system exited (SystemExited)
function S:is_running()
  local ok, reason = self:_wait(N.SYSTEM_EXITED, 0)
  return not ok and reason == "timeout"
end

--- Query properties (HcsGetComputeSystemProperties).
-- @tparam[opt] table query an array of property types ({"Statistics"}) or
-- a `{PropertyTypes = {...}}` table
-- @tparam[opt] string op the operation named in an error (default "Properties")
-- @treturn table|nil,hcsshim.error decoded ContainerProperties (HCS field names)
function S:properties(query, op)
  if query and query.PropertyTypes == nil and #query > 0 then query = { PropertyTypes = query } end
  local q = ""
  if query then
    local err
    q, err = schema.encode("PropertyQuery", query)
    if not q then error(err, 2) end
  end
  local text, hr, result = self:_properties(q)
  if not text then return nil, cerr(self, op or "Properties", hr, result) end
  return errors.decode_output(text, { kind = "container", op = op or "Properties", id = self:id() })
end

--- Whether the system has pending updates (PropertyTypes PendingUpdates).
-- @treturn boolean|nil,hcsshim.error
function S:has_pending_updates()
  local p, err = self:properties({ "PendingUpdates" }, "HasPendingUpdates")
  if not p then return nil, err end
  return json.get(p, "AreUpdatesPending") == true
end

--- Statistics (PropertyTypes Statistics): `{Timestamp, ContainerStartTime,
-- Uptime100ns, Memory = {MemoryUsageCommitBytes, MemoryUsageCommitPeakBytes,
-- MemoryUsagePrivateWorkingSetBytes}, Processor = {TotalRuntime100ns,
-- RuntimeUser100ns, RuntimeKernel100ns}, Storage = {ReadCountNormalized,
-- ReadSizeBytes, WriteCountNormalized, WriteSizeBytes}, Network = {...}}`.
-- Sizes in bytes, times in 100 ns units.  On Linux from the container's
-- cgroup (v2: memory.current, memory.peak, memory.stat anon, cpu.stat,
-- io.stat; v1: memory, cpuacct and blkio files; see
-- src/linux/compute/stats.c); MemoryUsageCommitPeakBytes is absent on v2
-- kernels before 5.19 (no memory.peak).  A counter that cannot be read is
-- an error naming its file, never a zero.  Linux adds `Memory.OOMKillCount`
-- (processes the OOM killer killed, where the cgroup counts them: v1
-- memory.oom_control, v2 memory.events), and `properties()` has
-- `OOMKilled = true` once that happened, as docker's State.OOMKilled.
-- @treturn table|nil,hcsshim.error
function S:statistics()
  local p, err = self:properties({ "Statistics" }, "Statistics")
  if not p then return nil, err end
  return json.get(p, "Statistics") or {}
end

--- Processes of the system (PropertyTypes ProcessList): array of
-- `{ProcessId, ImageName, CreateTimestamp, UserTime100ns, KernelTime100ns,
-- MemoryCommitBytes, MemoryWorkingSetPrivateBytes, MemoryWorkingSetSharedBytes}`.
-- @treturn table|nil,hcsshim.error
function S:process_list()
  local p, err = self:properties({ "ProcessList" }, "ProcessList")
  if not p then return nil, err end
  return json.get(p, "ProcessList") or {}
end

--- Modify the running system (HcsModifyComputeSystem), e.g.
-- `{ResourceType = "Network", RequestType = "Add", Settings = endpoint_id}`.
-- @tparam table request ResourceModificationRequest
-- @treturn true|nil,hcsshim.error
function S:modify(request)
  local text, err = schema.encode("ResourceModificationRequest", request)
  if not text then error(err, 2) end
  local ok, hr, result = self:_modify(text)
  if not ok then return nil, cerr(self, "Modify", hr, result) end
  return true
end

--- Start a process in the system (HcsCreateProcess).
-- @tparam table config ProcessConfig: ApplicationName, CommandLine,
-- CommandArgs, User, WorkingDirectory, Environment, EmulateConsole,
-- ConsoleSize = {height, width}, CreateStdInPipe, CreateStdOutPipe,
-- CreateStdErrPipe
-- @tparam[opt] number timeout seconds for the create itself (default 240,
-- hcsshim's); ERROR_TIMEOUT (ErrTimeout) past it
-- @treturn hcsshim.process|nil,hcsshim.error; the error's hresult is
-- ERROR_FILE_NOT_FOUND when the executable is not there (a dangling symlink
-- included) and E_ACCESSDENIED when it is there but cannot be run (no
-- execute permission, a directory)
function S:create_process(config, timeout)
  if type(config) ~= "table" then error("bad argument #1 to 'create_process' (ProcessConfig table expected)", 2) end
  local doc, err = schema.normalize("ProcessConfig", config)
  if not doc then
    return nil, errors.new({ kind = "container", op = "CreateProcess", id = self:id(),
      hresult = E_INVALIDARG,
      message = "invalid process configuration: " .. err })
  end
  if not doc.EmulateConsole then
    doc.ConsoleSize = json.array({ 0, 0 }) -- as hcsshim's CreateProcess does
  elseif core.platform == "windows" then
    -- a detached console process without stdin dies at start with
    -- STATUS_CONTROL_C_EXIT, so Windows always gets a stdin pipe
    doc.CreateStdInPipe = true
  end
  local text = assert(json.encode(doc))
  local p, a, b, c = self:_create_process(text, N.timeout(timeout, "CreateProcess"))
  if not p then return nil, cerr(self, "CreateProcess", a, b, text) end
  process._adopt(p, a, b, c)
  return p
end

--- Open an existing process of the system by pid (HcsOpenProcess).
-- @tparam integer pid as `process:pid()` reports it
-- @treturn hcsshim.process|nil,hcsshim.error
function S:open_process(pid)
  local p, hr, result = self:_open_process(pid)
  if not p then
    return nil, errors.from_core({ kind = "process", op = "OpenProcess", id = self:id(), pid = pid }, hr, result)
  end
  return p
end

return M
