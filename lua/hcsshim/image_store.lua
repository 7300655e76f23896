--- Image records of a layer home: one JSON file per image name in
-- `<home>/.images/` (layer ids never start with ".", so the folder can
-- never be taken for a layer), each replaced atomically (temp file,
-- fsync, rename), so a crash leaves the old record or the new one.
-- Also what the layers of a home are used by: records and sandboxes
-- (a sandbox's `layerchain.json`, docker's file of its parent paths).
-- @module hcsshim.image_store
local core = require "hcsshim.core"
local json = require "hcsshim.json"

local M = {}

--- The record folder of a layer home.
-- @tparam string home
-- @treturn string
function M.dir(home) return home .. "/.images" end

--- The record file of an image name (or of an untagged image's id).
-- @tparam string home
-- @tparam string key image name, or config digest when untagged
-- @treturn string
function M.path(home, key) return M.dir(home) .. "/" .. core.sha256(key):sub(8) .. ".json" end

--- Writes a record (atomically).
-- @tparam string home
-- @tparam table rec
-- @treturn true|nil,string
function M.write(home, rec)
  local ok, err = core.make_dirs(M.dir(home))
  if not ok then return nil, err end
  local text = assert(json.encode(rec))
  return core.write_file_atomic(M.path(home, rec.name or rec.id), text)
end

--- Removes a record.
-- @tparam string home
-- @tparam table rec
-- @treturn true|nil,string
function M.delete(home, rec)
  local ok, err = os.remove(M.path(home, rec.name or rec.id))
  if not ok then return nil, err end
  return true
end

--- Every record of a home, sorted by name (untagged ones by id, last).
-- @tparam string home
-- @treturn table array of records
function M.all(home)
  local out = {}
  for _, n in ipairs(core.list_dir(M.dir(home)) or {}) do
    if n:match("^%x+%.json$") then
      local f = io.open(M.dir(home) .. "/" .. n)
      local rec = f and json.decode(f:read("a"))
      if f then f:close() end
      if type(rec) == "table" and rec.id then out[#out + 1] = rec end
    end
  end
  table.sort(out, function(a, b)
    if (a.name == nil) ~= (b.name == nil) then return a.name ~= nil end
    return (a.name or a.id) < (b.name or b.id)
  end)
  return out
end

--- Records that a reference names: an image name ("localhost/x:1",
-- "x:1", "x" for "x:latest", matched also after the last "/"), or an
-- image id ("sha256:<hex>", or at least 12 leading hex digits).
-- @tparam string home
-- @tparam string ref
-- @treturn table array of records (empty when none)
function M.find(home, ref)
  local all = M.all(home)
  local function by(pred)
    local out = {}
    for _, r in ipairs(all) do if pred(r) then out[#out + 1] = r end end
    return out
  end
  local tagged = ref:find(":[^/]*$") and ref or ref .. ":latest"
  for _, want in ipairs({ ref, tagged }) do
    local hit = by(function(r) return r.name == want end)
    if #hit > 0 then return hit end
    hit = by(function(r) return r.name and r.name:sub(-#want - 1) == "/" .. want end)
    if #hit == 1 then return hit end
  end
  local hex = ref:match("^sha256:(%x+)$") or ref:match("^(%x+)$")
  if hex and #hex >= 12 then
    return by(function(r) return r.id:sub(8, 7 + #hex) == hex:lower() end)
  end
  return {}
end

--- Layer ids of `home` in use: by any record, and by any sandbox (the
-- parents in its layerchain.json).
-- @tparam string home
-- @treturn table set of layer ids
function M.layers_in_use(home)
  local used = {}
  for _, rec in ipairs(M.all(home)) do
    for _, c in ipairs(rec.chain_ids or {}) do used[c:sub(8)] = true end
  end
  for _, n in ipairs(core.list_dir(home) or {}) do
    local f = n:sub(1, 1) ~= "." and io.open(home .. "/" .. n .. "/layerchain.json")
    if f then
      local chain = json.decode(f:read("a"))
      f:close()
      for _, p in ipairs(type(chain) == "table" and chain or {}) do
        if type(p) == "string" then used[p:gsub("[\\/]+$", ""):match("([^\\/]+)$") or p] = true end
      end
    end
  end
  return used
end

return M
