--- Remove what hcsshim for Lua left behind: compute systems made by
-- `hcsshim.run` (Owner "hcsshim-lua...") that are abandoned, sandbox
-- layers of `run` whose compute system is gone, cached `rootfs-<sha256>`
-- layers no sandbox uses, and endpoints of vanished containers.  Only
-- things recognisably ours: other owners' systems and layers with other
-- names are never touched.
--
-- Abandoned means: stopped; or running with a creator tag in its Owner
-- ("...;creator=<boot id>/<pid>/<start time>", see `hcsshim.run.creator`)
-- whose process is gone, which is what a killed `run{}` that waited for its
-- process leaves.  A detached run records no creator: it is kept while it
-- runs, whoever made it.  A sandbox layer without its system is abandoned
-- unless a live `run{}` is still setting it up (`hcsshim.run.in_setup`).
-- @module hcsshim.prune
local system = require "hcsshim.system"
local layer = require "hcsshim.layer"
local hns = require "hcsshim.hns"
local json = require "hcsshim.json"
local run = require "hcsshim.run"

local M = {}

local function ours(props)
  return (json.get(props, "Owner") or ""):sub(1, #run.OWNER) == run.OWNER
end

local function prune_systems(home, removed)
  local list, err = system.get_containers({})
  if not list then return nil, err end
  for _, s in ipairs(list) do
    if ours(s) and (json.get(s, "State") == "Stopped" or run.creator_gone(json.get(s, "Owner"))) then
      local id = json.get(s, "Id")
      if run.remove(id, { home = home }) then removed[#removed + 1] = id end
    end
  end
  return true
end

local function exists(id)
  local c = system.open_container(id)
  if c then c:close() end
  return c ~= nil
end

-- Sandboxes first (they hold the cached layers), then the cache; a layer
-- still in use refuses to be destroyed and is kept.
local function prune_layers(home, removed)
  local ids, err = layer.list_layers(home)
  if not ids then return nil, err end
  for _, id in ipairs(ids) do
    local owner = id:match("^(.+)" .. run.SANDBOX_SUFFIX:gsub("%-", "%%-") .. "$")
    -- the record before the system: a run removes its record only once its
    -- system exists, so the other order could miss both
    if owner and not run.in_setup(home, owner) and not exists(owner) and run.remove(owner, { home = home }) then
      removed[#removed + 1] = id
    end
  end
  for _, id in ipairs(ids) do
    if id:match("^" .. run.ROOTFS_PREFIX:gsub("%-", "%%-") .. "%x+$") and layer.destroy_layer(home, id) then
      removed[#removed + 1] = id
    end
  end
  return true
end

--- Remove what is ours and no longer used.
-- @tparam[opt] table opts `home` = layer home (default `<data root>/layers`)
-- @treturn table|nil,hcsshim.error `{Containers = {ids}, Layers = {ids},
-- Endpoints = {ids}}`: what was removed
function M.prune(opts)
  local home = opts and opts.home or run.default_home()
  local r = { Containers = {}, Layers = {}, Endpoints = {} }
  local ok, err = prune_systems(home, r.Containers)
  if not ok then return nil, err end
  ok, err = prune_layers(home, r.Layers)
  if not ok then return nil, err end
  local eps
  eps, err = hns.cleanup()
  if not eps then return nil, err end
  r.Endpoints = eps
  return r
end

return M
