--- Error objects and predicates.
-- Every failure of the API is returned as `nil, err` where `err` is an
-- `hcsshim.error`: a table with the fields below and a `__tostring` in
-- hcsshim's own formats (hcs-api.md section 3.3).
--
--  * `kind`    "container" | "process" | "hcs" | "hns" | "plain"
--  * `op`      the operation ("Start", "CreateProcess", "hcsshim::ActivateLayer", ...)
--  * `id`      compute system id; `pid` process id
--  * `hresult` the HRESULT as an unsigned 32-bit integer, or nil for
--              errors that have none (timeouts, closed handles)
--  * `name`    hcsshim's name for it ("ErrComputeSystemDoesNotExist", "ErrTimeout", ...)
--  * `message` the human text of the code (or the service's ErrorMessage)
--  * `events`  ErrorEvents of the HCS result document (array, may be empty)
--  * `extra`   extra info (the configuration JSON of a failed create)
--  * `cause`   the wrapped error, for predicates to walk
-- @module hcsshim.error
local core = require "hcsshim.core"

local M = {}

local E = { __name = "hcsshim.error" }
E.__index = E
M.metatable = E

--- HRESULT values by name (`E_INVALIDARG`, `HCS_E_SYSTEM_NOT_FOUND`, ...), as
-- unsigned 32-bit integers.  Their one source is the C seam
-- (src/platform.h, handed over as `core.hresult`).
M.hresult = core.hresult
local H = M.hresult

--- Known HRESULTs: name and message, as on Windows.
-- Keys are unsigned 32-bit values.
M.codes = {
  [H.HCS_E_SYSTEM_NOT_FOUND] = { "ErrComputeSystemDoesNotExist",
    "A virtual machine or container with the specified identifier does not exist." },
  [H.HCS_E_SYSTEM_ALREADY_EXISTS] = { "ErrVmcomputeSystemAlreadyExists",
    "A virtual machine or container with the specified identifier already exists." },
  [H.HCS_E_SYSTEM_ALREADY_STOPPED] = { "ErrVmcomputeAlreadyStopped",
    "The virtual machine or container with the specified identifier is not running." },
  -- the same condition in winerror.h's 0x8037 form (computecore, modify after stop)
  [H.HCS_E_SYSTEM_ALREADY_STOPPED_SDK] = { "ErrVmcomputeSystemAlreadyStopped",
    "The virtual machine or container with the specified identifier is not running." },
  [H.HCS_E_OPERATION_PENDING] = { "ErrVmcomputeOperationPending", "The operation is pending." },
  [H.HCS_E_INVALID_STATE] = { "ErrVmcomputeOperationInvalidState",
    "The requested virtual machine or container operation is not valid in the current state." },
  [H.HCS_E_UNEXPECTED_EXIT] = { "ErrVmcomputeUnexpectedExit",
    "The virtual machine or container exited unexpectedly." },
  [H.HCS_E_TERMINATED] = { "ErrVmcomputeTerminated",
    "The virtual machine or container was forcefully exited." },
  [H.HCS_E_CONNECTION_CLOSED] = { "ErrVmcomputeConnectionClosed",
    "The connection with the virtual machine or container was closed." },
  [H.HCS_E_UNKNOWN_MESSAGE] = { "ErrVmcomputeUnknownMessage",
    "An unknown internal message was received by the Host Compute Service." },
  [H.HCS_E_INVALID_JSON] = { "ErrVmcomputeInvalidJSON", "The JSON document is invalid." },
  [H.HCS_E_PROCESS_ALREADY_STOPPED] = { "ErrProcessAlreadyStopped", "The process has already exited." },
  [H.E_NOT_FOUND] = { "ErrElementNotFound", "Element not found." },
  [H.E_PROC_NOT_FOUND] = { "ErrProcNotFound", "The specified procedure could not be found." },
  [H.E_ACCESSDENIED] = { "ErrVmcomputeOperationAccessIsDenied", "Access is denied." },
  [H.E_INVALID_HANDLE] = { "ErrInvalidHandle", "The handle is invalid." },
  [H.E_INVALID_DATA] = { "ErrInvalidData", "The data is invalid." },
  [H.E_NOT_SUPPORTED] = { "ErrNotSupported", "The request is not supported." },
  [H.E_INVALIDARG] = { "E_INVALIDARG", "The parameter is incorrect." },
  [H.E_NOTIMPL] = { "E_NOTIMPL", "Not implemented." },
  [H.E_FAIL] = { "E_FAIL", "Unspecified error." },
  [H.E_ABORT] = { "E_ABORT", "Operation aborted." },
  [H.E_OUTOFMEMORY] = { "E_OUTOFMEMORY",
    "Not enough memory resources are available to complete this operation." },
  [H.E_FILE_NOT_FOUND] = { "ERROR_FILE_NOT_FOUND", "The system cannot find the file specified." },
  [H.E_PATH_NOT_FOUND] = { "ERROR_PATH_NOT_FOUND", "The system cannot find the path specified." },
  [H.E_BAD_FORMAT] = { "ERROR_BAD_FORMAT",
    "An attempt was made to load a program with an incorrect format." },
  [H.E_CRC] = { "ERROR_CRC", "Data error (cyclic redundancy check)." },
  [H.E_NO_MORE_FILES] = { "ERROR_NO_MORE_FILES", "There are no more files." },
  [H.E_DISK_FULL] = { "ERROR_DISK_FULL", "There is not enough space on the disk." },
  [H.E_DIR_NOT_EMPTY] = { "ERROR_DIR_NOT_EMPTY", "The directory is not empty." },
  [H.E_BUSY] = { "ERROR_BUSY", "The requested resource is in use." },
  [H.E_ALREADY_EXISTS] = { "ERROR_ALREADY_EXISTS", "Cannot create a file when that file already exists." },
  [H.E_TIMEOUT] = { "ERROR_TIMEOUT", "This operation returned because the timeout period expired." },
  [H.E_NOT_ALL_ASSIGNED] = { "ERROR_NOT_ALL_ASSIGNED",
    "Not all privileges or groups referenced are assigned to the caller." },
  [H.E_NO_SUCH_PRIVILEGE] = { "ERROR_NO_SUCH_PRIVILEGE", "A specified privilege does not exist." },
  [H.E_PRIVILEGE_NOT_HELD] = { "ERROR_PRIVILEGE_NOT_HELD",
    "A required privilege is not held by the client." },
  [H.STATUS_CONTROL_C_EXIT] = { "STATUS_CONTROL_C_EXIT",
    "The application terminated as a result of a CTRL+C." },
}

--- Errors that have no HRESULT: name -> message (hcsshim's own strings).
M.strings = {
  ErrHandleClose = "hcsshim: the handle generating this notification has been closed",
  ErrAlreadyClosed = "hcsshim: the handle has already been closed",
  ErrInvalidNotificationType = "hcsshim: invalid notification type",
  ErrInvalidProcessState = "the process is in an invalid state for the attempted operation",
  ErrTimeout = "hcsshim: timeout waiting for notification",
  ErrUnexpectedContainerExit = "unexpected container exit",
  ErrUnexpectedProcessAbort = "lost communication with compute service",
  ErrUnexpectedValue = "unexpected value returned from hcs",
  ErrPlatformNotSupported = "unsupported platform request",
  ErrOperationDenied = "operation denied",
}

--- Predicate tables: predicate name -> set of error names.
-- Tested against `err.name` of the error and of every `cause` below it.
M.predicates = {
  is_not_exist = { ErrComputeSystemDoesNotExist = true, ErrElementNotFound = true,
                   EndpointNotFound = true, NetworkNotFound = true, LayerNotFound = true },
  is_already_stopped = { ErrVmcomputeAlreadyStopped = true, ErrVmcomputeSystemAlreadyStopped = true,
                         ErrElementNotFound = true, ErrProcessAlreadyStopped = true },
  is_pending = { ErrVmcomputeOperationPending = true },
  is_timeout = { ErrTimeout = true },
  is_already_closed = { ErrAlreadyClosed = true },
  -- ErrProcNotFound: a vmcompute export this Windows build lacks
  is_not_supported = { ErrVmcomputeInvalidJSON = true, ErrInvalidData = true, ErrNotSupported = true,
                       ErrProcNotFound = true,
                       ErrVmcomputeUnknownMessage = true, ErrPlatformNotSupported = true },
  is_operation_invalid_state = { ErrVmcomputeOperationInvalidState = true },
  is_access_is_denied = { ErrVmcomputeOperationAccessIsDenied = true },
}

local function u32(hr)
  if hr and hr < 0 then return hr + 0x100000000 end
  return hr
end
M.u32 = u32

--- Name of an HRESULT (hcsshim's Err* name where it has one).
-- @tparam integer hr signed or unsigned 32-bit HRESULT
-- @treturn string
function M.hresult_name(hr)
  hr = u32(hr)
  local c = M.codes[hr]
  if c then return c[1] end
  return string.format("HRESULT 0x%08x", hr)
end

--- hcsshim's win32FromHresult: FACILITY_WIN32 codes become the Win32 code.
-- @tparam integer hr
-- @treturn integer
function M.win32_from_hresult(hr)
  hr = u32(hr)
  if hr & 0x1fff0000 == 0x00070000 then return hr & 0xffff end
  return hr
end

local function event_lines(events)
  local out = {}
  for _, ev in ipairs(type(events) == "table" and events or {}) do
    ev = type(ev) == "table" and ev or {}
    local parts = {}
    -- only text and numbers: a null or nested value of a document
    -- never prints as "userdata: (nil)" or "table: 0x..."
    local function add(label, v)
      if (type(v) == "string" and v ~= "") or type(v) == "number" then parts[#parts + 1] = label .. tostring(v) end
    end
    add("", ev.Message)
    add("Stack Trace: ", ev.StackTrace)
    add("Provider: ", ev.Provider)
    add("EventID: ", ev.EventId)
    add("flags: ", ev.Flags)
    add("Source: ", ev.Source)
    out[#out + 1] = "\n[Event Detail: " .. table.concat(parts, " ") .. "]"
  end
  return table.concat(out)
end

-- Messages name the service that failed: hcsshim's own words on Windows
-- (a Windows system call, Win32), the Linux host compute service on Linux.
-- HRESULTs, names and predicates are the same on both.
local ON_LINUX = core.platform == "linux"
local FAILURE = ON_LINUX and "failure in the Linux host compute service" or "failure in a Windows system call"
local FAILED_IN = ON_LINUX and "failed in the Linux host compute service" or "failed in Win32"

-- The text after the operation: HRESULT errors as a failure of the
-- service, string errors as they are.
local function inner_text(e)
  if e.hresult then
    return string.format("%s: %s (0x%x)", FAILURE, e.message, M.win32_from_hresult(e.hresult))
  end
  return e.message
end

function E:__tostring()
  local s
  if self.kind == "container" then
    s = "container " .. tostring(self.id)
    if self.op then s = s .. " encountered an error during " .. self.op end
    s = s .. ": " .. inner_text(self)
    -- the configuration stays in err.extra; only Windows prints it, as hcsshim does
    if not ON_LINUX and self.extra and self.extra ~= "" then s = s .. " extra info: " .. self.extra end
  elseif self.kind == "process" then
    s = "process " .. tostring(self.pid)
    if self.id then s = s .. " in container " .. self.id end
    if self.op then s = s .. " encountered an error during " .. self.op end
    s = s .. ": " .. inner_text(self)
  elseif self.kind == "hcs" then
    -- a title that already ends in "failed" (Go callers passed such
    -- titles) must not print "failed failed"
    local title = (self.op or ""):gsub("%s*[Ff]ailed%s*$", "")
    if title ~= "" and title:sub(-1) ~= " " then title = title .. " " end
    s = title .. FAILED_IN .. ": " .. self.message ..
      string.format(" (0x%x)", self.hresult and M.win32_from_hresult(self.hresult) or 31)
    if self.rest and self.rest ~= "" then
      s = s .. (self.rest:sub(1, 1) == " " and "" or " ") .. self.rest
    end
  elseif self.kind == "hns" then
    s = "HNS failed with error : " .. self.message
  else
    s = self.message
  end
  return s .. event_lines(self.events)
end

--- Build an error object.
-- @tparam table fields any of the documented fields; `hresult` fills
-- `name` and `message` from the code table when they are not given, and
-- a string `name` from `M.strings` fills `message`.
-- @treturn hcsshim.error
function M.new(fields)
  local e = setmetatable(fields, E)
  if e.hresult then
    e.hresult = u32(e.hresult)
    local c = M.codes[e.hresult]
    e.name = e.name or (c and c[1]) or string.format("HRESULT 0x%08x", e.hresult)
    e.message = e.message or (c and c[2]) or string.format("HRESULT 0x%08x", e.hresult)
  elseif e.name and not e.message then
    e.message = M.strings[e.name] or e.name
  end
  e.kind = e.kind or "plain"
  e.events = e.events or {}
  return e
end

-- A field of a decoded document as the Go type hcsshim reads it: null,
-- absent and a value of another type all read as the zero value (nil).
local function field(json, doc, key, want)
  local v = json.get(doc, key)
  if want == "integer" then return math.type(v) == "integer" and v or nil end
  if type(v) == want then return v end
  return nil
end

--- Decode a JSON document the platform returned (properties, process
-- status, lists).  Text that is not JSON (NaN, ...) or not an object or
-- array is ErrUnexpectedValue, never a made-up empty table.
-- @tparam string text
-- @tparam table fields kind, op, id, pid of the error
-- @treturn table|nil,hcsshim.error the decoded document
function M.decode_output(text, fields)
  local v, derr = require("hcsshim.json").decode(text)
  if type(v) == "table" then return v end
  fields.name = "ErrUnexpectedValue"
  fields.message = "unexpected value returned from hcs: " .. tostring(derr or "a JSON object or array expected")
  return nil, M.new(fields)
end

--- Decode an HCS result document (hcs-api.md 3.4) into message and events.
-- As in Go's decoder, null (or a value of the wrong type) is absent: an
-- event whose fields are all null gives an event with no fields.
-- @tparam string|nil result JSON text
-- @treturn string|nil ErrorMessage
-- @treturn table events: `{Message, StackTrace, Provider, EventId, Flags,
-- Source}` each (strings; EventId and Flags integers), fields may be nil
-- @treturn integer|nil Error (HRESULT)
function M.parse_result(result)
  if type(result) ~= "string" or result == "" then return nil, {} end
  local json = require "hcsshim.json"
  local doc = json.decode(result)
  if type(doc) ~= "table" then return nil, {} end
  local msg = field(json, doc, "ErrorMessage", "string")
  local events = {}
  for _, ev in ipairs(field(json, doc, "ErrorEvents", "table") or {}) do
    events[#events + 1] = {
      Message = field(json, ev, "Message", "string"), StackTrace = field(json, ev, "StackTrace", "string"),
      Provider = field(json, ev, "Provider", "string"), EventId = field(json, ev, "EventId", "integer"),
      Flags = field(json, ev, "Flags", "integer"), Source = field(json, ev, "Source", "string"),
    }
  end
  if msg == "" then msg = nil end
  return msg, events, field(json, doc, "Error", "integer")
end

--- Build an error from a core failure triple.
-- @tparam table fields kind, op, id, pid, extra
-- @tparam integer hr HRESULT from the core
-- @tparam string|nil result HCS result document
-- @tparam string|nil detail a platform message (layer functions)
-- @treturn hcsshim.error
function M.from_core(fields, hr, result, detail)
  local msg, events = M.parse_result(result)
  -- a call that gave up at its deadline (Linux: the monitor did not
  -- answer in time) is hcsshim's ErrTimeout, so is_timeout holds; the
  -- HRESULT and the service's words stay
  if u32(hr) == H.E_TIMEOUT then fields.name = fields.name or "ErrTimeout" end
  fields.hresult = hr
  fields.events = events
  local c = M.codes[u32(hr)]
  local base = c and c[2] or string.format("HRESULT 0x%08x", u32(hr))
  msg = msg or detail
  -- Windows' FormatMessage text of a known code repeats the base message
  if msg and msg:gsub("[%s%.]+$", "") == base:gsub("[%s%.]+$", "") then msg = nil end
  if msg then fields.message = base .. " (" .. msg .. ")" end
  return M.new(fields)
end

--- An HcsError of a service-level function ("hcsshim::<title> failed in
-- Win32: ... <rest>"), from a core failure.
-- @tparam string title the function's name in hcsshim (`ActivateLayer`)
-- @tparam[opt] string rest what the call was about (`id=x flavour=1`)
-- @tparam integer hr HRESULT from the core
-- @tparam[opt] string result HCS result document
-- @tparam[opt] string detail a platform message
-- @treturn hcsshim.error
function M.hcs(title, rest, hr, result, detail)
  return M.from_core({ kind = "hcs", op = "hcsshim::" .. title, rest = rest }, hr, result, detail)
end

--- Calls a core function `f(...)`, turning its failure (nil, hr, result,
-- detail) into `nil, HcsError` (see `hcs`).
-- @tparam string title
-- @tparam[opt] string rest
-- @tparam function f
-- @return f's value, or nil and the error
function M.hcs_call(title, rest, f, ...)
  local v, hr, result, detail = f(...)
  if v == nil then return nil, M.hcs(title, rest, hr, result, detail) end
  return v
end

--- Wrap `cause` with a new context, keeping its identity for predicates.
-- @tparam table fields kind, op, id, pid, ...
-- @tparam hcsshim.error cause
-- @treturn hcsshim.error
function M.wrap(fields, cause)
  fields.cause = cause
  fields.hresult = fields.hresult or cause.hresult
  fields.name = fields.name or cause.name
  fields.message = fields.message or cause.message
  fields.events = fields.events or cause.events
  return M.new(fields)
end

local function matches(set, err)
  local seen = 0
  while type(err) == "table" and seen < 64 do
    if err.name and set[err.name] then return true end
    err = err.cause
    seen = seen + 1
  end
  return false
end

-- Using a closed handle raises an hcsshim.error named ErrAlreadyClosed
-- (src/handle.c calls this factory).
debug.getregistry()["hcsshim.closed_error"] = function(msg)
  return M.new({ name = "ErrAlreadyClosed", message = msg })
end

for pname, set in pairs(M.predicates) do
  M[pname] = function(err) return matches(set, err) end
end

--- True when `v` is an hcsshim.error.
-- @param v any value
-- @treturn boolean
function M.is_error(v)
  return getmetatable(v) == E
end

return M
