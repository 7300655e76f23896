--- The commit workflow (Linux): a sandbox layer's changes become a new
-- read-only layer (as `docker commit` does for a container's layer), on
-- which further containers run.  It exports the sandbox's diff as an OCI
-- layer tar (`export_layer`) and imports that over the same parents
-- (`import_layer`); the tar is kept only when asked for.  The runtime's
-- mount stubs (/etc/hosts, /etc/resolv.conf, ... made empty when the image
-- lacked them) are not changes and stay out of the commit.
-- @module hcsshim.commit
local errors = require "hcsshim.error"
local json = require "hcsshim.json"
local layer = require "hcsshim.layer"

local M = {}

local function data_root() return os.getenv("HCSSHIM_DATA_ROOT") or "/var/lib/hcsshim" end

local function bad(msg) error("hcsshim.commit: " .. msg, 3) end

-- The parent layer paths a sandbox was created over (its layerchain.json).
local function parents_of(home, sandbox)
  local path = home .. "/" .. sandbox .. "/layerchain.json"
  local f = io.open(path)
  if not f then
    return nil, errors.hcs("ExportLayer", "id=" .. sandbox, errors.hresult.E_NOT_FOUND,
      nil, "no such sandbox layer in " .. home)
  end
  local text = f:read("a")
  f:close()
  local chain, err = json.decode(text)
  if type(chain) ~= "table" then return nil, err or ("bad " .. path) end
  return chain
end

--- Commit a sandbox's changes as a new read-only layer.
-- @tparam table opts
--  * `container`: a detached run handle (`hcsshim.run{detach = true}`),
--    whose sandbox is committed (the container is paused meanwhile, as
--    `docker commit` does); or `sandbox`: a sandbox layer id
--  * `layer`: the new layer's id (default `<sandbox>-commit`)
--  * `home`: layer home (default `<data root>/layers`)
--  * `tar`: keep the exported OCI layer tar at this path
--  * `timeout`: seconds for pause and resume (hcsshim's default otherwise)
-- @treturn table|nil,hcsshim.error `{id=, path=, size= (bytes of file
-- data), layers = {path, parents...}}`: `layers` is ready for
-- `hcsshim.run{layers = ...}`.  On failure nothing new is left behind.
function M.commit(opts)
  if type(opts) ~= "table" then bad("an options table expected") end
  local sandbox = opts.sandbox or (type(opts.container) == "table" and opts.container.id
    and opts.container.id .. "-sandbox")
  if type(sandbox) ~= "string" then bad("`container` (a run handle) or `sandbox` (an id) expected") end
  local home = opts.home or data_root() .. "/layers"
  local id = opts.layer or sandbox .. "-commit"
  local parents, err = parents_of(home, sandbox)
  if not parents then return nil, err end
  local tar = opts.tar or string.format("%s/.commit-%s.tar", home, id)
  local c = type(opts.container) == "table" and opts.container.container
  if c then
    local ok, perr = c:pause(opts.timeout)
    if not ok then return nil, perr end
  end
  local size
  size, err = layer.export_layer(home, sandbox, tar, parents)
  if c then
    local ok, rerr = c:resume(opts.timeout)
    if size and not ok then size, err = nil, rerr end
  end
  local imported
  if size then imported, err = layer.import_layer(home, id, tar, parents) end
  if not opts.tar then os.remove(tar) end
  if not imported then return nil, err end
  local out = { id = id, path = home .. "/" .. id, size = size, layers = { home .. "/" .. id } }
  for _, p in ipairs(parents) do out.layers[#out.layers + 1] = p end
  return out
end

return M
