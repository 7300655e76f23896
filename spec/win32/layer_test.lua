-- Layer functions: DriverInfo / WC_LAYER_DESCRIPTOR / FILE_BASIC_INFO
-- marshalling, GetLayerMountPath's two calls, the streams.
local hcsshim = require "hcsshim"
local t = require "support"
local eq, has, ok = t.eq, t.has, t.ok
local info = { Flavour = 1, HomeDir = "C:\\ProgramData\\docker\\windowsfilter" }
local it = "flavour=1 home=C:\\ProgramData\\docker\\windowsfilter"

test("NameToGuid is computed by vmcompute.dll", function()
  eq(hcsshim.name_to_guid("4"), "bd9c3ef9-f239-59b5-a27e-15c523b1d149")
  eq(hcsshim.name_to_guid("305d84fb4aa7bb0818f672f25e34cf899067db0a9d0b245cdcf9c5d106360954"),
    "b7751ac9-9da4-5a04-8f41-2d5e61a8b5b7")
end)

test("graph-driver lifecycle with the exact struct layouts", function()
  assert(hcsshim.create_layer(info, "base", ""))
  eq(t.last("CreateLayer"), it .. " id=base parent=")
  eq(hcsshim.layer_exists(info, "base"), true)
  eq(hcsshim.layer_exists(info, "nope"), false)
  assert(hcsshim.create_sandbox_layer(info, "sbx", "base", { "C:\\layers\\4" }))
  eq(t.last("CreateSandboxLayer"),
    it .. " id=sbx parent=base layers=[{bd9c3ef9-f239-59b5-a27e-15c523b1d149 flags=0 C:\\layers\\4}]")
  assert(hcsshim.expand_sandbox_size(info, "sbx", 21474836480))
  eq(t.last("ExpandSandboxSize"), it .. " id=sbx size=21474836480")
  eq(hcsshim.get_layer_mount_path(info, "sbx"), "") -- not active: length 0
  assert(hcsshim.activate_layer(info, "sbx"))
  local n0, nb = t.calls("GetLayerMountPath.length"), t.calls("GetLayerMountPath.buffer")
  local path = assert(hcsshim.get_layer_mount_path(info, "sbx"))
  has(path, "\\\\?\\Volume{")
  eq(path:sub(-2), "}\\")
  ok(t.calls("GetLayerMountPath.length") > n0 and t.calls("GetLayerMountPath.buffer") > nb, "two-call pattern")
  assert(hcsshim.prepare_layer(info, "sbx",
    { "C:\\layers\\4", { ID = "d422512d-2bf2-4752-809d-7b82b5fcb1b4", Path = "C:\\x" } }))
  eq(t.last("PrepareLayer"), it .. " id=sbx layers=[{bd9c3ef9-f239-59b5-a27e-15c523b1d149 flags=0 C:\\layers\\4}"
    .. " {d422512d-2bf2-4752-809d-7b82b5fcb1b4 flags=0 C:\\x}]")
  assert(hcsshim.unprepare_layer(info, "sbx"))
  assert(hcsshim.deactivate_layer(info, "sbx"))
  assert(hcsshim.copy_layer(info, "base", "base2", {}))
  local folder = t.scratch("export")
  assert(hcsshim.export_layer_folder(info, "base", folder, {}))
  eq(t.last("ExportLayer"), it .. " id=base second=" .. folder .. " layers=[]")
  assert(hcsshim.import_layer_folder(info, "imp", folder, { "C:\\layers\\4" }))
  eq(t.last("ImportLayer.folder"), "dir Files\n") -- an empty layer's transport folder
  t.rmtree(folder)
  assert(hcsshim.process_base_layer("C:\\layers\\base"))
  eq(t.last("ProcessBaseImage"), "C:\\layers\\base")
  assert(hcsshim.process_utility_vm_image("C:\\layers\\base\\UtilityVM"))
  local imgs = assert(hcsshim.get_shared_base_images())
  eq(imgs.Images[1].Size, 1234567890123)
  for _, id in ipairs({ "sbx", "base", "base2", "imp" }) do assert(hcsshim.destroy_layer(info, id)) end
end)

test("layer failures read as hcsshim's HcsError", function()
  local r, err = hcsshim.activate_layer(info, "missing")
  eq(r, nil)
  eq(err.hresult, 0x80070003)
  has(tostring(err), "hcsshim::ActivateLayer failed in Win32: The system cannot find the path specified.")
  has(tostring(err), "(0x3) id=missing flavour=1")
  eq(tostring(err):find("failed failed"), nil)
end)

