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
-- ("hcsshim::ActivateLayer failed in Win32: ... id=x flavour=1"; on Linux
-- "failed in the Linux host compute service: ...").
--
-- Linux also exports layers as OCI tars (`export_layer`), copies them
-- (`copy_layer`) and streams them (`new_layer_reader`, `new_layer_writer`).
-- Windows only (ErrNotSupported on Linux, `hcsshim.is_not_supported(err)`):
-- the legacy import folder, base and utility-VM image processing and
-- `enable_process_privileges` (token privileges, which layer import,
-- export and destroy switch on themselves).  On a Windows build whose
-- vmcompute.dll lacks an export, calling that function fails with
-- ERROR_PROC_NOT_FOUND and a message naming the function (also
-- `is_not_supported`).
-- @module hcsshim.layer
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local guid = require "hcsshim.guid"
local json = require "hcsshim.json"

local M = {}
local call = errors.hcs_call

-- The last component of a layer path, split on / and on \ (C:\... paths):
-- a layer's id, and the name NameToGuid turns into its LayerId.
local function base_name(path)
  return path:gsub("[/\\]+$", ""):match("([^/\\]+)$") or path
end
M._base_name = base_name

-- The path separator of layer folders on this platform.
local SEP = core.platform == "windows" and "\\" or "/"
M._SEP = SEP

-- The default layer home, `<data root>/layers`: the data root is
-- HCSSHIM_DATA_ROOT, else the platform's own place for service data
-- (`/var/lib/hcsshim`, `%ProgramData%\hcsshim`).
function M._default_home()
  local root = os.getenv("HCSSHIM_DATA_ROOT")
  if not root and core.platform == "windows" then
    root = (os.getenv("ProgramData") or "C:\\ProgramData") .. "\\hcsshim"
  end
  return (root or "/var/lib/hcsshim") .. SEP .. "layers"
end

-- Parent layer paths -> descriptors: on Windows each gets its LayerId,
-- NameToGuid of the folder's base name, as hcsshim computes it; a failed
-- NameToGuid is returned as the error (never a zero LayerId).  No
-- parents are an empty list.  The list must be a sequence: a single
-- {ID=, Path=} table or a list with a hole would otherwise lose parents
-- without a word; that misuse raises at the caller of the public function:
-- `level` (default 3) is its error level from here.
local function descriptors(parents, level)
  if parents == nil then return {} end
  if type(parents) == "table" then
    local ok, why = json.is_sequence(parents)
    if not ok then
      error("bad argument (parent layers: a list of layer paths or {ID=, Path=} tables expected, " .. why .. ")",
        level or 3)
    end
  end
  if core.platform ~= "windows" or type(parents) ~= "table" then return parents end
  local out = {}
  for i, p in ipairs(parents) do
    if type(p) == "string" then
      local g, err = guid.name_to_guid(base_name(p))
      if not g then return nil, err end
      out[i] = { ID = g, Path = p }
    else
      out[i] = p
    end
  end
  return out
end

--- Switch privileges on in this process's token (go-winio
-- EnableProcessPrivileges; AdjustTokenPrivileges).  An elevated token
-- holds SeBackupPrivilege and SeRestorePrivilege but has them switched
-- off, and layer import, export and destroy need them: those functions
-- call this themselves, as hcsshim's wclayer tool does before them.
-- Windows only (ErrPlatformNotSupported on Linux).
-- @tparam table names privilege names, e.g. `{"SeBackupPrivilege"}`
-- @treturn true|nil,hcsshim.error (ERROR_NOT_ALL_ASSIGNED when the token
-- lacks one, ERROR_NO_SUCH_PRIVILEGE for an unknown name)
function M.enable_process_privileges(names)
  if type(names) ~= "table" then
    error("bad argument #1 to 'enable_process_privileges' (table expected)", 2)
  end
  if not core.enable_process_privileges then
    return nil, errors.new({ kind = "hcs", op = "hcsshim::EnableProcessPrivileges",
      name = "ErrPlatformNotSupported" })
  end
  return call("EnableProcessPrivileges", "privileges=" .. table.concat(names, ","),
    core.enable_process_privileges, names)
end

