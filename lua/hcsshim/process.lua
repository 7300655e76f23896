--- Processes in a compute system: the methods of `hcsshim.process` handles.
-- They mirror hcsshim's Process interface.
-- @classmod hcsshim.process
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local json = require "hcsshim.json"
local schema = require "hcsshim.schema"
local N = require "hcsshim.notification"

local M = core.process_methods
local stdio_of = setmetatable({}, { __mode = "k" })

--- Linux signal numbers -> names, for exit reports.
M.signal_names = {
  [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP",
  [6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1",
  [11] = "SIGSEGV", [12] = "SIGUSR2", [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM",
  [16] = "SIGSTKFLT", [17] = "SIGCHLD", [18] = "SIGCONT", [19] = "SIGSTOP", [20] = "SIGTSTP",
  [21] = "SIGTTIN", [22] = "SIGTTOU", [23] = "SIGURG", [24] = "SIGXCPU", [25] = "SIGXFSZ",
  [26] = "SIGVTALRM", [27] = "SIGPROF", [28] = "SIGWINCH", [29] = "SIGIO", [30] = "SIGPWR",
  [31] = "SIGSYS",
}

local function perr(self, op, hr, result)
  return errors.from_core({ kind = "process", op = op, id = self:system_id(), pid = self:pid() }, hr, result)
end

-- Keeps the stdio files a create returned, for stdio().
function M._adopt(p, stdin, stdout, stderr)
  stdio_of[p] = { stdin, stdout, stderr }
end

--- The process's stdio: stdin (write), stdout and stderr (read); nil for
-- a stream that was not requested.  The first call returns the pipes made
-- at creation; a handle from `open_process` asks the platform for fresh
-- ones (HcsGetProcessInfo).  On Linux these are ordinary Lua files
-- (buffered: call `flush()` after writes the process must see); on
-- Windows the module's own file objects over HCS's overlapped pipes, with
-- a Lua file's `read` ("a", "l", "L", a count), `write`, `lines`, `close`,
-- `flush` and `setvbuf`, writing straight to the pipe, never inheritable
-- by child processes.
-- A console process (EmulateConsole) always has stdin and stdout, both
-- on its pseudo-terminal, whatever the CreateStd*Pipe flags say.
-- A write to stdin after the process exited returns `nil, "Broken pipe",
-- 32` (the module ignores SIGPIPE when it loads, unless the host set its
-- own disposition; a host that restores the default is killed by it).
-- @treturn file|nil stdin
-- @treturn file|nil stdout
-- @treturn file|nil stderr
function M:stdio()
  local s = stdio_of[self]
  if not s then
    local a, b, c = self:_stdio()
    if a == nil and math.type(b) == "integer" then return nil, perr(self, "Stdio", b, c) end
    s = { a, b, c }
    stdio_of[self] = s
  end
  return s[1], s[2], s[3]
end

--- Close the process's stdin so that it reads end-of-file.  Everything
-- written is flushed and our end of the pipe closed first; only then is
-- HCS told (HcsModifyProcess CloseHandle StdIn), since HCS ends the
-- process's input at once and bytes still in our buffer would be lost.
-- On an exited process only our end is closed: HCS refuses the request.
-- @treturn true|nil,hcsshim.error
function M:close_stdin()
  local s = stdio_of[self]
  -- a closed or broken pipe (the process is gone) is no failure here
  if s and s[1] then pcall(s[1].close, s[1]) end
  if self:_has(N.PROCESS_EXITED) then return true end
  local text = assert(schema.encode("ProcessModifyRequest",
    { Operation = "CloseHandle", CloseHandle = { Handle = "StdIn" } }))
  local ok, hr, result = self:_modify(text)
  if ok then return true end
  local e = perr(self, "CloseStdin", hr, result)
  if errors.is_already_stopped(e) then return true end
  return nil, e
end

--- Resize the process's console (HcsModifyProcess ConsoleSize).
-- @tparam integer width columns
-- @tparam integer height rows
-- @treturn true|nil,hcsshim.error
function M:resize_console(width, height)
  local text, err = schema.encode("ProcessModifyRequest",
    { Operation = "ConsoleSize", ConsoleSize = { Height = height, Width = width } })
  if not text then error(err, 2) end
  local ok, hr, result = self:_modify(text)
  if not ok then return nil, perr(self, "ResizeConsole", hr, result) end
  return true
end

-- A process that is gone needs no signal: HcsTerminateProcess on an
-- exited process ends in TerminateProcess, which answers ERROR_ACCESS_DENIED,
-- and HCS answers a repeated request with ProcessAlreadyStopped (hcsshim's
-- Kill treats both as success).
local function gone(e)
  return errors.is_already_stopped(e) or errors.is_access_is_denied(e)
end

-- HcsSignalProcess answers a process that is gone with invalid state or
-- not found as well (hcsshim's processSignalResult: not delivered, no error).
-- Invalid state also answers a live process that cannot take the signal
-- now (its system is paused): that stays an error, never a false success.
local function gone_for_signal(self, e)
  if gone(e) or errors.is_not_exist(e) then return true end
  if not errors.is_operation_invalid_state(e) then return false end
  local props = self:properties()
  return props == nil or json.get(props, "Exited") == true
end

--- Kill the process (HcsTerminateProcess; SIGKILL on Linux).  Killing an
-- exited process succeeds.
-- @treturn true|nil,hcsshim.error
function M:kill()
  local ok, hr, result = self:_terminate()
  if ok then return true end
  local e = perr(self, "Kill", hr, result)
  if gone(e) then return true end
  return nil, e
end

--- Send a signal (HcsSignalProcess, LCOW form `{"Signal": n}`).
-- Signalling an exited process succeeds; in a paused system (Linux) the
-- signal is refused with an invalid-state error (0xC0370105), as `kill`.
-- @tparam integer n signal number (15 = SIGTERM)
-- @treturn true|nil,hcsshim.error
function M:signal(n)
  n = type(n) == "number" and math.tointeger(n) or nil
  if not n or n < 1 or n > 64 then error("bad argument #1 to 'signal' (signal number 1..64 expected)", 2) end
  local ok, hr, result = self:_signal(json.encode({ Signal = n }))
  if ok then return true end
  local e = perr(self, "Signal", hr, result)
  if gone_for_signal(self, e) then return true end
  return nil, e
end

--- Wait for the process to exit (ProcessExited).
-- @tparam[opt] number timeout seconds; nil = forever; 0 = poll
-- @treturn true|nil,hcsshim.error (ErrTimeout, ErrUnexpectedProcessAbort,
-- ErrHandleClose, or the failure status ProcessExited carried)
function M:wait(timeout)
  local op = timeout and "WaitTimeout" or "Wait"
  local ok, reason, status = N.wait(self, N.PROCESS_EXITED, timeout)
  if ok then
    -- reason is the notification's status: a failure is the wait's error
    if reason == 0 then return true end
    return nil, perr(self, op, reason)
  end
  local e = errors.new({ kind = "process", op = op,
    id = self:system_id(), pid = self:pid(), name = N.reason_names[reason] })
  if status and status ~= 0 then e.cause = errors.new({ hresult = status }) end
  return nil, e
end

--- A descriptor for event loops (from the C core): it becomes readable
-- when a notification arrives for this handle (the process exited).  Poll it for
-- reading (poll/epoll, cqueues `cqueues.poll{pollfd = fd, events = "r"}`,
-- luv `uv.new_poll(fd)`), then ask `is_running()` or `wait(0)`, which
-- also drain it.  It belongs to the handle: valid until `close()`; never
-- read or close it yourself (cqueues: `cqueues.cancel(fd)` before the
-- handle closes).  Linux: an eventfd.  Windows: -1, there is no pollable
-- handle: ask `is_running()` from a timer of the loop instead (see
-- examples/event_loop_cqueues.lua and examples/event_loop_luv.lua).
-- @function pollfd
-- @treturn integer

--- Whether the process is still running, without an error for "no":
-- a `wait(0)` that reads the answer (never raises on a live handle).
-- For an event loop: poll `pollfd()`, then ask this.
-- @treturn boolean false once the process exited (or its system did)
function M:is_running()
  local ok, reason = self:_wait(N.PROCESS_EXITED, 0)
  return not ok and reason == "timeout"
end

--- Process properties (HcsGetProcessProperties): `{ProcessId, Exited,
-- ExitCode, LastWaitResult}` (Linux adds `Signal` for a death by signal,
-- and `OOMKilled = true` when the OOM killer killed it).
-- @treturn table|nil,hcsshim.error
function M:properties()
  local text, hr, result = self:_properties()
  if not text then return nil, perr(self, "Properties", hr, result) end
  return errors.decode_output(text, { kind = "process", op = "Properties", id = self:system_id(), pid = self:pid() })
end

-- An integer field of a status document: 0 when absent, nil when it is
-- not an integral number.
local function integer_field(props, key)
  local v = json.get(props, key)
  if v == nil then return 0 end
  return type(v) == "number" and math.tointeger(v) or nil
end

--- Decode a process status document into an exit code.
-- Not exited -> ErrInvalidProcessState; LastWaitResult ~= 0 -> an error
-- carrying that HRESULT (never a made-up 0).  Death by signal N gives
-- 128+N and the signal's name, and true as a third value when the OOM
-- killer killed it (Linux `OOMKilled`, as docker reports it).  As in Go's decoder, an absent or null
-- field is its zero value; a field of another type (a string, a
-- fraction) is ErrUnexpectedValue.
-- @tparam table props decoded process status
-- @treturn integer|nil exit code
-- @treturn string|hcsshim.error signal name (or nil), or the error
-- @treturn boolean|nil true when the OOM killer killed the process
function M.decode_exit(props)
  if json.get(props, "Exited") ~= true then
    return nil, errors.new({ name = "ErrInvalidProcessState" })
  end
  local lwr, code, sig = integer_field(props, "LastWaitResult"), integer_field(props, "ExitCode"),
    integer_field(props, "Signal")
  if not (lwr and code and sig) then return nil, errors.new({ name = "ErrUnexpectedValue" }) end
  if lwr ~= 0 then return nil, errors.new({ hresult = lwr }) end
  if sig > 0 then
    return code, M.signal_names[sig] or ("signal " .. sig), json.get(props, "OOMKilled") == true or nil
  end
  -- Windows reports NTSTATUS exits as the exit code: name the ones we know
  -- (0xC000013A STATUS_CONTROL_C_EXIT: a console process without stdin)
  if code >= 0xC0000000 and code <= 0xFFFFFFFF and errors.codes[code] then
    return code, errors.codes[code][1]
  end
  return code
end

--- The exit code of an exited process.
-- @treturn integer|nil exit code (128+N after death by signal N)
-- @treturn string|hcsshim.error the signal's name ("SIGKILL") or nil; or the error
-- @treturn boolean|nil true when the OOM killer killed it (Linux)
function M:exit_code()
  -- a ProcessExited that carried a failure leaves no exit code (hcsshim's
  -- ExitCode returns the wait error)
  local exited, status = self:_has(N.PROCESS_EXITED)
  if exited and status ~= 0 then return nil, perr(self, "ExitCode", status) end
  local props, err = self:properties()
  if not props then return nil, err end
  local code, x, oom = M.decode_exit(props)
  if code then return code, x, oom end
  return nil, errors.wrap({ kind = "process", op = "ExitCode", id = self:system_id(), pid = self:pid() }, x)
end

return M