-- a backup stream of one data record
local function data_record(data) return string.pack("<I4I4I8I4", 1, 0, #data, 0) .. data end

test("layer writer: the legacy folder with the stream as given, tombstones, then ImportLayer", function()
  local n0 = t.calls("ImportLayer")
  local w = assert(hcsshim.new_layer_writer(info, "streamed", { "C:\\layers\\4" }))
  assert(w:add("Files", { LastWriteTime = 3, FileAttributes = 16 }))
  assert(w:add("Files\\a.txt", { CreationTime = 132549434331374447, LastAccessTime = 2, LastWriteTime = 3,
    ChangeTime = 4, FileAttributes = 32 }))
  assert(w:write(data_record("backup-stream-bytes")))
  assert(w:add("Hives\\Sam_Delta", { LastWriteTime = 3, FileAttributes = 32 }))
  assert(w:write(data_record("hive")))
  assert(w:remove("Files\\old.txt"))
  eq(t.calls("ImportLayer"), n0, "nothing imported before close")
  assert(w:close())
  eq(t.calls("ImportLayer"), n0 + 1)
  has(t.last("ImportLayer"), "id=streamed second=")
  has(t.last("ImportLayer"), "layers=[{bd9c3ef9-f239-59b5-a27e-15c523b1d149 flags=0 C:\\layers\\4}]")
  eq(t.last("ImportLayer.folder"), "dir Files\nfile Files\\a.txt attr=32 data=backup-stream-bytes\n"
    .. "dir Hives\nhive Hives\\Sam_Delta data=hive\ntombstone \\x5cold.txt\n")
  assert(hcsshim.destroy_layer(info, "streamed"))
end)

test("layer writer: add_link makes the hard link in the layer's folder after ImportLayer", function()
  local w = assert(hcsshim.new_layer_writer(info, "streamed-link", { "C:\\layers\\4" }))
  assert(w:add("Files", { LastWriteTime = 3, FileAttributes = 16 }))
  assert(w:add("Files\\a.txt", { LastWriteTime = 3, FileAttributes = 32 }))
  assert(w:write(data_record("linked")))
  assert(w:add_link("Files\\b.txt", "Files\\a.txt"))
  assert(w:close())
  eq(t.last("ImportLayer.folder"), "dir Files\nfile Files\\a.txt attr=32 data=linked\n")
  local files = info.HomeDir .. "\\streamed-link\\Files\\"
  eq(t.ctl("samefile " .. files .. "b.txt|" .. files .. "a.txt"), "1")
  assert(hcsshim.destroy_layer(info, "streamed-link"))
end)

test("layer writer: bad names are refused and the layer is not imported", function()
  local n0 = t.calls("ImportLayer")
  local w = assert(hcsshim.new_layer_writer(info, "bad-names", { "C:\\layers\\4" }))
  local r, err = w:add("Files\\..\\..\\x", { FileAttributes = 32 })
  eq(r, nil)
  has(tostring(err), "bad name Files\\..\\..\\x")
  r, err = w:add("Files\\fine.txt", { FileAttributes = 32 })
  eq(r, nil) -- a writer that failed stays failed
  has(tostring(err), "bad name")
  local c, cerr = w:close()
  eq(c, nil)
  has(tostring(cerr), "bad name")
  eq(t.calls("ImportLayer"), n0)
end)

test("layer reader: ExportLayer into a temp folder, read back in name order, tombstones last", function()
  assert(hcsshim.import_layer(info, "to-read", "spec\\fixtures\\wclayer\\layer.tar", { "C:\\layers\\4" }))
  local r = assert(hcsshim.new_layer_reader(info, "to-read", { "C:\\layers\\4" }))
  local names, sizes, streams = {}, {}, {}
  while true do
    local name, size, fi = r:next()
    if name == false then break end
    assert(name, size)
    names[#names + 1] = name .. (fi and "" or " (deleted)")
    sizes[name] = size
    local data = {}
    repeat
      local chunk = assert(r:read(7)) -- short reads on purpose
      data[#data + 1] = chunk
    until chunk == ""
    streams[name] = table.concat(data)
    if name == "Files\\hello.txt" then eq(fi.FileAttributes, 32) end
    if name == "Files\\dir" then eq(fi.FileAttributes, 16) end
  end
  assert(r:close())
  eq(table.concat(names, ","), "Files,Files\\dir,Files\\dir\\ro.txt,Files\\hello.txt,Files\\link,Hives,"
    .. "Hives\\Software_Delta,Files\\dir\\gone.txt (deleted)")
  eq(sizes["Files\\hello.txt"], 12)
  eq(sizes["Hives\\Software_Delta"], 10)
  eq(streams["Hives\\Software_Delta"], data_record("regf-delta"))
  has(streams["Files\\hello.txt"], data_record("hello, layer"))
  has(streams["Files\\hello.txt"], "stream data")
  assert(hcsshim.destroy_layer(info, "to-read"))
end)