-- The privileges a layer call needs (cmd/wclayer: export takes SeBackup,
-- import and remove both), enabled on Windows; nothing to do on Linux.
local BACKUP = { "SeBackupPrivilege" }
local BACKUP_RESTORE = { "SeBackupPrivilege", "SeRestorePrivilege" }
local function privileges(names)
  if core.platform ~= "windows" then return true end
  return M.enable_process_privileges(names)
end

-- What a tar import or export (`fname`) checks and sets up first: its
-- progress callback, its parents (as descriptors, returned) and the
-- privileges `names`.  Raises at the public function's caller.
local function tar_call_args(fname, parents, progress, names)
  if progress ~= nil and type(progress) ~= "function" then
    error("bad argument #5 to '" .. fname .. "' (function expected, got " .. type(progress) .. ")", 3)
  end
  local d, err = descriptors(parents, 4)
  if not d then return nil, err end
  local ok
  ok, err = privileges(names)
  if not ok then return nil, err end
  return d
end

-- The DriverInfo's Flavour (1 when given as a home-dir string).
local function flavour(info)
  return type(info) == "table" and (info.Flavour or 1) or 1
end

-- A core layer function f(info, id, ...), its failure an HcsError that
-- names the layer as hcsshim does ("id=x flavour=1").
local function by_id(title, f, info, id, ...)
  return call(title, string.format("id=%s flavour=%d", id, flavour(info)), f, info, id, ...)
end

--- Activate a layer (ActivateLayer): a sandbox becomes mountable.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn true|nil,hcsshim.error
function M.activate_layer(info, id)
  return by_id("ActivateLayer", core.activate_layer, info, id)
end

--- Create an empty read-only layer (CreateLayer).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam[opt] string parent parent layer id
-- @treturn true|nil,hcsshim.error (ERROR_ALREADY_EXISTS when it exists)
function M.create_layer(info, id, parent)
  local rest = string.format("id=%s parent=%s flavour=%d", id, parent or "", flavour(info))
  return call("CreateLayer", rest, core.create_layer, info, id, parent)
end

--- Create a sandbox (scratch) layer over parent layers (CreateSandboxLayer).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam[opt] string parent_id id of the nearest parent
-- @tparam table parents parent layer paths, nearest first
-- @treturn true|nil,hcsshim.error
function M.create_sandbox_layer(info, id, parent_id, parents)
  local d, err = descriptors(parents)
  if not d then return nil, err end
  return call("CreateSandboxLayer", string.format("layerId=%s parentId=%s", id, parent_id or ""),
    core.create_sandbox_layer, info, id, parent_id, d)
end

--- Grow a sandbox to at least `size` bytes (ExpandSandboxSize).
-- Linux: a documented no-op (overlay upper directories have no size of
-- their own) that still checks the layer is a sandbox.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam integer size bytes
-- @treturn true|nil,hcsshim.error
function M.expand_sandbox_size(info, id, size)
  return call("ExpandSandboxSize", string.format("layerId=%s  size=%d", id, size),
    core.expand_sandbox_size, info, id, size)
end

--- Deactivate a layer (DeactivateLayer).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn true|nil,hcsshim.error
function M.deactivate_layer(info, id)
  return by_id("DeactivateLayer", core.deactivate_layer, info, id)
end

--- Destroy a layer and its files (DestroyLayer).  Refused (ERROR_BUSY)
-- while it is mounted or while a prepared sandbox uses it as a lower
-- layer; a folder that is not a layer is never deleted.  On Windows it
-- first enables SeBackupPrivilege and SeRestorePrivilege (see
-- `enable_process_privileges`).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn true|nil,hcsshim.error (ErrElementNotFound when missing)
function M.destroy_layer(info, id)
  local ok, err = privileges(BACKUP_RESTORE)
  if not ok then return nil, err end
  return by_id("DestroyLayer", core.destroy_layer, info, id)
end

--- The mount path of an activated layer (GetLayerMountPath): the
-- directory to pass as a container's VolumePath; "" when not active.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn string|nil,hcsshim.error
function M.get_layer_mount_path(info, id)
  return by_id("GetLayerMountPath", core.get_layer_mount_path, info, id)
end

