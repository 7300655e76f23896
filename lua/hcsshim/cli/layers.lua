--- `hcsshim layer ls|import|export|rm`, `hcsshim image import|ls|rm`
-- and `hcsshim prune`.
-- @module hcsshim.cli.layers
local hcsshim = require "hcsshim"
local out = require "hcsshim.cli.out"
local progress_new = require("hcsshim.cli.progress").new
local containers = require "hcsshim.cli.containers"

local M = {}
local home = containers.home

local function file_size(path)
  local f = out.check(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

--- `hcsshim layer ls`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.layer_ls(a)
  local ids = out.check(hcsshim.list_layers(home(a)))
  local docs = {}
  for i, id in ipairs(ids) do docs[i] = { ID = id, Path = home(a) .. "/" .. id } end
  out.emit_list(a, docs, function(list)
    local rows = {}
    for i, d in ipairs(list) do rows[i] = { d.ID, d.Path } end
    out.table({ "ID", "PATH" }, rows)
  end)
  return 0
end

--- `hcsshim layer import`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.layer_import(a)
  local total = file_size(a.tar)
  local bar = progress_new("layer import " .. a.id, total)
  bar.update(0)
  local size = out.check(hcsshim.import_layer(home(a), a.id, a.tar, a.parent, bar.update))
  bar.finish(total)
  out.emit(a, { ID = a.id, Path = home(a) .. "/" .. a.id, Size = size },
    function(d) io.stdout:write(d.ID, "\n") end)
  return 0
end

--- `hcsshim layer export`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.layer_export(a)
  local bar = progress_new("layer export " .. a.id, 0)
  local written = 0
  bar.update(0)
  out.check(hcsshim.export_layer(home(a), a.id, a.folder, a.parent, function(bytes)
    written = bytes
    bar.update(bytes)
  end))
  bar.finish(written)
  out.emit(a, { ID = a.id, Folder = a.folder }, function(d) io.stdout:write(d.Folder, "\n") end)
  return 0
end

--- `hcsshim layer rm`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.layer_rm(a)
  for _, id in ipairs(a.id) do
    out.check(hcsshim.destroy_layer(home(a), id))
    io.stdout:write(id, "\n")
  end
  return 0
end

-- hcsshim.image, or a failure saying it is not installed.
local function image_module()
  local ok, image = pcall(require, "hcsshim.image")
  if not ok then out.fail("image commands need the hcsshim.image module, which is not installed") end
  return image
end

--- `hcsshim image import`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.image_import(a)
  local image = image_module()
  local size = file_size(a.archive)
  local bars, current = {}, nil
  -- one progress report per step of the import (read, verify, import)
  local function progress(bytes, _, step)
    if current and current ~= step then bars[current].finish() end
    current = step
    bars[step] = bars[step] or progress_new("image " .. step .. " " .. a.archive, size)
    bars[step].update(math.min(bytes, size))
  end
  local r = out.check(image.import(a.archive, { home = a.home, progress = progress }))
  if current then bars[current].finish() end
  out.emit(a, r, function(d) io.stdout:write(tostring(d.name or d.id), "\n") end)
  return 0
end

--- `hcsshim image ls`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.image_ls(a)
  local list = out.check(image_module().list({ home = a.home }))
  out.emit_list(a, list, function(imgs)
    local rows = {}
    for i, d in ipairs(imgs) do
      rows[i] = { d.name or "", d.id or "", out.bytes(d.size or 0) }
    end
    out.table({ "NAME", "ID", "SIZE" }, rows)
  end)
  return 0
end

--- `hcsshim image rm`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.image_rm(a)
  local image = image_module()
  for _, name in ipairs(a.image) do
    out.check(image.remove(name, { home = a.home }))
    io.stdout:write(name, "\n")
  end
  return 0
end

--- `hcsshim prune`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.prune(a)
  local r = out.check(hcsshim.prune({ home = a.home }))
  for _, kind in ipairs({ "Containers", "Layers", "Endpoints" }) do r[kind] = hcsshim.json.array(r[kind]) end
  out.emit(a, r, function(d)
    for _, kind in ipairs({ "Containers", "Layers", "Endpoints" }) do
      for _, id in ipairs(d[kind]) do io.stdout:write(("removed %s %s\n"):format(kind:sub(1, -2):lower(), id)) end
    end
    io.stdout:write(("%d containers, %d layers, %d endpoints removed\n"):format(#d.Containers,
      #d.Layers, #d.Endpoints))
  end)
  return 0
end

return M
