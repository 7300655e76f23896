--- The run workflow: sandbox layer + container (+ endpoint) + process,
-- and everything removed again afterwards.
-- @module hcsshim.run
local layer = require "hcsshim.layer"
local system = require "hcsshim.system"
local guid = require "hcsshim.guid"
local hns = require "hcsshim.hns"
local network = require "hcsshim.network"
local errors = require "hcsshim.error"
local stdio = require "hcsshim.stdio"
local core = require "hcsshim.core"
local N = require "hcsshim.notification"

local M = {}

local SEP, base_name = layer._SEP, layer._base_name

--- The layer home of `run{}`, `remove`, `prune` and the command when
-- none is given: `<data root>/layers`; the data root is `HCSSHIM_DATA_ROOT`,
-- else `/var/lib/hcsshim` on Linux and `%ProgramData%\hcsshim` on Windows.
-- @treturn string
M.default_home = layer._default_home

-- The options run{} knows; any other key is refused (a typo must not be
-- silently ignored).
M.options = {
  layers = true, rootfs = true, home = true, command = true, args = true, network = true,
  ports = true, config = true, stdin = true, id = true, detach = true, timeout = true,
  env = true, cwd = true, user = true, on_stdout = true, on_stderr = true, image = true,
}

local function bad(msg) error("run: " .. msg, 5) end

local function check_type(opts, key, want, what)
  if opts[key] ~= nil and type(opts[key]) ~= want then bad(("`%s` must be %s"):format(key, what)) end
end

-- env as a `{NAME = value}` table or an array of "NAME=value" strings.
local function environment(env)
  if env == nil then return nil end
  if type(env) ~= "table" then bad("`env` must be a table of NAME = value or an array of \"NAME=value\"") end
  local out = {}
  for k, v in pairs(env) do
    if math.type(k) == "integer" then
      local name, value = tostring(v):match("^([^=]+)=(.*)$")
      if not name then bad(("`env[%d]` must be \"NAME=value\""):format(k)) end
      out[name] = value
    elseif type(k) == "string" and (type(v) == "string" or type(v) == "number") then
      out[k] = tostring(v)
    else
      bad("`env` must map names to strings")
    end
  end
  return out
end

-- The process options (command, stdio, env, cwd, user) and output callbacks.
local function check_process_options(opts)
  if opts.command == nil and opts.args == nil and opts.image == nil then
    bad("`command` or `args` is required")
  end
  check_type(opts, "command", "string", "a command line string")
  check_type(opts, "args", "table", "an array of strings")
  check_type(opts, "stdin", "string", "a string")
  check_type(opts, "cwd", "string", "a path in the container")
  check_type(opts, "user", "string", "a user name or uid[:gid]")
  check_type(opts, "on_stdout", "function", "a function(chunk)")
  check_type(opts, "on_stderr", "function", "a function(chunk)")
  environment(opts.env)
end

-- Every option, before the first layer call: a bad one raises (at the
-- caller of run) and nothing is made.  Returns the NAT policies of `ports`.
local function check_options(opts)
  for k in pairs(opts) do
    if not M.options[k] then bad(("unknown option `%s`"):format(tostring(k))) end
  end
  if not opts.layers and not opts.rootfs and not opts.image then
    bad("`layers`, `rootfs` or `image` is required")
  end
  check_type(opts, "layers", "table", "an array of layer paths")
  check_type(opts, "rootfs", "string", "the path of a root filesystem tar")
  if opts.rootfs == nil and opts.image == nil and #opts.layers == 0 then
    bad("`layers`, `rootfs` or `image` is required")
  end
  check_process_options(opts)
  if opts.network ~= nil and type(opts.network) ~= "table" and type(opts.network) ~= "string" then
    bad("`network` must be a network name or id, or an HNSNetwork table")
  end
  if opts.timeout ~= nil and (type(opts.timeout) ~= "number" or opts.timeout < 0) then
    bad("`timeout` must be a number of seconds")
  end
  if opts.ports == nil then return nil end
  if not opts.network then bad("`ports` needs a `network`") end
  if type(opts.ports) ~= "table" then bad("`ports` must be an array") end
  local pols, perr = network.nat_policies(opts.ports)
  if not pols then bad(perr) end
  return pols
