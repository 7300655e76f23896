--- Linux layer streams: the reader and writer behind `hcsshim.layer`'s
-- `new_layer_reader` / `new_layer_writer`, with the Lua shape of the
-- Windows ones (hcsshim's LayerReader and LayerWriter).
--
-- The reader exports the layer's diff (`export_layer`) to a tar that is
-- unlinked as soon as it is open, and walks it; the writer builds a tar
-- in an anonymous file and imports it (`import_layer`) on `close`, so the
-- layer appears complete or not at all, and an abandoned or failed writer
-- leaves nothing behind.
--
-- File info: hcsshim's FILE_BASIC_INFO fields, `CreationTime`,
-- `LastAccessTime`, `LastWriteTime`, `ChangeTime` (100 ns units since
-- 1601-01-01 UTC; a layer tar keeps only the modification time, in whole
-- seconds, so all four carry it) and `FileAttributes`
-- (FILE_ATTRIBUTE_DIRECTORY, _REPARSE_POINT for symlinks, _READONLY without
-- an owner write bit, else _NORMAL); plus Linux's `Mode` (st_mode, type
-- bits included), `Uid`, `Gid`, `Linkname` (a symlink's target),
-- `Hardlink` (reader: the earlier name this one is a hard link of),
-- `DevMajor`, `DevMinor`, `Xattrs` (`{name = value}`) and `Opaque` (a
-- directory that hides the parents' contents).  Names are relative,
-- `/`-separated paths.
-- @module hcsshim.layer_stream
local core = require "hcsshim.core"
local errors = require "hcsshim.error"

local M = {}
local H = errors.hresult

local EPOCH_1601 = 11644473600 -- seconds from 1601-01-01 to 1970-01-01
local TICKS = 10000000 -- 100 ns units per second
local S_IFMT = 0xF000
local ATTR = { READONLY = 0x1, DIRECTORY = 0x10, NORMAL = 0x80, REPARSE_POINT = 0x400 }
local IFMT = { file = 0x8000, dir = 0x4000, symlink = 0xA000, char = 0x2000, block = 0x6000,
  fifo = 0x1000, socket = 0xC000 }
local TYPE_OF = {}
for k, v in pairs(IFMT) do TYPE_OF[v] = k end
local OPAQUE = ".wh..wh..opq"

local function fail(op, id, msg, hr)
  return nil, errors.hcs(op, "id=" .. id, hr or H.E_FAIL, nil, msg)
end

local function home_of(info)
  return type(info) == "table" and (info.HomeDir or info.homedir) or info
end

-- A tar header -> FILE_BASIC_INFO plus the Linux fields.
local function file_info(h)
  local t = (h.mtime + EPOCH_1601) * TICKS
  local kind = h.type == "hardlink" and "file" or h.type
  local attrs = 0
  if kind == "dir" then attrs = attrs | ATTR.DIRECTORY end
  if kind == "symlink" then attrs = attrs | ATTR.REPARSE_POINT end
  if h.mode & 0x80 == 0 then attrs = attrs | ATTR.READONLY end
  if attrs == 0 then attrs = ATTR.NORMAL end
  return {
    CreationTime = t, LastAccessTime = t, LastWriteTime = t, ChangeTime = t,
    FileAttributes = attrs, Mode = (IFMT[kind] or 0) | h.mode, Uid = h.uid, Gid = h.gid,
    Linkname = h.type == "symlink" and h.linkname or nil,
    Hardlink = h.type == "hardlink" and h.linkname or nil,
    DevMajor = h.devmajor, DevMinor = h.devminor, Xattrs = h.xattrs,
  }
end

local function split(name)
  local dir, base = name:match("^(.*)/([^/]*)$")
  if dir then return dir .. "/", base end
  return "", name
end

local function clean(name) return (name:gsub("^%./", ""):gsub("/+$", "")) end

--- A layer reader (Linux): see `hcsshim.layer.new_layer_reader`.
-- @tparam table|string info DriverInfo
-- @tparam string id layer id
-- @tparam table parents parent layer paths (checked, not read)
-- @tparam function export `hcsshim.layer.export_layer`
-- @treturn table|nil,hcsshim.error
function M.reader(info, id, parents, export)
  local tmp = string.format("%s/.export-%s-%x%x.tar", home_of(info), id, os.time(),
    math.random(0, 0x7fffffff))
  local ok, err = export(info, id, tmp, parents)
  if not ok then return nil, err end
  local tr, msg = core.tar_reader(tmp)
  os.remove(tmp) -- open (or failed): the name is no longer needed
  if not tr then return fail("ExportLayerBegin", id, msg) end
  local r, pending = {}, nil
  local function header()
    if pending then
      local h = pending
      pending = nil
      return h
    end
    return tr:next()
  end
  --- The next entry: name, size (bytes of data), info (nil: deleted),
  -- or false at the end, or nil, err.
  function r.next()
    local h, e = header()
    if not h then
      if h == false then return false end
      return fail("ExportLayerNext", id, e)
    end
    local name = clean(h.name)
    local dir, base = split(name)
    if base:sub(1, 4) == ".wh." then return dir .. base:sub(5), 0, nil end
    local fi = file_info(h)
    if h.type == "dir" then -- an opaque marker follows its directory
      local nxt
      nxt, e = tr:next()
      if nxt == nil then return fail("ExportLayerNext", id, e) end
      if nxt and clean(nxt.name) == name .. "/" .. OPAQUE then fi.Opaque = true else pending = nxt end
    end
    return name, h.size, fi
  end
  --- Up to n bytes (default 64 KiB) of the current file; "" at its end.
  function r.read(_, n)
    if pending then return "" end -- a directory, whose successor was peeked at
    local data, e = tr:read(n)
    if not data then return fail("ExportLayerRead", id, e) end
    return data
  end
  function r.close()
    tr:close()
    return true
  end
  return setmetatable(r, { __close = r.close, __gc = r.close, __name = "hcsshim.layer_reader" })
end

-- FILE_BASIC_INFO plus Linux fields -> a tar header for `name`.
local function header_of(name, fi)
  local mode = math.tointeger(fi.Mode)
  local attrs = math.tointeger(fi.FileAttributes) or 0
  local kind = mode and TYPE_OF[mode & S_IFMT]
  if not kind then
    kind = attrs & ATTR.DIRECTORY ~= 0 and "dir" or (fi.Linkname and "symlink") or "file"
  end
  local perm = mode and mode & 0xFFF
  if not perm then -- from the attributes: rw-r--r-- (rwxr-xr-x), no write bits if read-only
    perm = kind == "dir" and 0x1ED or 0x1A4
    if attrs & ATTR.READONLY ~= 0 then perm = perm & ~0x92 end
  end
  local t = math.tointeger(fi.LastWriteTime)
  return {
    name = name, type = kind, mode = perm, uid = fi.Uid, gid = fi.Gid,
    mtime = t and t // TICKS - EPOCH_1601 or 0, linkname = fi.Linkname,
    devmajor = fi.DevMajor, devminor = fi.DevMinor, xattrs = fi.Xattrs,
  }
end

local function check_name(name, fname)
  if type(name) ~= "string" or name == "" or name:find("\0", 1, true) then
    error("bad argument #1 to '" .. fname .. "' (a relative file name expected)", 3)
  end
  return clean((name:gsub("^/+", "")))
end

--- A layer writer (Linux): see `hcsshim.layer.new_layer_writer`.
-- @tparam table|string info DriverInfo
-- @tparam string id new layer id
-- @tparam table parents parent layer paths
-- @tparam function import `hcsshim.layer.import_layer`
-- @tparam function exists `hcsshim.layer.layer_exists`
-- @treturn table|nil,hcsshim.error
function M.writer(info, id, parents, import, exists)
  local there, err = exists(info, id)
  if there == nil then return nil, err end
  if there then return fail("ImportLayerStart", id, "the layer already exists", H.E_ALREADY_EXISTS) end
  local tw, msg = core.tar_writer(home_of(info))
  if not tw then return fail("ImportLayerStart", id, msg) end
  local w, broken = {}, nil
  local function step(op, ok, e)
    if ok then return true end
    broken = broken or e
    return fail(op, id, e)
  end
  local function usable(op)
    if not tw then error("attempt to use a closed layer writer", 3) end
    if broken then return fail(op, id, "an earlier call failed: " .. broken) end
    return true
  end
  --- Start a file: `name` with `fileinfo` (see the module's file info);
  -- a regular file's data follows with `write`.
  function w.add(_, name, fileinfo)
    name = check_name(name, "add")
    if type(fileinfo) ~= "table" then
      error("bad argument #2 to 'add' (FILE_BASIC_INFO table expected)", 2)
    end
    local ok, e = usable("ImportLayerNext")
    if not ok then return nil, e end
    local h = header_of(name, fileinfo)
    ok, e = step("ImportLayerNext", tw:add(h))
    if ok and fileinfo.Opaque and h.type == "dir" then
      ok, e = step("ImportLayerNext", tw:add({ name = name .. "/" .. OPAQUE, mtime = h.mtime }))
    end
    return ok, e
  end
  --- `name` becomes a hard link of the earlier file `target`.
  function w.add_link(_, name, target)
    name, target = check_name(name, "add_link"), check_name(target, "add_link")
    local ok, e = usable("ImportLayerNext")
    if not ok then return nil, e end
    return step("ImportLayerNext", tw:add({ name = name, type = "hardlink", linkname = target }))
  end
  --- `name` is deleted from the parents' view (an OCI whiteout).
  function w.remove(_, name)
    local dir, base = split(check_name(name, "remove"))
    local ok, e = usable("ImportLayerNext")
    if not ok then return nil, e end
    return step("ImportLayerNext", tw:add({ name = dir .. ".wh." .. base }))
  end
  --- Data of the regular file just added.
  function w.write(_, data)
    if type(data) ~= "string" then error("bad argument #1 to 'write' (string expected)", 2) end
    local ok, e = usable("ImportLayerWrite")
    if not ok then return nil, e end
    return step("ImportLayerWrite", tw:write(data))
  end
  --- Commits the layer (imports it); its result must be checked.  A
  -- writer that failed or is collected without close leaves nothing.
  function w.close()
    if not tw then return true end
    local ok, e = usable("ImportLayerEnd")
    local path
    if ok then
      path, e = tw:finish()
      if not path then ok, e = fail("ImportLayerEnd", id, e) end
    end
    if path then ok, e = import(info, id, path, parents) end
    tw:close()
    tw = nil
    if not ok then return nil, e end
    return true
  end
  local function abandon() if tw then tw:close() tw = nil end end
  return setmetatable(w, { __close = function(_, e) if e then abandon() else w.close() end end,
    __gc = abandon, __name = "hcsshim.layer_writer" })
end

return M