--- Shared base images (GetBaseImages), decoded.  Linux has none: `{Images = {}}`.
-- @treturn table|nil,hcsshim.error
function M.get_shared_base_images()
  local text, err = call("GetSharedBaseImages", "", core.get_base_images)
  if not text then return nil, err end
  local v
  v, err = errors.decode_output(text, { kind = "hcs", op = "hcsshim::GetSharedBaseImages" })
  if not v then return nil, err end
  local images = json.get(v, "Images")
  v.Images = type(images) == "table" and images or json.array()
  return v
end

--- Whether a layer exists (LayerExists).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn boolean|nil,hcsshim.error
function M.layer_exists(info, id)
  return by_id("LayerExists", core.layer_exists, info, id)
end

--- The layers under a layer home: the folder names for which
-- `layer_exists` is true, sorted.  Not an HCS function (HCS keeps no
-- list; docker reads its own graph folder the same way); it uses
-- LuaFileSystem to read the folder, after one store call (which sweeps
-- what crashed calls left: a killed import's staging folder, a killed
-- deletion's trash).
-- @tparam table|string info DriverInfo
-- @treturn table|nil,hcsshim.error array of layer ids (empty when the
-- home does not exist yet)
function M.list_layers(info)
  local home = type(info) == "table" and info.HomeDir or info
  if type(home) ~= "string" then error("bad argument #1 to 'list_layers' (DriverInfo expected)", 2) end
  local lfs = require "lfs"
  if not lfs.attributes(home, "mode") then return {} end
  M.layer_exists(info, "list") -- any store call sweeps the home first
  local ids = {}
  for name in lfs.dir(home) do
    if name:sub(1, 1) ~= "." and lfs.attributes(home .. "/" .. name, "mode") == "directory"
      and M.layer_exists(info, name) then
      ids[#ids + 1] = name
    end
  end
  table.sort(ids)
  return ids
end

--- Mount a sandbox over its parents (PrepareLayer): overlayfs on Linux.
-- @tparam table|string info DriverInfo
-- @tparam string id sandbox layer id
-- @tparam table parents parent layer paths, nearest first (empty: the
-- parents recorded at creation)
-- @treturn true|nil,hcsshim.error
function M.prepare_layer(info, id, parents)
  local d, err = descriptors(parents)
  if not d then return nil, err end
  return by_id("PrepareLayer", core.prepare_layer, info, id, d)
end

--- Unmount a prepared sandbox (UnprepareLayer).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @treturn true|nil,hcsshim.error
function M.unprepare_layer(info, id)
  return by_id("UnprepareLayer", core.unprepare_layer, info, id)
end

--- Import a layer tar as a new read-only layer, with libarchive (hcsshim's
-- `ociwclayer.ImportLayerFromTar` on Windows).
-- Linux: an OCI layer tar (plain, gzip, xz or zstd); whiteouts and opaque
-- directories become overlayfs whiteouts.
-- Windows: a Windows layer tar (plain or gzip): entries under `Files/`,
-- `Hives/` and `UtilityVM/Files/`, with go-winio's PAX
-- records `MSWINDOWS.fileattr`, `MSWINDOWS.rawsd` (or `MSWINDOWS.sd`),
-- `MSWINDOWS.mountpoint`, `MSWINDOWS.xattr.<name>` and
-- `LIBARCHIVE.creationtime`; `<file>:<stream>` entries are alternate data
-- streams, `.wh.<name>` whiteouts.  With parents, the entries become Win32
-- backup streams in the legacy transport folder (a temporary folder),
-- imported with ImportLayer; a base layer (no parents) is written in
-- place in `HomeDir\<id>` with BackupWrite and finished with
-- ProcessBaseImage (and ProcessUtilityImage for a utility VM).  With
-- parents, as hcsshim's legacy layer writer: a hard link (both names under
-- `Files/` or `UtilityVM/Files/`) to a file added before in the tar or of
-- a parent layer (nearest first) is made in `HomeDir\<id>` after
-- ImportLayer; `UtilityVM/` clones the first parent's `UtilityVM\Files`
-- into `HomeDir\<id>` (hard links; BackupRead/BackupWrite copies of
-- directories, reparse points and BCD files), the tar's utility VM entries
-- are written over it with BackupWrite, and ProcessUtilityImage runs after
-- ImportLayer.  Enables SeBackupPrivilege and SeRestorePrivilege first.
-- Opaque directories (`.wh..wh..opq`) are refused with ERROR_NOT_SUPPORTED
-- (`is_not_supported`): Windows layers (and hcsshim) have none.
-- Both: an entry that would write outside the layer (`..`, absolute
-- paths, through a symlink, a hard link outside) fails the import with an
-- error naming the entry, and nothing is left behind.
-- @tparam table|string info DriverInfo
-- @tparam string id new layer id
-- @tparam string tar_path path of the tar file
-- @tparam[opt] table parents parent layer paths, nearest first
-- @tparam[opt] function progress `progress(bytes, entries)`: bytes of the
-- tar file read so far (compressed, as the file holds them) and entries
-- extracted, called as the import goes (about every 64 entries or MiB) and
-- once at the end with the file's size and the entry count.  An error it
-- raises cancels the import, which rolls back and raises that error (also at
-- the last report).  It runs inside the call: it may not yield (a yield
-- across it cancels), and on Linux a layer function it calls on a layer the
-- import holds fails with ERROR_BUSY instead of waiting for itself.
-- @treturn integer|nil,hcsshim.error the sum of regular file sizes (bytes);
-- an image (docker-archive, oci-archive, OCI layout) is refused with
-- E_INVALIDARG pointing to `hcsshim.image.import`
function M.import_layer(info, id, tar_path, parents, progress)
  local d, err = tar_call_args("import_layer", parents, progress, BACKUP_RESTORE)
  if not d then return nil, err end
  local image_kind = type(tar_path) == "string" and require("hcsshim.image_format").detect(tar_path)
  if image_kind then
    return nil, errors.hcs("ImportLayer", string.format("id=%s tar=%s", id, tar_path),
      errors.hresult.E_INVALIDARG, nil, tar_path .. " is a " .. image_kind
      .. " image, not a layer tar: import it with hcsshim.image.import")
  end
  return call("ImportLayer", string.format("id=%s tar=%s", id, tar_path), core.import_layer_tar,
    info, id, tar_path, d, progress)
end

--- Copy a layer (CopyLayer).  Linux: a new read-only layer `dst_id` that
-- holds `src_id`'s diff (a sandbox's changes, or a read-only layer's
-- contents, whiteouts included) over `parents`; nothing is left on failure.
-- @tparam table|string info DriverInfo
-- @tparam string src_id
-- @tparam string dst_id
-- @tparam[opt] table parents parent layer paths, nearest first
-- @treturn true|nil,hcsshim.error
function M.copy_layer(info, src_id, dst_id, parents)
  local d, err = descriptors(parents)
  if not d then return nil, err end
  return call("CopyLayer", string.format("srcId=%s dstId=%s", src_id, dst_id), core.copy_layer,
    info, src_id, dst_id, d)
