--- The run workflow: sandbox layer + container (+ endpoint) + process,
-- and everything removed again afterwards.
-- @module hcsshim.run
local hcsshim = require "hcsshim"
local hns = require "hcsshim.hns"
local network = require "hcsshim.network"
local errors = require "hcsshim.error"

local M = {}

local function data_root() return os.getenv("HCSSHIM_DATA_ROOT") or "/var/lib/hcsshim" end

--- Run a command in a new container.
-- @tparam table opts
--  * `layers`: array of read-only layer paths, nearest first; or
--    `rootfs`: a root filesystem tar imported as a temporary base layer
--  * `image`: an image name, id or record (`hcsshim.image`): its layers
--    go under `layers`, and its config gives the process its defaults
--    (Entrypoint + Cmd, Env, WorkingDir, User); `command` or `args`, when
--    given, replace Entrypoint + Cmd
--  * `home`: layer home (default `<data root>/layers`)
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
  local id = opts.id or hcsshim.new_guid()
  local home = opts.home or (data_root() .. "/layers")
  local undo = {}
  local function later(f) undo[#undo + 1] = f end
  local function unwind()
    for i = #undo, 1, -1 do pcall(undo[i]) end
    undo = {}
  end
  local function fail(err) unwind() return nil, err end

  -- every option, before the first layer call
  if not opts.layers and not opts.rootfs and not opts.image then error("run: `layers`, `rootfs` or `image` is required", 2) end
  if opts.layers ~= nil and type(opts.layers) ~= "table" then error("run: `layers` must be an array of layer paths", 2) end
  if opts.rootfs == nil and opts.image == nil and #opts.layers == 0 then error("run: `layers`, `rootfs` or `image` is required", 2) end
  if opts.command == nil and opts.args == nil and opts.image == nil then error("run: `command` or `args` is required", 2) end
  if opts.network ~= nil and type(opts.network) ~= "table" and type(opts.network) ~= "string" then
    error("run: `network` must be a network name or id, or an HNSNetwork table", 2)
  end
  if opts.timeout ~= nil and (type(opts.timeout) ~= "number" or opts.timeout < 0) then
    error("run: `timeout` must be a number of seconds", 2)
  end
  local pols
  if opts.ports ~= nil then
    if not opts.network then error("run: `ports` needs a `network`", 2) end
    if type(opts.ports) ~= "table" then error("run: `ports` must be an array", 2) end
    local perr
    pols, perr = network.nat_policies(opts.ports)
    if not pols then error("run: " .. perr, 2) end
  end

  local parents = {}
  for i, p in ipairs(opts.layers or {}) do parents[i] = p end
  local img, pdefaults
  if opts.image then
    local image = require "hcsshim.image"
    local ierr
    img, ierr = image.inspect(opts.image, { home = opts.home })
    if img then pdefaults, ierr = image.process_config(img, { CommandLine = opts.command, CommandArgs = opts.args }) end
    if not pdefaults then return nil, ierr end
    for _, p in ipairs(image.layers(img)) do parents[#parents + 1] = p end
  end
  if opts.rootfs then
    local base = id .. "-base"
    local ok, err = hcsshim.import_layer(home, base, opts.rootfs)
    if not ok then return fail(err) end
    later(function() hcsshim.destroy_layer(home, base) end)
    table.insert(parents, home .. "/" .. base)
  end
  local parent_id = parents[1]:match("([^/]+)$")
  local sb = id .. "-sandbox"
  local ok, err = hcsshim.create_sandbox_layer(home, sb, parent_id, parents)
  if not ok then return fail(err) end
  later(function() hcsshim.destroy_layer(home, sb) end)
  ok, err = hcsshim.activate_layer(home, sb)
  if not ok then return fail(err) end
  later(function() hcsshim.deactivate_layer(home, sb) end)
  ok, err = hcsshim.prepare_layer(home, sb, parents)
  if not ok then return fail(err) end
  later(function() hcsshim.unprepare_layer(home, sb) end)
  local mount
  mount, err = hcsshim.get_layer_mount_path(home, sb)
  if not mount then return fail(err) end

  local cfg = { Name = id, VolumePath = mount, LayerFolderPath = home .. "/" .. sb, Layers = {} }
  for i, p in ipairs(parents) do cfg.Layers[i] = { ID = hcsshim.name_to_guid(p:match("([^/]+)$")), Path = p } end
  for k, v in pairs(opts.config or {}) do cfg[k] = v end

  local ep
  if opts.network then
    local net
    if type(opts.network) == "table" then net, err = network.provision(opts.network)
    else
      net, err = hns.get_network_by_name(opts.network)
      if not net then net, err = hns.get_network(opts.network) end
    end
    if not net then return fail(err) end
    ep, err = hns.create_endpoint({ VirtualNetwork = net.ID, Name = id, Policies = pols or {} })
    if not ep then return fail(err) end
    later(function() hns.delete_endpoint(ep.ID) end)
    cfg.EndpointList = { ep.ID }
  end

  local c
  c, err = hcsshim.create_container(id, cfg)
  if not c then return fail(err) end
  later(function()
    c:terminate()
    c:wait(60)
    c:close()
    for _ = 1, 200 do -- the system is gone once its last handle closed
      local h = hcsshim.open_container(id)
      if not h then break end
      h:close()
      os.execute("sleep 0.02")
    end
  end)
  ok, err = c:start()
  if not ok then return fail(err) end
  local pcfg = { CreateStdOutPipe = not opts.detach, CreateStdErrPipe = not opts.detach, CreateStdInPipe = opts.stdin ~= nil }
  if opts.args then pcfg.CommandArgs = opts.args else pcfg.CommandLine = opts.command end
  for k, v in pairs(pdefaults or {}) do pcfg[k] = v end
  local p
  p, err = c:create_process(pcfg)
  if not p then return fail(err) end
  later(function() p:close() end)
  local stdin, stdout, stderr = p:stdio()
  if opts.stdin then
    stdin:write(opts.stdin)
    p:close_stdin()
  end
  if opts.detach then
    local h = { id = id, container = c, process = p, endpoint = ep }
    --- Terminate the container and remove everything the run made.
    function h.stop() unwind() return true end
    return h
  end
  local out = stdout and stdout:read("a") or ""
  local errtext = stderr and stderr:read("a") or ""
  ok, err = p:wait(opts.timeout)
  if not ok then return fail(err) end
  local code, sig = p:exit_code()
  unwind()
  if code == nil then return nil, errors.is_error(sig) and sig or errors.new({ message = tostring(sig) }) end
  return { exit_code = code, signal = sig, stdout = out, stderr = errtext }
end

return M
