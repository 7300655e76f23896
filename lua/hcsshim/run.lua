--- The run workflow: sandbox layer + container (+ endpoint) + process,
-- and everything removed again afterwards.
-- @module hcsshim.run
local layer = require "hcsshim.layer"
local system = require "hcsshim.system"
local guid = require "hcsshim.guid"
local hns = require "hcsshim.hns"
local network = require "hcsshim.network"
local errors = require "hcsshim.error"
local core = require "hcsshim.core"

local M = {}

local SEP, base_name = layer._SEP, layer._base_name

-- Every option, before the first layer call: a bad one raises (at the
-- caller of run) and nothing is made.  Returns the NAT policies of `ports`.
local function check_options(opts)
  local function bad(msg) error("run: " .. msg, 4) end
  if not opts.layers and not opts.rootfs and not opts.image then
    bad("`layers`, `rootfs` or `image` is required")
  end
  if opts.layers ~= nil and type(opts.layers) ~= "table" then
    bad("`layers` must be an array of layer paths")
  end
  if opts.rootfs == nil and opts.image == nil and #opts.layers == 0 then
    bad("`layers`, `rootfs` or `image` is required")
  end
  if opts.command == nil and opts.args == nil and opts.image == nil then
    bad("`command` or `args` is required")
  end
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

-- The parent layers (the image's after opts.layers, the imported rootfs
-- last) and a prepared sandbox over them.  Returns the ContainerConfig's
-- layer fields.
local function make_layers(opts, id, home, later, image_layers)
  local parents = {}
  for i, p in ipairs(opts.layers or {}) do parents[i] = p end
  for _, p in ipairs(image_layers) do parents[#parents + 1] = p end
  if opts.rootfs then
    local base = id .. "-base"
    local ok, err = layer.import_layer(home, base, opts.rootfs)
    if not ok then return nil, err end
    later(function() layer.destroy_layer(home, base) end)
    table.insert(parents, home .. SEP .. base)
  end
  local parent_id = base_name(parents[1])
  local sb = id .. "-sandbox"
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
    net, err = hns.get_network_by_name(opts.network)
    -- a network id is a GUID; a name that is none stays "not found"
    if not net and guid.parse_guid(opts.network) then net, err = hns.get_network(opts.network) end
  end
  if not net then return nil, err end
  local ep
  ep, err = hns.create_endpoint({ VirtualNetwork = net.ID, Name = id, Policies = pols or {} })
  if not ep then return nil, err end
  later(function() hns.delete_endpoint(ep.ID) end)
  return ep
end

-- A started container of cfg; its removal waits until the id is free.
local function start_container(id, cfg, later)
  local c, err = system.create_container(id, cfg)
  if not c then return nil, err end
  later(function()
    c:terminate()
    c:wait(60)
    c:close()
    for _ = 1, 200 do -- the system is gone once its last handle closed
      local h = system.open_container(id)
      if not h then break end
      h:close()
      core.sleep(0.02)
    end
  end)
  local ok
  ok, err = c:start()
  if not ok then return nil, err end
  return c
end

-- The command's process (over the image's defaults), its stdin written
-- and closed.
local function start_process(c, opts, later, defaults)
  local pcfg = { CreateStdOutPipe = not opts.detach, CreateStdErrPipe = not opts.detach,
    CreateStdInPipe = opts.stdin ~= nil }
  if opts.args then pcfg.CommandArgs = opts.args else pcfg.CommandLine = opts.command end
  for k, v in pairs(defaults or {}) do pcfg[k] = v end
  local p, err = c:create_process(pcfg)
  if not p then return nil, err end
  later(function() p:close() end)
  local stdin, stdout, stderr = p:stdio()
  if opts.stdin then
    stdin:write(opts.stdin)
    p:close_stdin()
  end
  return p, stdout, stderr
end

-- Output, then the exit; everything is removed before returning.
local function collect(p, stdout, stderr, opts, fail, unwind)
  local out = stdout and stdout:read("a") or ""
  local errtext = stderr and stderr:read("a") or ""
  local ok, err = p:wait(opts.timeout)
  if not ok then return fail(err) end
  local code, sig = p:exit_code()
  unwind()
  if code == nil then
    return nil, errors.is_error(sig) and sig or errors.new({ message = tostring(sig) })
  end
  return { exit_code = code, signal = sig, stdout = out, stderr = errtext }