end

-- A legacy transport-folder function f(info, id, folder, descriptors),
-- after the privileges it needs.  Always tail-called by the public
-- function, so its caller is level 3 from `descriptors`.
local function by_folder(title, names, f, info, id, folder, parents)
  local d, err = descriptors(parents, 3)
  if not d then return nil, err end
  local ok
  ok, err = privileges(names)
  if not ok then return nil, err end
  return call(title, string.format("layerId=%s flavour=%d folder=%s", id, flavour(info), folder),
    f, info, id, folder, d)
end

--- Export a layer as a layer tar at `path` (ExportLayer; hcsshim's
-- `ociwclayer.ExportLayerToTar` on Windows).  `path` is replaced
-- atomically; the parents are checked, not read.
-- Linux: the layer's diff (a sandbox's changes, or a read-only layer's
-- contents) as an OCI layer tar: overlay whiteouts become `.wh.<name>`,
-- opaque directories `.wh..wh..opq`; PAX headers with xattrs
-- (`SCHILY.xattr.*`), numeric owners only, file mtimes in whole seconds,
-- no atime/ctime, entries sorted by name, so the same diff always gives
-- the same bytes.  A sandbox's mount stubs (the empty files and
-- directories the runtime made to mount over, such as /etc/hosts or a
-- MappedDirectory's target, when the image lacked them) are left out while
-- they are still empty, as docker's init layer keeps them out of a commit.
-- A file overlay keeps only as a redirect or metacopy is refused.
-- Windows: ExportLayer into a temporary legacy transport folder, read
-- back as a Windows layer tar (the format `import_layer` takes): `Files/`
-- and `Hives/` entries in name order with `MSWINDOWS.fileattr`,
-- `MSWINDOWS.rawsd`, `MSWINDOWS.xattr.<name>`, `MSWINDOWS.mountpoint` and
-- `LIBARCHIVE.creationtime`, alternate data streams as `<file>:<stream>`
-- entries, tombstones as `.wh.<name>` whiteouts.  Enables
-- SeBackupPrivilege first.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam string path the tar file to write
-- @tparam[opt] table parents parent layer paths, nearest first
-- @tparam[opt] function progress `progress(bytes, entries)`, bytes of tar
-- written and entries so far, called as the export goes (about every 64
-- entries or MiB) and once at the end.  An error it raises cancels the
-- export (no tar is left, an old file at `path` stays) and is raised again.
-- As for `import_layer`, it may not yield, and on Linux a layer function it
-- calls on the layer being exported fails with ERROR_BUSY.
-- @treturn integer|nil,hcsshim.error the bytes of file data exported
function M.export_layer(info, id, path, parents, progress)
  local d, err = tar_call_args("export_layer", parents, progress, BACKUP)
  if not d then return nil, err end
  return call("ExportLayer", string.format("id=%s tar=%s", id, path), core.export_layer_tar,
    info, id, path, d, progress)
