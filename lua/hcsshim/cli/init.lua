--- The `hcsshim` command: argument parsing (lua-argparse) and dispatch.
-- Every subcommand stands on the public Lua API (`require "hcsshim"`),
-- takes `--json` for machine output, and exits as docker does: 125 when
-- the tool fails, 126 when the command cannot be invoked, 127 when it is
-- not found, otherwise the process's own exit code.
-- @module hcsshim.cli
local argparse = require "argparse"
local out = require "hcsshim.cli.out"

local M = {}

local function common(cmd)
  cmd:flag("--json", "Machine output: one JSON document on stdout.")
  cmd:option("--home", "Layer home (default <data root>/layers).")
  return cmd
end

local function process_options(cmd)
  cmd:option("-e --env", "Environment variable NAME=value."):count("*")
  cmd:option("-w --workdir", "Working directory in the container.")
  cmd:option("-u --user", "User name, uid or uid:gid in the container.")
  cmd:flag("-i --interactive", "Copy stdin to the process.")
end

local function containers(p)
  common(p:command("ps", "List compute systems.")):flag("-a --all", "Include stopped ones.")
  common(p:command("inspect", "Properties of compute systems (JSON).")):argument("id"):args("+")
  common(p:command("stats", "Statistics of compute systems.")):argument("id"):args("+")
  common(p:command("top", "Processes of a compute system.")):argument("id")
  local stop = common(p:command("stop", "Shut compute systems down (terminate after --time)."))
  stop:option("-t --time", "Seconds to wait for the shutdown."):default("10"):convert(tonumber)
  stop:argument("id"):args("+")
  common(p:command("kill", "Terminate compute systems.")):argument("id"):args("+")
  local rm = common(p:command("rm", "Remove containers made by `run` (system, sandbox, endpoint)."))
  rm:flag("-f --force", "Terminate a running one first.")
  rm:argument("id"):args("+")
  local exec = common(p:command("exec", "Run a process in a running compute system."))
  process_options(exec)
  exec:argument("id")
  exec:argument("command"):args("+")
end

local function run(p)
  local r = common(p:command("run", "Run a command in a new container."))
  process_options(r)
  r:option("--image", "Image name (needs hcsshim.image).")
  r:option("--rootfs", "Root filesystem tar (imported once, reused by content digest).")
  r:option("--layer", "Read-only layer path, nearest first."):count("*")
  r:option("-p --publish", "Publish a port, HOST:CONTAINER[/udp] (needs --network)."):count("*")
  r:option("--network", "Network name or id to join.")
  r:option("--name", "Compute system id (default a new GUID).")
  r:flag("-d --detach", "Leave it running and print its id.")
  r:flag("--rm", "With -d: `hcsshim stop` also removes it (without -d it is always removed).")
  r:argument("command", "Command and arguments (with --image: default the image's own)."):args("*")
end

local function networks(p)
  local n = p:command("network", "HNS networks."):command_target("sub")
  common(n:command("ls", "List networks."))
  local c = common(n:command("create", "Create a network."))
  c:option("--type", "nat, internal, private, transparent, l2bridge."):default("nat")
  c:option("--subnet", "Address prefix, e.g. 172.30.0.0/24.")
  c:option("--gateway", "Gateway address.")
  c:option("--adapter", "NetworkAdapterName (transparent, l2bridge).")
  c:argument("name")
  common(n:command("inspect", "Network documents (JSON).")):argument("network"):args("+")
  local rm = common(n:command("rm", "Delete networks."))
  rm:flag("-f --force", "Delete their endpoints too.")
  rm:argument("network"):args("+")
  local e = p:command("endpoint", "HNS endpoints."):command_target("sub")
  common(e:command("ls", "List endpoints."))
  common(e:command("rm", "Delete endpoints.")):argument("endpoint"):args("+")
end

local function layers(p)
  local l = p:command("layer", "Image layers."):command_target("sub")
  common(l:command("ls", "List layers."))
  local i = common(l:command("import", "Import a layer tar (progress on stderr)."))
  i:option("--parent", "Parent layer path, nearest first."):count("*")
  i:argument("tar")
  i:argument("id")
  local x = common(l:command("export", "Export a layer to a folder."))
  x:option("--parent", "Parent layer path, nearest first."):count("*")
  x:argument("id")
  x:argument("folder")
  common(l:command("rm", "Destroy layers.")):argument("id"):args("+")
  local im = p:command("image", "Images (needs hcsshim.image)."):command_target("sub")
  common(im:command("import", "Import an OCI or docker archive.")):argument("archive")
  common(im:command("ls", "List images."))
  common(im:command("rm", "Remove images.")):argument("image"):args("+")
  common(p:command("prune", "Remove stopped containers, unused sandboxes and cached layers, stale endpoints."))
end

--- The argument parser.
function M.parser()
  local p = argparse("hcsshim", "Containers, processes, networks and layers through the Host Compute Service API.")
  p:command_target("cmd")
  p:require_command(true)
  containers(p)
  run(p)
  networks(p)
  layers(p)
  return p
end

-- Options that take a value, per command whose trailing words are a
-- command line (docker's `run IMAGE CMD -flags` habit: flags after the
-- command's first word belong to the command).
local takes_value = {
  run = { ["-e"] = 1, ["--env"] = 1, ["-w"] = 1, ["--workdir"] = 1, ["-u"] = 1, ["--user"] = 1,
    ["-p"] = 1, ["--publish"] = 1, ["--network"] = 1, ["--name"] = 1, ["--rootfs"] = 1,
    ["--layer"] = 1, ["--image"] = 1, ["--home"] = 1 },
  exec = { ["-e"] = 1, ["--env"] = 1, ["-w"] = 1, ["--workdir"] = 1, ["-u"] = 1, ["--user"] = 1,
    ["--home"] = 1 },
}
local leading_positionals = { run = 0, exec = 1 }

-- A copy of argv with "--" before the command line of run/exec.
local function split_command(argv)
  local cmd = argv[1]
  local values = takes_value[cmd]
  local args = table.move(argv, 1, #argv, 1, {})
  if not values then return args end
  local skip, i = leading_positionals[cmd], 2
  while i <= #args do
    local a = args[i]
    if a == "--" then return args end
    if a:sub(1, 1) == "-" and #a > 1 then
      if values[a] then i = i + 1 end
    elseif skip > 0 then
      skip = skip - 1
    else
      table.insert(args, i, "--")
      return args
    end
    i = i + 1
  end
  return args
end

local handlers = {
  ps = "containers", inspect = "containers", stats = "containers", top = "containers",
  exec = "containers", stop = "containers", kill = "containers", rm = "containers",
  run = "run", network = "net", endpoint = "net", layer = "layers", image = "layers",
  prune = "layers",
}

local function dispatch(a)
  local mod = require("hcsshim.cli." .. handlers[a.cmd])
  local name = a.sub and (a.cmd .. "_" .. a.sub) or a.cmd
  return mod[name](a)
end

--- Run the command.
-- @tparam table argv the arguments (Lua's `arg`)
-- @treturn integer the exit code
function M.main(argv)
  local ok, a = M.parser():pparse(split_command(argv))
  if not ok then
    io.stderr:write("hcsshim: ", a, "\nSee 'hcsshim --help'.\n")
    return out.TOOL
  end
  local done, code = pcall(dispatch, a)
  if done then return code end
  local msg = type(code) == "table" and code.cli_failure and code.message or tostring(code)
  io.stderr:write("hcsshim: ", msg, "\n")
  return type(code) == "table" and code.code or out.TOOL
end

return M