end

--- Run a command in a new container.
-- @tparam table opts
--  * `layers`: array of read-only layer paths, nearest first; or
--    `rootfs`: a root filesystem tar imported as a temporary base layer
--  * `image`: an image name, id or record (`hcsshim.image`): its layers
--    go under `layers`, and its config gives the process its defaults
--    (Entrypoint + Cmd, Env, WorkingDir, User); `command` or `args`, when
--    given, replace Entrypoint + Cmd
--  * `home`: layer home (default `<data root>/layers`; the data root is
--    HCSSHIM_DATA_ROOT, else `/var/lib/hcsshim` on Linux and
--    `%ProgramData%\hcsshim` on Windows)
--  * `command`: CommandLine string, or `args`: CommandArgs array
--  * `network`: a network name, or an HNSNetwork table to provision
--    (`hcsshim.network.provision`); the container gets one endpoint
--  * `ports`: NAT mappings, "8080:80", "5353:53/udp" or
--    `{ExternalPort=, InternalPort=, Protocol=}` (needs a nat network)
--  * `config`: more ContainerConfig fields (MappedDirectories, MemoryMaximumInMB, ...)
--  * `stdin`: text written to the process's stdin
--  * `id`: compute system id (default a new GUID)
--  * `detach`: return at once with a handle instead of waiting
--  * `timeout`: seconds to wait for the process to exit once its output
--    is read (default: forever); on expiry the container is terminated,
--    everything removed, and nil plus the ErrTimeout error returned
--
-- Every option is checked before anything is made: a bad option raises
-- an error and leaves nothing behind.
--
-- Output is read one pipe after the other: all of stdout (until the
-- process closes it, normally at exit), then all of stderr.  A process
-- that writes more than a pipe's worth (64 KiB) to stderr while keeping
-- stdout open blocks on that write, and the run never returns; merge the
-- streams in the command (`sh -c '... 2>&1'`) for such processes.
-- `timeout` bounds only the wait for exit after the output was read.
-- With `detach` the process's stdout and stderr are not connected (they
-- go to /dev/null, so an unread pipe can never stall a long-running
-- server): redirect inside the command, e.g. to a file in a mapped
-- directory, to keep them.
-- @return without `detach`: `{exit_code=, signal=, stdout=, stderr=}`
-- (everything is removed before returning); with `detach`: a handle
-- `{id, container, process, endpoint}` whose `stop()` terminates the
-- container and removes everything.  On failure nil and an error, with
-- whatever was made already removed.
function M.run(opts)
  if type(opts) ~= "table" then error("bad argument #1 to 'run' (table expected)", 2) end
  local id = opts.id or guid.new_guid()
  local home = opts.home or layer._default_home()
  local undo = {}
  local function later(f) undo[#undo + 1] = f end
  local function unwind()
    for i = #undo, 1, -1 do pcall(undo[i]) end
    undo = {}
  end
  local function fail(err) unwind() return nil, err end

  local pols = check_options(opts)
  local image_layers, pdefaults = image_parts(opts)
  if not image_layers then return nil, pdefaults end
  local cfg, err = make_layers(opts, id, home, later, image_layers)
  if not cfg then return fail(err) end
  for k, v in pairs(opts.config or {}) do cfg[k] = v end
  local ep
  if opts.network then
    ep, err = make_endpoint(opts, id, pols, later)
    if not ep then return fail(err) end
    cfg.EndpointList = { ep.ID }
  end
  local c
  c, err = start_container(id, cfg, later)
  if not c then return fail(err) end
  local p, stdout, stderr = start_process(c, opts, later, pdefaults)
  if not p then return fail(stdout) end
  if opts.detach then
    local h = { id = id, container = c, process = p, endpoint = ep }
    --- Terminate the container and remove everything the run made.
    function h.stop() unwind() return true end
    return h
  end
  return collect(p, stdout, stderr, opts, fail, unwind)
end

return M
