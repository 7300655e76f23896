--- `hcsshim run`: a command in a new container (`hcsshim.run{}`).
-- @module hcsshim.cli.run
local hcsshim = require "hcsshim"
local out = require "hcsshim.cli.out"
local containers = require "hcsshim.cli.containers"

local M = {}

-- run{} options of -e, -w, -u, -p, --network, layers or rootfs.
local function options(a)
  local opts = { args = #a.command > 0 and a.command or nil, cwd = a.workdir, user = a.user, network = a.network,
    detach = a.detach or nil, id = a.name, home = a.home }
  if #a.env > 0 then opts.env = containers.process_fields(a, {}).Environment end
  if #a.publish > 0 then opts.ports = a.publish end
  opts.config = { Owner = a.rm and "hcsshim-lua;rm" or "hcsshim-lua" }
  local sources = (a.rootfs and 1 or 0) + (#a.layer > 0 and 1 or 0) + (a.image and 1 or 0)
  if sources ~= 1 then out.fail("run needs exactly one of --image, --rootfs or --layer") end
  if a.image then
    local ok = pcall(require, "hcsshim.image")
    if not ok then out.fail("--image needs the hcsshim.image module, which is not installed") end
    opts.image = a.image
  end
  opts.rootfs = a.rootfs
  if #a.layer > 0 then opts.layers = a.layer end
  if a.interactive then opts.stdin = io.stdin:read("a") end
  return opts
end

local function failure_code(err)
  if type(err) == "table" and err.op == "CreateProcess" then return out.invoke_code(err) end
  return out.TOOL
end

--- `hcsshim run`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.run(a)
  local opts = options(a)
  if not a.detach and not a.json then
    opts.on_stdout = function(chunk) io.stdout:write(chunk) io.stdout:flush() end
    opts.on_stderr = function(chunk) io.stderr:write(chunk) io.stderr:flush() end
  end
  local ok, r, err = pcall(hcsshim.run, opts)
  if not ok then out.fail(r) end -- a bad option
  if not r then out.fail(err, failure_code(err)) end
  if a.detach then
    -- the container keeps running; `hcsshim stop`/`rm` remove it later
    r.process:close()
    r.container:close()
    out.emit(a, { Id = r.id }, function(d) io.stdout:write(d.Id, "\n") end)
    return 0
  end
  if a.json then
    out.emit(a, { ExitCode = r.exit_code, Signal = r.signal, Stdout = r.stdout, Stderr = r.stderr })
  end
  return r.exit_code
end

return M
