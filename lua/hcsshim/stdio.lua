--- Reading a process's output streams together, and their descriptors for
-- event loops.
--
-- A process that fills one pipe (64 KiB) while its reader waits on the
-- other blocks forever; `read_all` reads whichever stream has data, so
-- that cannot happen.  It reads the files' descriptors directly: do not
-- mix it with `file:read` on the same file (data already in the file's
-- buffer would be skipped; on Windows the module's stdio objects share
-- one buffer with `read_all`, so mixing is safe there).  Linux waits with
-- poll(2); Windows has no wait for a readable pipe, so it looks every
-- 10 ms (PeekNamedPipe).
-- @module hcsshim.stdio
local core = require "hcsshim.core"
local N = require "hcsshim.notification"

local M = {}

--- The descriptor of a stdio file (`process:stdio()`), for an event loop
-- (luv `uv.new_pipe():open(fd)` after a `dup`, cqueues `poll`, ...): a
-- POSIX fd on Linux; on Windows the value of the pipe's HANDLE (the
-- stdio objects there are the module's own, not C runtime files).
-- @function fileno
-- @tparam file file an open Lua file
-- @treturn integer
M.fileno = core.fileno

--- Wait up to `timeout` seconds for data on any of the files and read
-- what is there without blocking.  The wait is made of waits of at most
-- `hcsshim.notification.SLICE` seconds, so that a signal handler's hook
-- (lua.c's Ctrl-C) runs between them.
-- @tparam table files array of 1..16 read-end files (`false` for one to skip)
-- @tparam[opt] number timeout seconds (default forever; 0 polls)
-- @treturn table `{[i] = chunk}` for files with data, `[i] = false` at
-- end of file; empty when the timeout passed (or when no file is given)
function M.read_ready(files, timeout)
  local deadline = timeout and core.monotime() + timeout
  local any = false
  for i = 1, #files do any = any or files[i] ~= false end
  if not any then return core.read_ready(files, 0) end
  while true do
    local got = core.read_ready(files, N.slice(deadline))
    if next(got) ~= nil or (deadline and core.monotime() >= deadline) then return got end
  end
end

--- Write `data` to a process's stdin as its pipe takes it, waiting at
-- most `timeout` seconds for room (core.write_some; on Windows an
-- overlapped write, cancelled at the timeout).
-- @function write_some
-- @tparam file file the process's stdin (`process:stdio()`)
-- @tparam string data
-- @tparam integer i the first byte of `data` to write (1-based; 1 ..
-- `#data + 1`, else an argument error)
-- @tparam[opt] number timeout seconds (default: until the pipe takes
-- some; on Windows, all); NaN is an argument error
-- @treturn integer|nil the index after the last byte written (`i` when
-- nothing fit in time)
-- @treturn string "Broken pipe" when the process closed its stdin, else
-- "write failed"
-- @treturn integer the error code: 32 for a broken pipe, else the errno
-- (Linux) or Win32 error (Windows)
M.write_some = core.write_some

--- One step of a stdin feed (read_all's and write_all's, the CLI's pump):
-- writes what of `input` fits within `wait` seconds, from `input.at`
-- (default 1), which it moves on.
-- @tparam table input `{file = stdin, data = string, at = index,
-- done = function(err)}`; `done` runs once the data is all written (err
-- nil) or the process closed its stdin (err "Broken pipe")
-- @tparam number wait seconds to wait for room (0: none)
-- @treturn boolean done: all written, or the process stopped reading
-- (the rest is nothing to it), or the write failed
-- @treturn boolean whether anything was written
-- @treturn nil|string the write's error, other than a broken pipe (then
-- `done` did not run)
local function feed(input, wait)
  local from = input.at or 1
  local i, msg, code = core.write_some(input.file, input.data, from, wait)
  if not i and code ~= 32 then return true, false, msg .. " (" .. tostring(code) .. ")" end
  input.at = i
  if i and i <= #input.data then return false, i > from end
  if input.done then input.done(msg) end
  return true, true
end
M.feed = feed

--- Write `input` (as `read_all` takes it) to its end, then call its
-- `done`; waits of at most `hcsshim.notification.SLICE` seconds.
-- @tparam table input `{file = stdin, data = string, done = function(err)}`
-- @tparam[opt] number deadline a `hcsshim.monotime()` value (default none)
-- @treturn true|nil true also when the process closed its stdin first
-- (the rest of the input is dropped)
-- @treturn nil|string "timeout" when the deadline passed first, or the
-- write's error
function M.write_all(input, deadline)
  while true do
    local done, _, err = feed(input, N.slice(deadline))
    if err then return nil, err end
    if done then return true end
    if deadline and core.monotime() >= deadline then return nil, "timeout" end
  end
end

--- Read every file to its end, together, in arrival order (and write a
-- process's stdin meanwhile, so that a process that answers its input
-- as it reads it never blocks on either pipe).
-- @tparam table files array of read-end files (nil holes allowed up to `n`)
-- @tparam[opt] table opts `on_chunk = function(i, chunk)` receives each
-- chunk as it arrives and returns true when it took the chunk (then it
-- is not kept in the result);
-- `deadline` = a `hcsshim.monotime()` value to stop at; `n` = number of
-- slots in `files` (default `#files`); `input = {file = stdin, data =
-- string, done = function(err)}` is written to the process's stdin as it
-- takes it, then `done` runs (`err` = "Broken pipe" when the process
-- closed it first), typically `process:close_stdin()`
-- @treturn table|nil the texts, `[i] = string` (`""` for a nil slot)
-- @treturn nil|string "timeout" when the deadline passed first, or the
-- stdin write's error
function M.read_all(files, opts)
  opts = opts or {}
  local n = opts.n or #files
  local live, parts, left = {}, {}, 0
  local input = opts.input
  for i = 1, n do
    live[i] = files[i] or false
    parts[i] = {}
    if files[i] then left = left + 1 end
  end
  while left > 0 do
    -- the input first: a process may wait for all of it before it writes.
    -- While it is pending, the outputs are waited for at most 10 ms when
    -- the input made no progress (0 when it did); otherwise waits of at
    -- most SLICE seconds: a signal handler's hook (Ctrl-C) runs between
    local wait = N.slice(opts.deadline)
    if input then
      local done, moved, err = feed(input, 0)
      if err then return nil, err end
      if done then input = nil else wait = moved and 0 or math.min(wait, 0.01) end
    end
    local got = core.read_ready(live, wait)
    if next(got) == nil and opts.deadline and core.monotime() >= opts.deadline then return nil, "timeout" end
    for i, chunk in pairs(got) do
      if chunk == false then
        live[i], left = false, left - 1
      elseif not (opts.on_chunk and opts.on_chunk(i, chunk)) then
        parts[i][#parts[i] + 1] = chunk
      end
    end
  end
  if input then -- the outputs ended first: the rest as the process takes it
    local ok, err = M.write_all(input, opts.deadline)
    if not ok then return nil, err end
  end
  for i = 1, n do parts[i] = table.concat(parts[i]) end
  return parts
end

return M
