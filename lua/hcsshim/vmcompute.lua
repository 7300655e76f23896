--- The vmcompute.dll functions beyond the graph-driver basics: layer copy,
-- the legacy export/import folder, base and utility-VM image processing,
-- the streaming layer reader/writer (Import/ExportLayer Begin/Next/Write/
-- Read/End), HcsModifyServiceSettings and iphlpapi's
-- SetCurrentThreadCompartmentId.  They exist on Windows only: on Linux each
-- fails with ErrNotSupported (`hcsshim.is_not_supported(err)`).  On a
-- Windows build whose vmcompute.dll lacks an export, calling that function
-- fails with ERROR_PROC_NOT_FOUND and a message naming the function (also
-- `is_not_supported`).  All are re-exported by `hcsshim`.
-- @module hcsshim.vmcompute
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local json = require "hcsshim.json"

local M = {}

--- Parent layer paths -> descriptors: on Windows each gets its LayerId,
-- NameToGuid of the folder's base name, as hcsshim computes it.  A failed
-- NameToGuid fails the whole call (never a zero LayerId).
-- @local
-- @treturn table|nil,hcsshim.error
function M._descriptors(parents)
  if core.platform ~= "windows" or type(parents) ~= "table" then return parents end
  local out = {}
  for i, p in ipairs(parents) do
    if type(p) == "string" then
      local base = p:gsub("[\\/]+$", ""):match("([^\\/]+)$") or p
      local g, hr = core.name_to_guid(base)
      if not g then return nil, M._herr("NameToGuid", "name=" .. base, hr) end
      out[i] = { ID = g, Path = p }
    else
      out[i] = p
    end
  end
  return out
end
local descriptors = M._descriptors

--- The DriverInfo's Flavour (1 when given as a home-dir string).
-- @local
function M._flavour(info)
  return type(info) == "table" and (info.Flavour or 1) or 1
end

--- An HcsError ("hcsshim::<title> failed in Win32: ... <rest>").
-- @local
function M._herr(title, rest, hr, result, detail)
  return errors.from_core({ kind = "hcs", op = "hcsshim::" .. title, rest = rest }, hr, result, detail)
end

--- Calls a core layer function, turning its failure into `nil, HcsError`.
-- @local
function M._call(title, rest, f, ...)
  local v, hr, result, detail = f(...)
  if v == nil then return nil, M._herr(title, rest, hr, result, detail) end
  return v
end
local flavour, herr, call = M._flavour, M._herr, M._call

--- `call` with the descriptors of `parents` as the last argument; a
-- failed NameToGuid is the call's error and nothing is called.
-- @local
function M._call_layers(title, rest, parents, f, ...)
  local d, err = descriptors(parents)
  if d == nil and parents ~= nil then return nil, err end
  local args = table.pack(...)
  args.n = args.n + 1
  args[args.n] = d
  return call(title, rest, f, table.unpack(args, 1, args.n))
end
local call_layers = M._call_layers

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
  if type(names) ~= "table" then error("bad argument #1 to 'enable_process_privileges' (table expected)", 2) end
  if not core.enable_process_privileges then
    return nil, errors.new({ kind = "hcs", op = "hcsshim::EnableProcessPrivileges", name = "ErrPlatformNotSupported" })
  end
  return call("EnableProcessPrivileges", "privileges=" .. table.concat(names, ","),
    core.enable_process_privileges, names)
end

local BACKUP = { "SeBackupPrivilege" }
local BACKUP_RESTORE = { "SeBackupPrivilege", "SeRestorePrivilege" }
M._BACKUP_RESTORE = BACKUP_RESTORE

--- The privileges a layer call needs, on Windows (cmd/wclayer: export
-- takes SeBackup, import and remove both); nothing to do on Linux.
-- @local
function M._privileges(names)
  if core.platform ~= "windows" then return true end
  return M.enable_process_privileges(names)
end
local privileges = M._privileges

--- Copy a layer (CopyLayer).
-- @tparam table|string info DriverInfo
-- @tparam string src_id
-- @tparam string dst_id
-- @tparam[opt] table parents parent layer paths, nearest first
-- @treturn true|nil,hcsshim.error
function M.copy_layer(info, src_id, dst_id, parents)
  return call_layers("CopyLayer", string.format("srcId=%s dstId=%s", src_id, dst_id), parents or {},
    core.copy_layer, info, src_id, dst_id)
end

--- Export a layer into the legacy transport folder (ExportLayer).
-- @treturn true|nil,hcsshim.error
-- the legacy folder transport, after the privileges it needs
local function folder_call(title, names, f, info, id, folder, parents)
  local ok, perr = privileges(names)
  if not ok then return nil, perr end
  return call_layers(title, string.format("layerId=%s flavour=%d folder=%s", id, flavour(info), folder),
    parents or {}, f, info, id, folder)
