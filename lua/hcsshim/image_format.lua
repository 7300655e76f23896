--- Which image format a path holds: an OCI image layout (a folder or a
-- tar with `oci-layout`, `index.json` and `blobs/sha256/`), an
-- oci-archive, or a docker-archive (`docker save`, `podman save`:
-- `manifest.json`, a config, layer tars).  A layer tar is none of them.
-- Shared by `hcsshim.image` and the guard of `import_layer`.
-- @module hcsshim.image_format
local core = require "hcsshim.core"

local M = {}

local HEX = string.rep("%x", 64)

-- the only names an image archive holds (after "./" and trailing "/" are
-- dropped); the first other name shows a layer tar, so a layer is told
-- apart after reading one header
local VOCABULARY = {
  "^$", "^oci%-layout$", "^index%.json$", "^manifest%.json$", "^repositories$",
  "^blobs$", "^blobs/[%w]+$", "^blobs/[%w]+/%x+$",
  "^" .. HEX .. "$", "^" .. HEX .. "%.json$", "^" .. HEX .. "%.tar$",
  "^" .. HEX .. "/layer%.tar$", "^" .. HEX .. "/json$", "^" .. HEX .. "/VERSION$",
}

--- An archive member name without "./" prefixes, doubled or trailing "/".
-- @tparam string name
-- @treturn string
function M.clean_name(name)
  name = name:gsub("/+", "/"):gsub("^%./", "")
  while name:sub(1, 2) == "./" do name = name:sub(3) end
  return (name:gsub("/$", ""):gsub("^%.$", ""))
end

local function in_vocabulary(name)
  for _, pat in ipairs(VOCABULARY) do
    if name:find(pat) then return true end
  end
  return false
end

--- Whether `path` is a folder.
-- @tparam string path
-- @treturn boolean
function M.is_dir(path)
  local f = io.open(path .. "/.")
  if f then f:close() end
  return f ~= nil
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

--- The format of `path`.
-- @tparam string path a folder or a file
-- @treturn string|nil "oci-layout" (a folder), "oci-archive" (a tar with
-- `oci-layout` and `index.json`), "docker-archive" (a tar, or a folder
-- from an unpacked one, with `manifest.json`), or nil for anything else
-- (a layer tar, an unreadable file)
function M.detect(path)
  if M.is_dir(path) then
    if exists(path .. "/oci-layout") and exists(path .. "/index.json") then return "oci-layout" end
    if exists(path .. "/manifest.json") then return "docker-archive" end
    return nil
  end
  if not core.archive_entries then return nil end -- Windows: no libarchive yet
  local iter, state, ctl, closing = core.archive_entries(path)
  if not iter then return nil end
  local seen = {}
  for name in iter, state, ctl, closing do
    name = M.clean_name(name)
    if not in_vocabulary(name) then return nil end
    seen[name] = true
  end
  local blobs = false -- a config or layer blob besides the index files
  for name in pairs(seen) do
    if name:find("^blobs/[%w]+/%x+$") or name:find("^%x+%.json$") then blobs = true end
  end
  if not blobs then return nil end
  if seen["oci-layout"] and seen["index.json"] then return "oci-archive" end
  if seen["manifest.json"] then return "docker-archive" end
  return nil
end

return M
