--- Container image layers (the vmcompute graph-driver functions).
-- Every function takes a DriverInfo first: `{Flavour = 1, HomeDir = "/path"}`
-- or just the home directory string, and a layer id: the layer's folder
-- name under HomeDir (1..128 characters of `[A-Za-z0-9_.-]`, not starting
-- with "."; `../x`, `a/b` and NUL are refused).  Parent layers are given
-- as an array of layer folder paths (or `{ID=, Path=}` tables), nearest
-- parent first, as in docker's layerchain.json.
--
-- Linux: a read-only layer keeps its tree in `<HomeDir>/<id>/rootfs`; a
-- sandbox (scratch) layer holds overlay `upper/` and `work/` and is
-- mounted on `<HomeDir>/<id>/mount` by `prepare_layer`.
-- Failures return `nil, err` with hcsshim's HcsError text
-- ("hcsshim::ActivateLayer failed in Win32: ... id=x flavour=1").
-- @module hcsshim.layer
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local json = require "hcsshim.json"

local M = {}

-- the helpers, and parents -> descriptors ({ID = NameToGuid(base name),
-- Path} on Windows), are vmcompute.lua's
local vm = require "hcsshim.vmcompute"
local descriptors, flavour, herr, call = vm._descriptors, vm._flavour, vm._herr, vm._call

--- Activate a layer (ActivateLayer): a sandbox becomes mountable.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn true|nil,hcsshim.error
function M.activate_layer(info, id)
  return call("ActivateLayer", string.format("id=%s flavour=%d", id, flavour(info)), core.activate_layer, info, id)
end

--- Create an empty read-only layer (CreateLayer).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam[opt] string parent parent layer id
-- @treturn true|nil,hcsshim.error (ERROR_ALREADY_EXISTS when it exists)
function M.create_layer(info, id, parent)
  return call("CreateLayer", string.format("id=%s parent=%s flavour=%d", id, parent or "", flavour(info)),
    core.create_layer, info, id, parent)
end

--- Create a sandbox (scratch) layer over parent layers (CreateSandboxLayer).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam[opt] string parent_id id of the nearest parent
-- @tparam table parents parent layer paths, nearest first
-- @treturn true|nil,hcsshim.error
function M.create_sandbox_layer(info, id, parent_id, parents)
  return call("CreateSandboxLayer", string.format("layerId=%s parentId=%s", id, parent_id or ""),
    core.create_sandbox_layer, info, id, parent_id, descriptors(parents))
end

--- Grow a sandbox to at least `size` bytes (ExpandSandboxSize).
-- Linux: a documented no-op (overlay upper directories have no size of
-- their own) that still checks the layer is a sandbox.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam integer size bytes
-- @treturn true|nil,hcsshim.error
function M.expand_sandbox_size(info, id, size)
  return call("ExpandSandboxSize", string.format("layerId=%s  size=%d", id, size), core.expand_sandbox_size, info, id, size)
end

--- Deactivate a layer (DeactivateLayer).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn true|nil,hcsshim.error
function M.deactivate_layer(info, id)
  return call("DeactivateLayer", string.format("id=%s flavour=%d", id, flavour(info)), core.deactivate_layer, info, id)
end

--- Destroy a layer and its files (DestroyLayer).  Refused (ERROR_BUSY)
-- while it is mounted or while a prepared sandbox uses it as a lower
-- layer; a folder that is not a layer is never deleted.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn true|nil,hcsshim.error (ErrElementNotFound when missing)
function M.destroy_layer(info, id)
  return call("DestroyLayer", string.format("id=%s flavour=%d", id, flavour(info)), core.destroy_layer, info, id)
end

--- The mount path of an activated layer (GetLayerMountPath): the
-- directory to pass as a container's VolumePath; "" when not active.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn string|nil,hcsshim.error
function M.get_layer_mount_path(info, id)
  return call("GetLayerMountPath", string.format("id=%s flavour=%d", id, flavour(info)), core.get_layer_mount_path, info, id)
end

--- Shared base images (GetBaseImages), decoded.  Linux has none: `{Images = {}}`.
-- @treturn table|nil,hcsshim.error
function M.get_shared_base_images()
  local text, err = call("GetSharedBaseImages", "", core.get_base_images)
  if not text then return nil, err end
  local v = json.decode(text)
  if type(v) ~= "table" then v = { Images = {} } end
  v.Images = v.Images or json.get(v, "Images") or {}
  return v
end

--- Whether a layer exists (LayerExists).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn boolean|nil,hcsshim.error
function M.layer_exists(info, id)
  local v, hr, result, detail = core.layer_exists(info, id)
  if v == nil then return nil, herr("LayerExists", string.format("id=%s flavour=%d", id, flavour(info)), hr, result, detail) end
  return v
end

--- Mount a sandbox over its parents (PrepareLayer): overlayfs on Linux.
-- @tparam table|string info DriverInfo
-- @tparam string id sandbox layer id
-- @tparam table parents parent layer paths, nearest first (empty: the
-- parents recorded at creation)
-- @treturn true|nil,hcsshim.error
function M.prepare_layer(info, id, parents)
  return call("PrepareLayer", string.format("id=%s flavour=%d", id, flavour(info)), core.prepare_layer, info, id, descriptors(parents or {}))
end

--- Unmount a prepared sandbox (UnprepareLayer).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn true|nil,hcsshim.error
function M.unprepare_layer(info, id)
  return call("UnprepareLayer", string.format("id=%s flavour=%d", id, flavour(info)), core.unprepare_layer, info, id)
end

--- Import an OCI layer tar (plain, gzip, xz or zstd) as a new read-only
-- layer, with libarchive.  Whiteouts and opaque directories become
-- overlayfs whiteouts.  An entry that would write outside the layer
-- (`..`, absolute paths, through a symlink, a hard link outside) fails
-- the import with an error naming the entry, and nothing is left behind.
-- @tparam table|string info DriverInfo
-- @tparam string id new layer id
-- @tparam string tar_path path of the tar file
-- @tparam[opt] table parents parent layer paths, nearest first
-- @treturn integer|nil,hcsshim.error the sum of regular file sizes (bytes);
-- an image (docker-archive, oci-archive, OCI layout) is refused with
-- E_INVALIDARG pointing to `hcsshim.image.import`
function M.import_layer(info, id, tar_path, parents)
  if core.platform ~= "linux" then
    return nil, errors.new({ kind = "hcs", op = "hcsshim::ImportLayer", name = "ErrPlatformNotSupported" })
  end
  local image_kind = type(tar_path) == "string" and require("hcsshim.image_format").detect(tar_path)
  if image_kind then
    return nil, herr("ImportLayer", string.format("id=%s tar=%s", id, tar_path), 0x80070057, nil,
      tar_path .. " is a " .. image_kind .. " image, not a layer tar: import it with hcsshim.image.import")
  end
  return call("ImportLayer", string.format("id=%s tar=%s", id, tar_path), core.import_layer_tar, info, id, tar_path, parents or {})
end

-- the vmcompute functions beyond the basics (streams, folders, images)
for k, v in pairs(vm) do
  if k:sub(1, 1) ~= "_" then M[k] = v end
end

return M