end

function M.export_layer(info, id, folder, parents)
  return folder_call("ExportLayer", BACKUP, core.export_layer, info, id, folder, parents)
end

--- Import a layer from the legacy transport folder (vmcompute ImportLayer;
-- `import_layer` itself imports an OCI tar on Linux).
-- @treturn true|nil,hcsshim.error
function M.import_layer_folder(info, id, folder, parents)
  return folder_call("ImportLayer", BACKUP_RESTORE, core.import_layer_folder, info, id, folder, parents)
end

--- Post-process an extracted base layer (ProcessBaseImage).
-- @tparam string path the layer folder
function M.process_base_layer(path)
  return call("ProcessBaseLayer", "path=" .. path, core.process_base_image, path)
end

--- Post-process a utility VM image (ProcessUtilityImage).
-- @tparam string path the UtilityVM folder
function M.process_utility_vm_image(path)
  return call("ProcessUtilityVMImage", "path=" .. path, core.process_utility_image, path)
end

--- Network compartment of the calling thread (iphlpapi).
-- @tparam integer id compartment id
-- @treturn true|nil,hcsshim.error
function M.set_current_thread_compartment_id(id)
  return call("SetCurrentThreadCompartmentId", "compartmentId=" .. tostring(id),
    core.set_current_thread_compartment_id, id)
end

--- Change compute-service settings (HcsModifyServiceSettings).
-- @tparam table settings
-- @treturn true|nil,hcsshim.error
function M.modify_service_settings(settings)
  local text = assert(json.encode(settings or {}))
  local ok, hr, result = core.modify_service_settings(text)
  if not ok then return nil, errors.from_core({ kind = "hcs", op = "hcsshim::ModifyServiceSettings" }, hr, result) end
  return true
end

-- The privileges, the parents' descriptors, then the stream's Begin.
local function begin_stream(title, names, begin, info, id, parents)
  local ok, perr = privileges(names)
  if not ok then return nil, perr end
  local d, derr = descriptors(parents or {})
  if not d then return nil, derr end
  local raw, hr, result, detail = begin(info, id, d)
  if not raw then return nil, herr(title, "id=" .. id, hr, result, detail) end
  return raw
end

local function with_slash(name)
  if name:sub(1, 1) ~= "\\" then name = "\\" .. name end
  return name
end

--- A streaming layer writer (ImportLayerBegin): `w:add(name, info)`,
-- `w:remove(name)`, `w:write(data)` (a Win32 backup stream), then
-- `w:close()`, whose result must be checked (ImportLayerEnd).
-- Names are relative to the layer (`Files\foo`); info is
-- `{CreationTime, LastAccessTime, LastWriteTime, ChangeTime, FileAttributes}`.
-- @treturn table|nil,hcsshim.error
function M.new_layer_writer(info, id, parents)
  local raw, err = begin_stream("ImportLayerStart", BACKUP_RESTORE, core.import_layer_begin, info, id, parents)
  if not raw then return nil, err end
  local w = {}
  function w.add(_, name, fileinfo)
    if type(fileinfo) ~= "table" then error("bad argument #2 to 'add' (FILE_BASIC_INFO table expected)", 2) end
    return call("ImportLayerNext", "name=" .. name, raw.next, raw, with_slash(name), fileinfo)
  end
  function w.remove(_, name)
    return call("ImportLayerNext", "name=" .. name, raw.next, raw, with_slash(name), nil)
  end
  function w.write(_, data)
    return call("ImportLayerWrite", "", raw.write, raw, data)
  end
  function w.close()
    return call("ImportLayerEnd", "id=" .. id, raw.close, raw)
  end
  return setmetatable(w, { __close = w.close, __name = "hcsshim.layer_writer" })
end

--- A streaming layer reader (ExportLayerBegin): `r:next()` returns
-- name (leading `\` stripped), size, and info (nil for a deleted file), or
-- false at the end; `r:read(n)` returns data ("" at the end of this file);
-- `r:close()` (ExportLayerEnd).
-- @treturn table|nil,hcsshim.error
function M.new_layer_reader(info, id, parents)
  local raw, err = begin_stream("ExportLayerBegin", BACKUP, core.export_layer_begin, info, id, parents)
  if not raw then return nil, err end
  local r = {}
  function r.next()
    local name, fi, size, detail = raw:next()
    if name == false then return false end
    if name == nil then return nil, herr("ExportLayerNext", "", fi, size, detail) end
    return (name:gsub("^\\", "")), size, fi
  end
  function r.read(_, n)
    return call("ExportLayerRead", "", raw.read, raw, n)
  end
  function r.close()
    return call("ExportLayerEnd", "id=" .. id, raw.close, raw)
  end
  return setmetatable(r, { __close = r.close, __name = "hcsshim.layer_reader" })
end

return M