end

--- The read-only layer of a rootfs tar, imported once and then reused for
-- the same content: its id is `rootfs-<sha256 of the file>`.  A layer in
-- use by a container cannot be destroyed; `hcsshim.prune` removes unused
-- ones.  Two first runs of one tar at the same moment may both import;
-- one wins and the other reuses its layer.
-- @tparam table|string home DriverInfo or layer home
-- @tparam string tar path of the root filesystem tar
-- @treturn string|nil,hcsshim.error the layer id
function M.rootfs_layer(home, tar)
  local digest, err = core.sha256_file(tar)
  if not digest then
    return nil, errors.new({ op = "run", hresult = errors.hresult.E_INVALIDARG,
      message = "rootfs: " .. tostring(err) })
  end
  local id = M.ROOTFS_PREFIX .. digest:sub(8)
  if layer.layer_exists(home, id) then return id end
  local ok
  ok, err = layer.import_layer(home, id, tar)
  -- a concurrent first run of the same tar may have won the import
  if not ok and not layer.layer_exists(home, id) then return nil, err end
  return id
end

--- Layer ids of cached rootfs tars start with this ("rootfs-<sha256 hex>").
M.ROOTFS_PREFIX = "rootfs-"

--- The ContainerConfig Owner of compute systems run{} makes (unless
-- `config` names another): `hcsshim.prune` touches only systems whose
-- Owner starts with it.
M.OWNER = "hcsshim-lua"

-- t's key that is `lower` in any case (HCS reads keys case-insensitively).
local function key_of(t, lower)
  for k in pairs(t) do
    if type(k) == "string" and k:lower() == lower then return k end
  end
  return nil
end

-- The first line of a file, or nil.
local function first_line(path)
  local f = io.open(path)
  if not f then return nil end
  local l = f:read("l")
  f:close()
  return l
end

-- The start time in a /proc/<pid>/stat line (clock ticks after boot, field
-- 22): with the pid, it names one process for the life of a boot.
local function start_time(stat)
  local rest = stat and stat:match("^.*%) (.*)$") -- after the command name
  if not rest then return nil end
  local i = 2 -- rest begins with field 3
  for word in rest:gmatch("%S+") do
    i = i + 1
    if i == 22 then return word end
  end
  return nil
end

local boot_id -- of this boot, read once: it cannot change under a process

local function this_boot()
  boot_id = boot_id or first_line("/proc/sys/kernel/random/boot_id")
  return boot_id
end

--- The creator tag `run{}` appends to the Owner of the systems it waits
-- for: "creator=<boot id>/<pid>/<start time>" of this Lua process (Linux:
-- `/proc/sys/kernel/random/boot_id`, `/proc/self/stat`); nil where there
-- is no /proc (Windows), and then no tag is recorded.
-- @treturn string|nil
function M.creator()
  local boot, stat = this_boot(), first_line("/proc/self/stat")
  local pid = stat and stat:match("^(%d+) ")
  local start = start_time(stat)
  if not (boot and pid and start) then return nil end
  return ("creator=%s/%s/%s"):format(boot, pid, start)
end

--- Whether an Owner names a creator that is recognisably gone: its tag
-- (see `creator`) is of this boot and no process with that pid and start
-- time lives.  An Owner without a tag (a detached run, another owner) or
-- of another boot is never "gone".
-- @tparam string owner a ContainerConfig Owner
-- @treturn boolean
function M.creator_gone(owner)
  local boot, pid, start = tostring(owner):match(";creator=([%x%-]+)/(%d+)/(%d+)")
  if not boot or boot ~= this_boot() then return false end
  return start_time(first_line(("/proc/%s/stat"):format(pid))) ~= start
end