end

--- Export a layer into the legacy transport folder (vmcompute ExportLayer;
-- Windows only; `export_layer` writes a tar).
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam string folder the transport folder to write
-- @tparam[opt] table parents parent layer paths, nearest first
-- @treturn true|nil,hcsshim.error
function M.export_layer_folder(info, id, folder, parents)
  return by_folder("ExportLayer", BACKUP, core.export_layer, info, id, folder, parents)
end

--- Import a layer from the legacy transport folder (vmcompute ImportLayer;
-- `import_layer` itself imports an OCI tar on Linux).
-- @tparam table|string info DriverInfo
-- @tparam string id new layer id
-- @tparam string folder the transport folder to read
-- @tparam[opt] table parents parent layer paths, nearest first
-- @treturn true|nil,hcsshim.error
function M.import_layer_folder(info, id, folder, parents)
  return by_folder("ImportLayer", BACKUP_RESTORE, core.import_layer_folder, info, id, folder, parents)
end

--- Post-process an extracted base layer (ProcessBaseImage).
-- @tparam string path the layer folder
-- @treturn true|nil,hcsshim.error
function M.process_base_layer(path)
  return call("ProcessBaseLayer", "path=" .. path, core.process_base_image, path)
end

--- Post-process a utility VM image (ProcessUtilityImage).
-- @tparam string path the UtilityVM folder
-- @treturn true|nil,hcsshim.error
function M.process_utility_vm_image(path)
  return call("ProcessUtilityVMImage", "path=" .. path, core.process_utility_image, path)
end

-- Opens a stream (the Begin call) over the parents' descriptors, after
-- the privileges it needs.
local function begin(title, names, f, info, id, d)
  local ok, err = privileges(names)
  if not ok then return nil, err end
  return call(title, "id=" .. id, f, info, id, d)
end

-- Gives a stream its close (`title`, the End call; also __close).
local function closing(stream, title, raw, id, name)
  function stream.close()
    return call(title, "id=" .. id, raw.close, raw)
  end
  return setmetatable(stream, { __close = stream.close, __name = name })
end

local function with_slash(name)
  if name:sub(1, 1) ~= "\\" then name = "\\" .. name end
  return name
end

