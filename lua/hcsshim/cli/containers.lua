--- `hcsshim ps|inspect|stats|top|exec|stop|kill|rm`: compute systems and
-- their processes.
-- @module hcsshim.cli.containers
local hcsshim = require "hcsshim"
local out = require "hcsshim.cli.out"

local get = hcsshim.json.get
local M = {}

local function open(id)
  return out.check(hcsshim.open_container(id))
end

-- Each id in turn; a failure is reported and the rest still run (as
-- docker does), the exit code is 125 if any failed.
local function each(ids, f)
  local failed, results = false, {}
  for _, id in ipairs(ids) do
    local ok, res = pcall(f, id)
    if ok then
      results[#results + 1] = res
    else
      failed = true
      io.stderr:write("hcsshim: ", type(res) == "table" and res.message or tostring(res), "\n")
    end
  end
  return results, failed and out.TOOL or 0
end

-- `each` for commands that act on systems and print each id they did.
local function act_on(ids, f)
  local _, code = each(ids, function(id)
    f(id)
    io.stdout:write(id, "\n")
  end)
  return code
end

--- `hcsshim ps`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.ps(a)
  local list = out.check(hcsshim.get_containers({}))
  local shown = {}
  for _, c in ipairs(list) do
    if a.all or get(c, "State") ~= "Stopped" then shown[#shown + 1] = c end
  end
  out.emit_list(a, shown, function(rows)
    local t = {}
    for i, c in ipairs(rows) do t[i] = { get(c, "Id"), get(c, "State"), get(c, "Owner") } end
    out.table({ "ID", "STATE", "OWNER" }, t)
  end)
  return 0
end

--- `hcsshim inspect`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.inspect(a)
  local docs, code = each(a.id, function(id)
    local c <close> = open(id)
    return out.check(c:properties({ "ProcessList", "Statistics" }))
  end)
  out.emit_list(a, docs)
  return code
end

local function stats_row(id, s)
  local mem, cpu = get(s, "Memory") or {}, get(s, "Processor") or {}
  return { id, ("%.2f s"):format((get(cpu, "TotalRuntime100ns") or 0) / 1e7),
    out.bytes(get(mem, "MemoryUsagePrivateWorkingSetBytes") or 0),
    ("%.0f s"):format((get(s, "Uptime100ns") or 0) / 1e7) }
end

--- `hcsshim stats`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.stats(a)
  local docs, code = each(a.id, function(id)
    local c <close> = open(id)
    local s = out.check(c:statistics())
    return { Id = id, Statistics = s }
  end)
  out.emit_list(a, docs, function(list)
    local rows = {}
    for i, d in ipairs(list) do rows[i] = stats_row(d.Id, d.Statistics) end
    out.table({ "ID", "CPU TIME", "MEMORY", "UPTIME" }, rows)
  end)
  return code
end

--- `hcsshim top`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.top(a)
  local c <close> = open(a.id)
  local list = out.check(c:process_list())
  out.emit_list(a, list, function(procs)
    local rows = {}
    for i, p in ipairs(procs) do
      rows[i] = { get(p, "ProcessId"), get(p, "ImageName"),
        ("%.2f s"):format(((get(p, "UserTime100ns") or 0) + (get(p, "KernelTime100ns") or 0)) / 1e7),
        out.bytes(get(p, "MemoryWorkingSetPrivateBytes") or 0) }
    end
    out.table({ "PID", "COMMAND", "CPU TIME", "MEMORY" }, rows)
  end)
  return 0
end

-- Copy our stdin (with -i) to the process and its stdout/stderr to ours,
-- all at once, until the process closed its output.  A chunk of our stdin
-- is written as the process takes it, and the next read only after: a
-- process that answers as it reads (cat) fills its stdout meanwhile, and
-- a blocking write would wait for ever.
local function pump(p, interactive)
  local stdin, stdout, stderr = p:stdio()
  local files = { interactive and io.stdin or false, stdout or false, stderr or false }
  local sinks = { false, io.stdout, io.stderr }
  local open_outputs = (stdout and 1 or 0) + (stderr and 1 or 0)
  local input, wait -- a chunk of our stdin, not all taken yet
  while open_outputs > 0 do
    if input then
      local done, moved, err = hcsshim.stdio.feed(input, 0)
      if err then p:close_stdin() end
      if done then input, wait = nil, nil else wait = moved and 0 or 0.01 end
    end
    for i, got in pairs(hcsshim.stdio.read_ready(files, wait)) do
      if got == false then
        files[i] = false
        if i == 1 then p:close_stdin() else open_outputs = open_outputs - 1 end
      elseif i == 1 then
        files[1] = false
        -- all taken: read our stdin again; the process closed its stdin: close ours to it
        input = { file = stdin, data = got, done = function(e)
          if e then p:close_stdin() else files[1] = io.stdin end
        end }
      else
        sinks[i]:write(got)
        sinks[i]:flush()
      end
    end
  end
end

--- The ProcessConfig fields of -e, -w, -u.
function M.process_fields(a, cfg)
  if #a.env > 0 then
    cfg.Environment = {}
    for _, kv in ipairs(a.env) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then out.fail("-e wants NAME=value, got " .. kv) end
      cfg.Environment[k] = v
    end
  end
  cfg.WorkingDirectory, cfg.User = a.workdir, a.user
  return cfg
end

--- `hcsshim exec`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.exec(a)
  local c <close> = open(a.id)
  local cfg = M.process_fields(a, { CommandArgs = a.command, CreateStdOutPipe = true,
    CreateStdErrPipe = true, CreateStdInPipe = a.interactive or nil })
  local p, err = c:create_process(cfg)
  if not p then out.fail(err, out.invoke_code(err)) end
  pump(p, a.interactive)
  out.check(p:wait())
  local code = out.check(p:exit_code())
  p:close()
  return code
end

--- The layer home of the command (`--home`, else `<data root>/layers`).
function M.home(a)
  return a.home or hcsshim.default_layer_home()
end

-- Whether the system was started by `hcsshim run --rm`.
local function marked_rm(c)
  local props = c:properties()
  return props and (get(props, "Owner") or ""):find(";rm", 1, true) ~= nil
end

--- `hcsshim stop`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.stop(a)
  return act_on(a.id, function(id)
    local c <close> = open(id)
    local rm = marked_rm(c)
    out.check(c:shutdown())
    if not c:wait(a.time) then out.check(c:terminate()) out.check(c:wait(30)) end
    c:close()
    if rm then out.check(hcsshim.remove_run(id, { home = a.home })) end
  end)
end

--- `hcsshim kill`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.kill(a)
  return act_on(a.id, function(id)
    local c <close> = open(id)
    out.check(c:terminate())
  end)
end

--- `hcsshim rm`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.rm(a)
  return act_on(a.id, function(id)
    local c = hcsshim.open_container(id)
    if not c and not hcsshim.layer_exists(M.home(a), id .. "-sandbox") then
      out.fail("no such container: " .. id)
    end
    if c then
      local running = c:is_running()
      c:close()
      if running and not a.force then out.fail(id .. " is running: stop it first or use --force") end
    end
    out.check(hcsshim.remove_run(id, { home = a.home }))
  end)
end

return M