-- The Owner and lifetime of the system: Owner "hcsshim-lua" unless the
-- config names one.  A run that waits for its process dies with its
-- creator: TerminateOnLastHandleClosed (unless the config says), and the
-- creator tag on an Owner of ours, so that `prune` recognises what a
-- killed creator left.  A detached run outlives its creator: neither.
local function set_owner(cfg, detach)
  local k = key_of(cfg, "owner") or "Owner"
  if cfg[k] == nil then cfg[k] = M.OWNER end
  if detach then return end
  if key_of(cfg, "terminateonlasthandleclosed") == nil then cfg.TerminateOnLastHandleClosed = true end
  local tag = M.creator()
  if tag and type(cfg[k]) == "string" and cfg[k]:sub(1, #M.OWNER) == M.OWNER then
    cfg[k] = cfg[k] .. ";" .. tag
  end
end

--- Sandbox layers of run{} are named "<compute system id>-sandbox".
M.SANDBOX_SUFFIX = "-sandbox"

-- The layers of opts.image (nearest first) and the ProcessConfig its
-- config gives (`hcsshim.image`); {} and nil without an image.
local function image_parts(opts)
  if not opts.image then return {}, nil end
  local image = require "hcsshim.image"
  local img, err = image.inspect(opts.image, { home = opts.home })
  if not img then return nil, err end
  local pcfg
  pcfg, err = image.process_config(img, { CommandLine = opts.command, CommandArgs = opts.args })
  if not pcfg then return nil, err end
  return image.layers(img), pcfg
end

-- The setup record of run `id`: "<home>/.run-<id>", holding the creator
-- tag (see `creator`) from just after its sandbox layer is made until its
-- compute system exists, so that `prune` tells a sandbox being set up
-- from an abandoned one.  None where there is no creator tag (Windows).
local function record_path(home, id) return home .. SEP .. ".run-" .. id end

local function write_record(home, id, later)
  local tag = M.creator()
  if not tag then return end
  later(function() os.remove(record_path(home, id)) end)
  local f = io.open(record_path(home, id), "w")
  if f then
    f:write(tag, "\n")
    f:close()
  end
end

--- Whether run `id` is still being set up by a live creator: its setup
-- record names a creator that is not gone (see `creator_gone`).
-- @tparam string home layer home
-- @tparam string id compute system id
-- @treturn boolean
function M.in_setup(home, id)
  local tag = first_line(record_path(home, id))
  return tag ~= nil and not M.creator_gone(";" .. tag)
end

-- The parent layers (the image's after opts.layers, the imported rootfs
-- last) and a prepared sandbox over them.  Returns the ContainerConfig's
-- layer fields.
local function make_layers(opts, id, home, later, image_layers)
  local parents = {}
  for i, p in ipairs(opts.layers or {}) do parents[i] = p end
  for _, p in ipairs(image_layers) do parents[#parents + 1] = p end
  if opts.rootfs then
    local base, err = M.rootfs_layer(home, opts.rootfs)
    if not base then return nil, err end
    table.insert(parents, home .. SEP .. base)
  end
  local parent_id = base_name(parents[1])
  local sb = id .. M.SANDBOX_SUFFIX
  -- the record first: a sandbox is never without it or its system
  write_record(home, id, later)
  local ok, err = layer.create_sandbox_layer(home, sb, parent_id, parents)
  if not ok then return nil, err end
  later(function() layer.destroy_layer(home, sb) end)
  ok, err = layer.activate_layer(home, sb)
  if not ok then return nil, err end
  later(function() layer.deactivate_layer(home, sb) end)
  ok, err = layer.prepare_layer(home, sb, parents)
  if not ok then return nil, err end
  later(function() layer.unprepare_layer(home, sb) end)
  local mount
  mount, err = layer.get_layer_mount_path(home, sb)
  if not mount then return nil, err end
  local cfg = { Name = id, VolumePath = mount, LayerFolderPath = home .. SEP .. sb, Layers = {} }
  for i, p in ipairs(parents) do
    local g
    g, err = guid.name_to_guid(base_name(p))
    if not g then return nil, err end
    cfg.Layers[i] = { ID = g, Path = p }
  end
  return cfg
end

-- The container's endpoint on opts.network (provisioned when a table).
local function make_endpoint(opts, id, pols, later)
  local net, err
  if type(opts.network) == "table" then
    net, err = network.provision(opts.network)
  else
    net, err = network.find(opts.network)
  end
  if not net then return nil, err end
  local ep
  ep, err = hns.create_endpoint({ VirtualNetwork = net.ID, Name = id, Policies = pols or {} })
  if not ep then return nil, err end
  later(function() hns.delete_endpoint(ep.ID) end)
  return ep
end

-- Terminate and close a system, then wait until its id is free (the
-- service forgets a stopped system just after its last handle closed).
local function release(c, id)
  c:terminate()
  c:wait(60)
  c:close()
  system.wait_forgotten(id, 4)
end

-- The sandbox layer `sb`, unmounted and destroyed (each step may already
-- be undone).
local function remove_sandbox(home, sb)
  if not layer.layer_exists(home, sb) then return true end
  layer.unprepare_layer(home, sb)
  layer.deactivate_layer(home, sb)
  return layer.destroy_layer(home, sb)
end

-- An ErrTimeout of run{} when `timeout` seconds passed during `step`.
local function timeout_error(opts, id, step)
  return errors.new({ kind = "container", op = "WaitTimeout", name = "ErrTimeout", id = id,
    message = ("run: timeout of %g s expired during %s"):format(opts.timeout, step) })
end

-- A started container of cfg; its removal waits until the id is free.
-- left() is the time left of run's timeout (nil: none).
local function start_container(id, cfg, later, left)
  local c, err = system.create_container(id, cfg, left())
  if not c then return nil, err end
  later(function() release(c, id) end)
  local ok
  ok, err = c:start(left())
  if not ok then return nil, err end
  return c
end

-- The command's process (over the image's defaults) and its stdio; the
-- create bounded by the run's time left (`left()`).
local function start_process(c, opts, later, defaults, left)
  local pcfg = {}
  for k, v in pairs(defaults or {}) do pcfg[k] = v end
  if not defaults then
    if opts.args then pcfg.CommandArgs = opts.args else pcfg.CommandLine = opts.command end
  end
  pcfg.CreateStdOutPipe, pcfg.CreateStdErrPipe = not opts.detach, not opts.detach
  pcfg.CreateStdInPipe = opts.stdin ~= nil
  -- env, cwd and user given to run{} win over the image's defaults
  local env = environment(opts.env)
  if env then
    local merged = {}
    for k, v in pairs(pcfg.Environment or {}) do merged[k] = v end
    for k, v in pairs(env) do merged[k] = v end
    pcfg.Environment = merged
  end
  pcfg.WorkingDirectory = opts.cwd or pcfg.WorkingDirectory
  pcfg.User = opts.user or pcfg.User
  local p, err = c:create_process(pcfg, left())
  if not p then return nil, err end
  later(function() p:close() end)
  return p, p:stdio()
end

-- The error of a write of p's stdin that failed with `err`.
local function write_error(p, err)
  return errors.new({ kind = "process", op = "Write", id = p:system_id(), pid = p:pid(),
    message = "writing the process's stdin failed: " .. tostring(err) })
end

-- A detached run's stdin, written whole by the deadline.
local function write_stdin(p, input, opts, id, deadline)
  local ok, err = stdio.write_all(input, deadline)
  if ok then return true end
  return nil, err == "timeout" and timeout_error(opts, id, "the write of stdin") or write_error(p, err)
end

-- Output (both streams together, to callbacks as it arrives, while stdin
-- is written), then the exit, by the run's deadline.
local function collect(p, input, stdout, stderr, opts, deadline)
  local sinks = { opts.on_stdout, opts.on_stderr }
  local texts, terr = stdio.read_all({ stdout, stderr }, { n = 2, deadline = deadline, input = input,
    on_chunk = function(i, chunk)
      if not sinks[i] then return false end
      sinks[i](chunk)
      return true
    end })
  if terr == "timeout" then
    return nil, errors.new({ kind = "process", op = "WaitTimeout", name = "ErrTimeout",
      id = p:system_id(), pid = p:pid(), message = "timeout waiting for output: " .. terr })
  elseif not texts then
    return nil, write_error(p, terr)
  end
  local ok, err = p:wait(N.left(deadline))
  if not ok then return nil, err end
  local code, sig, oom = p:exit_code()
  if code == nil then
    return nil, errors.is_error(sig) and sig or errors.new({ message = tostring(sig) })
  end
  return { exit_code = code, signal = sig, oom_killed = oom, stdout = texts[1], stderr = texts[2] }
end

--- Remove what a detached run made for compute system `id`, once its
-- handle is gone (another process, the `hcsshim` command): the compute
-- system (terminated), its sandbox layer `<id>-sandbox` and its endpoints
-- (named `id`).  Parts already gone are skipped.
-- @tparam string id compute system id
-- @tparam[opt] table opts `home` = layer home (default `<data root>/layers`)
-- @treturn true|nil,hcsshim.error the first failure
function M.remove(id, opts)
  local home = opts and opts.home or M.default_home()
  local c = system.open_container(id)
  if c then release(c, id) end
  local ok, err = remove_sandbox(home, id .. M.SANDBOX_SUFFIX)
  os.remove(record_path(home, id))
  local eps = hns.list_endpoints() or {}
  for _, ep in ipairs(eps) do
    if ep.Name == id then
      local dok, derr = hns.delete_endpoint(ep.ID)
      if not dok and ok then ok, err = nil, derr end
    end
  end
  if not ok then return nil, err end
  return true
end


-- Undo functions, last first; each runs once, and one that fails (or
-- raises) does not stop the others.
local function unwind(undo)
  for i = #undo, 1, -1 do
    local f = undo[i]
    undo[i] = nil
    pcall(f)
  end
end

-- The steps of run{} after its options were checked.  Everything made
-- goes on `undo`; a detached run moves it into its handle.
local function steps(opts, pols, undo)
  local id = opts.id or guid.new_guid()
  local home = opts.home or M.default_home()
  local deadline = opts.timeout and (core.monotime() + opts.timeout) or nil
  local function later(f) undo[#undo + 1] = f end
  -- the time left (0 once none is), nil without a timeout
  local function left() return N.left(deadline) end
  -- a step's result, or nil plus ErrTimeout once no time is left
  local function check(step, ok, err)
    if not ok then return nil, err end
    if deadline and core.monotime() >= deadline then return nil, timeout_error(opts, id, step) end
    return ok
  end
  local image_layers, pdefaults = image_parts(opts)
  if not image_layers then return nil, pdefaults end
  local cfg, err = check("the sandbox layer", make_layers(opts, id, home, later, image_layers))
  if not cfg then return nil, err end
  for k, v in pairs(opts.config or {}) do cfg[k] = v end
  set_owner(cfg, opts.detach)
  local ep
  if opts.network then
    ep, err = check("the endpoint", make_endpoint(opts, id, pols, later))
    if not ep then return nil, err end
    cfg.EndpointList = { ep.ID }
  end
  local c
  c, err = check("create and start", start_container(id, cfg, later, left))
  if not c then return nil, err end
  os.remove(record_path(home, id)) -- the system now tells prune the sandbox is in use
  local p, stdin, stdout, stderr = start_process(c, opts, later, pdefaults, left)
  if not p then return nil, stdin end
  -- stdin is fed as the process takes it: a process that answers as it
  -- reads (cat) fills its stdout meanwhile, and a blocking write of all
  -- of it would wait for ever
  local input = opts.stdin and { file = stdin, data = opts.stdin, done = function() p:close_stdin() end }
  if opts.detach and input then
    local ok, werr = write_stdin(p, input, opts, id, deadline)
    if not ok then return nil, werr end
  end
  if opts.detach then
    local mine = table.move(undo, 1, #undo, 1, {})
    for i = #undo, 1, -1 do undo[i] = nil end
    local h = { id = id, container = c, process = p, endpoint = ep }
    --- Terminate the container and remove everything the run made.
    function h.stop() unwind(mine) return true end
    return h
  end
  return collect(p, input, stdout, stderr, opts, deadline)
end

--- Run a command in a new container.
-- @tparam table opts
--  * `layers`: array of read-only layer paths, nearest first; or
--    `rootfs`: a root filesystem tar, imported once as a read-only layer
--    `rootfs-<sha256 of the tar>` and reused by later runs of the same
--    content (`hcsshim.prune` removes it when unused)
--  * `image`: an image name, id or record (`hcsshim.image`): its layers
--    go under `layers`, and its config gives the process its defaults
--    (Entrypoint + Cmd, Env, WorkingDir, User); `command` or `args`, when
--    given, replace Entrypoint + Cmd
--  * `home`: layer home (default `<data root>/layers`; the data root is
--    HCSSHIM_DATA_ROOT, else `/var/lib/hcsshim` on Linux and
--    `%ProgramData%\hcsshim` on Windows)
--  * `command`: CommandLine string, or `args`: CommandArgs array
--  * `env`: environment, `{NAME = "value"}` or `{"NAME=value", ...}`
--    (ProcessConfig Environment)
--  * `cwd`: working directory in the container (WorkingDirectory)
--  * `user`: user name, uid or uid:gid in the container (User)
--  * `network`: a network name, or an HNSNetwork table to provision
--    (`hcsshim.network.provision`); the container gets one endpoint
--  * `ports`: NAT mappings, "8080:80", "5353:53/udp" or
--    `{ExternalPort=, InternalPort=, Protocol=}` (needs a nat network)
--  * `config`: more ContainerConfig fields (MappedDirectories, MemoryMaximumInMB, ...)
--  * `stdin`: text written to the process's stdin as it reads it (while
--    its output is read, so a process that answers as it reads never
--    blocks), then closed; a detached run writes it all before it returns
--  * `on_stdout`, `on_stderr`: `function(chunk)` called with output as it
--    arrives; a stream with a callback is not kept in the result
--  * `id`: compute system id (default a new GUID)
--  * `detach`: return at once with a handle instead of waiting
--  * `timeout`: seconds for the whole run: layers, endpoint, create
--    and start (their waits get the time left), the process, its output
--    and exit (default: forever); on expiry the container is terminated,
--    everything removed, and nil plus an ErrTimeout error returned.  A
--    layer or endpoint step is not cut short: the expiry is seen once it
--    returned.
--
-- Every option is checked before anything is made: a bad or unknown
-- option raises an error and leaves nothing behind.
--
-- stdout and stderr are read together (`hcsshim.stdio.read_all`), so a
-- process may write any amount to either in any order.
-- With `detach` the process's stdout and stderr are not connected (they
-- go to /dev/null, so an unread pipe can never stall a long-running
-- server): redirect inside the command, e.g. to a file in a mapped
-- directory, to keep them.
-- @return without `detach`: `{exit_code=, signal=, oom_killed=, stdout=, stderr=}`
-- (`oom_killed` true when the OOM killer killed the process)
-- (everything is removed before returning); with `detach`: a handle
-- `{id, container, process, endpoint}` whose `stop()` terminates the
-- container and removes everything.  On failure nil and an error, with
-- whatever was made already removed.  A raised error (a callback's, a
-- late bad value) or an interrupt (Ctrl-C in `lua`: "interrupted!") also
-- removes everything made first, then goes on unchanged.
--
-- A run that waits (no `detach`) dies with its creator: its system has
-- TerminateOnLastHandleClosed (unless `config` sets it) and Owner
-- "hcsshim-lua;creator=<boot id>/<pid>/<start time>" (see `creator`), so
-- that `hcsshim.prune` removes what a killed run left.  A detached run
-- has neither: it runs until `stop`, `remove` or its own exit.
function M.run(opts)
  if type(opts) ~= "table" then error("bad argument #1 to 'run' (table expected)", 2) end
  local pols = check_options(opts)
  -- However the steps end (a result, a failure, a raised error, an
  -- interrupt), what they made and did not hand over is removed; a raised
  -- error goes on unchanged, with its traceback.
  local undo = {}
  local _ <close> = setmetatable({}, { __close = function() unwind(undo) end })
  return steps(opts, pols, undo)
end

return M