--- A streaming layer writer (hcsshim's LayerWriter): `w:add(name, info)`,
-- `w:add_link(name, target)` (a hard link to an earlier file; Windows: or
-- to a parent layer's, made after ImportLayer, as hcsshim's AddLink),
-- `w:remove(name)`, `w:write(data)`, then `w:close()`, whose result must be
-- checked: the layer is committed there, atomically.
-- Windows (as hcsshim's wclayer, not vmcompute's streaming exports): names
-- are relative to the layer (`Files\foo`, `Hives\...`, `UtilityVM\Files\...`,
-- the utility VM handled as `import_layer` does); data is a Win32 backup
-- stream; info is
-- `{CreationTime, LastAccessTime, LastWriteTime, ChangeTime, FileAttributes}`.
-- With parents, the files go into a temporary legacy transport folder
-- (backup streams after their 4-byte attributes, directories as
-- `.$wcidirs$` sidecars, hives as their data, removals in tombstones.txt)
-- that `close` imports with ImportLayer; without parents (a base layer)
-- they are written in place in `HomeDir\<id>` with BackupWrite and `close`
-- runs ProcessBaseImage (and ProcessUtilityImage for a utility VM).  A
-- call that fails leaves the writer failed; its `close` imports nothing.
-- Linux: names are `/`-separated paths of the layer's tree; data is the
-- file's content; info adds `Mode`, `Uid`, `Gid`, `Linkname`, `DevMajor`,
-- `DevMinor`, `Xattrs` and `Opaque` (see `hcsshim.layer_stream`); the
-- entries go into a tar in an anonymous file and `close` imports it, so a
-- writer that fails or is dropped leaves nothing; the id must be new.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam[opt] table parents parent layer paths, nearest first
-- @treturn table|nil,hcsshim.error
function M.new_layer_writer(info, id, parents)
  if core.platform == "linux" then
    return require("hcsshim.layer_stream").writer(info, id, parents or {}, M.import_layer,
      M.layer_exists)
  end
  local d, derr = descriptors(parents)
  if not d then return nil, derr end
  local raw, err = begin("ImportLayerStart", BACKUP_RESTORE, core.import_layer_begin, info, id, d)
  if not raw then return nil, err end
  local w = {}
  function w.add(_, name, fileinfo)
    if type(fileinfo) ~= "table" then
      error("bad argument #2 to 'add' (FILE_BASIC_INFO table expected)", 2)
    end
    return call("ImportLayerNext", "name=" .. name, raw.next, raw, with_slash(name), fileinfo)
  end
  function w.remove(_, name)
    return call("ImportLayerNext", "name=" .. name, raw.next, raw, with_slash(name), nil)
  end
  function w.add_link(_, name, target)
    return call("AddLink", "name=" .. name, raw.link, raw, with_slash(name), with_slash(target))
  end
  function w.write(_, data)
    return call("ImportLayerWrite", "", raw.write, raw, data)
  end
  return closing(w, "ImportLayerEnd", raw, id, "hcsshim.layer_writer")
end

--- A streaming layer reader (hcsshim's LayerReader): `r:next()` returns
-- name, size and info (nil for a deleted file), or false at the end;
-- `r:read(n)` returns data ("" at the end of this file); `r:close()`.
-- Windows (as hcsshim's wclayer): ExportLayer into a temporary legacy
-- transport folder, read back in name order (a directory before its
-- contents): `Files\` entries give their attributes and their stored Win32
-- backup stream, the size being its data's; `Hives\` files a backup
-- stream of one data record; the tombstones come last as deleted names.
-- `close` removes the folder.
-- Linux: the layer's diff in name order (a directory before its
-- contents); info as for the writer, plus `Hardlink` (the earlier name
-- this file is a hard link of: pass it to `add_link`); a sandbox's
-- deletions come as deleted names, its opaque directories with
-- `Opaque = true`.  The diff is exported (see `export_layer`) to an
-- unlinked temporary tar in HomeDir first.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam[opt] table parents parent layer paths, nearest first
-- @treturn table|nil,hcsshim.error
function M.new_layer_reader(info, id, parents)
  if core.platform == "linux" then
    return require("hcsshim.layer_stream").reader(info, id, parents or {}, M.export_layer)
  end
  local d, derr = descriptors(parents)
  if not d then return nil, derr end
  local raw, err = begin("ExportLayerBegin", BACKUP, core.export_layer_begin, info, id, d)
  if not raw then return nil, err end
  local r = {}
  function r.next()
    local name, fi, size, msg = raw:next()
    if name == false then return false end
    if name == nil then return nil, errors.hcs("ExportLayerNext", "", fi, size, msg) end
    return (name:gsub("^\\", "")), size, fi
  end
  function r.read(_, n)
    return call("ExportLayerRead", "", raw.read, raw, n)
  end
  return closing(r, "ExportLayerEnd", raw, id, "hcsshim.layer_reader")
end

return M
