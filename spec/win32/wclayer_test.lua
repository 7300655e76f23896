-- Windows layer tars (hcsshim's ociwclayer): spec/fixtures/wclayer/*.tar,
-- written by Go's archive/tar as go-winio's backuptar does (tools/wctar),
-- imported through hcsshim.import_layer.  The double reads the transport
-- folder handed to ImportLayer with a backup-stream decoder of its own and
-- records its manifest, compared here with the golden one.
local hcsshim = require "hcsshim"
local t = require "support"
local eq, has, ok = t.eq, t.has, t.ok
local info = { Flavour = 1, HomeDir = "C:\\ProgramData\\docker\\windowsfilter" }
local FIX = "spec\\fixtures\\wclayer\\"
local PARENT = "C:\\layers\\4"

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local function utf16z(s) return hex((s .. "\0"):gsub(".", "%0\0")) end

-- the empty self-relative security descriptor of the fixtures
local SD = "01000080" .. string.rep("0", 32)
-- FILE_FULL_EA_INFORMATION: offset 0, flags 0, name length 9, value length 1
local EA = "00000000" .. "00" .. "09" .. "0100" .. hex("user.test") .. "00" .. hex("v") .. "00"
-- REPARSE_DATA_BUFFER of a relative symlink to hello.txt
local REPARSE = "0c0000a0" .. "3400" .. "0000" .. "0000" .. "1200" .. "1400" .. "1200" .. "01000000"
  .. utf16z("hello.txt") .. utf16z("hello.txt")

local LAYER_FOLDER = table.concat({
  "dir Files",
  "dir Files\\dir",
  "file Files\\dir.$wcidirs$ attr=16 sd=" .. SD,
  "file Files\\dir\\ro.txt attr=33 ea=" .. EA .. " data=read\\x20only",
  "file Files\\hello.txt attr=32 sd=" .. SD .. " data=hello,\\x20layer ads[:note:$DATA]=stream\\x20data",
  "file Files\\link attr=1056 reparse=" .. REPARSE,
  "dir Hives",
  "hive Hives\\Software_Delta data=regf-delta",
  "tombstone \\x5cdir\\x5cgone.txt",
  "",
}, "\n")

test("the backup-stream encoder and decoder on their own (C vectors)", function()
  local exe = assert(os.getenv("HCSSHIM_BSTREAM_TEST"), "HCSSHIM_BSTREAM_TEST is set by run-win32-tests.sh")
  local f = assert(io.popen(exe .. " 2>&1"))
  local out = f:read("a")
  local okc = f:close()
  ok(okc, out)
  has(out, "ok bstream ")
end)

local function folder_of(call) return call:match("second=(.-) layers=") end

test("a Windows layer tar imports as the legacy folder HCS reads (golden)", function()
  local n0 = t.calls("ImportLayer")
  local size = assert(hcsshim.import_layer(info, "wcl", FIX .. "layer.tar", { PARENT }))
  eq(size, 12 + 9 + 10) -- regular files and hives, not the streams
  eq(t.calls("ImportLayer"), n0 + 1)
  local call = t.last("ImportLayer")
  has(call, "flavour=1 home=C:\\ProgramData\\docker\\windowsfilter id=wcl second=")
  has(call, "layers=[{bd9c3ef9-f239-59b5-a27e-15c523b1d149 flags=0 C:\\layers\\4}]")
  eq(t.last("ImportLayer.folder"), LAYER_FOLDER)
  local folder = folder_of(call)
  ok(folder and folder:find("\\hcs", 1, true), "a temp folder named hcs*: " .. tostring(folder))
  eq(io.open(folder .. "\\tombstones.txt"), nil, "the transport folder is removed")
  eq(hcsshim.layer_exists(info, "wcl"), true)
  assert(hcsshim.destroy_layer(info, "wcl"))
end)

test("an entry that leaves the layer is refused by name; nothing reaches ImportLayer", function()
  local n0 = t.calls("ImportLayer")
  local r, err = hcsshim.import_layer(info, "esc", FIX .. "escape.tar", { PARENT })
  eq(r, nil)
  eq(err.hresult, 0x80070057)
  has(tostring(err), "Files/../escape.txt")
  eq(t.calls("ImportLayer"), n0)
  eq(hcsshim.layer_exists(info, "esc"), false)
end)

test("a whiteout whose name leaves the layer without its .wh. is refused; nothing is imported", function()
  for _, c in ipairs({ { "wh-dotdot.tar", "Files\\..: invalid tombstone" },
    { "wh-empty.tar", "Files\\: invalid tombstone" },
    { "wh-sub-dotdot.tar", "Files\\a\\..: invalid tombstone" } }) do
    local n0 = t.calls("ImportLayer")
    local r, err = hcsshim.import_layer(info, "wh-bad", FIX .. c[1], { PARENT })
    eq(r, nil, c[1])
    eq(err.hresult, 0x80070057, c[1])
    has(tostring(err), c[2])
    eq(t.calls("ImportLayer"), n0, c[1] .. ": nothing reaches ImportLayer")
    eq(hcsshim.layer_exists(info, "wh-bad"), false)
  end
end)

-- a layer (with parents) whose transport folder is Files\ and the given
-- tombstones.txt lines
local function layer_with_tombstones(id, lines)
  assert(hcsshim.create_layer(info, id .. "-src", ""))
  local folder = t.scratch("tomb")
  assert(hcsshim.export_layer_folder(info, id .. "-src", folder, {})) -- Files only
  local f = assert(io.open(folder .. "\\tombstones.txt", "wb"))
  f:write("\xef\xbb\xbfVersion 1.0\n" .. lines)
  f:close()
  assert(hcsshim.import_layer_folder(info, id, folder, { PARENT }))
  t.rmtree(folder)
  assert(hcsshim.destroy_layer(info, id .. "-src"))
end

test("a tombstones.txt line that leaves the layer is refused on export; no tar is left", function()
  layer_with_tombstones("tomb-bad", "\\..\n")
  local tar = t.scratch("tomb") .. ".tar"
  local r, err = hcsshim.export_layer(info, "tomb-bad", tar, { PARENT })
  assert(hcsshim.destroy_layer(info, "tomb-bad"))
  if r then os.remove(tar) end
  eq(r, nil)
  eq(err.hresult, 0x8007000D)
  has(tostring(err), "tombstones.txt: a bad line")
  eq(io.open(tar), nil)
  eq(io.open(tar .. ".tmp"), nil)
end)

test("a long deleted name is exported whole as its whiteout (never cut short)", function()
  local dir, base = string.rep("d", 1000), string.rep("x", 92)
  layer_with_tombstones("tomb-long", "\\" .. dir .. "\\" .. base .. "\n")
  local tar = t.scratch("tomb") .. ".tar"
  local r, err = hcsshim.export_layer(info, "tomb-long", tar, { PARENT })
  assert(hcsshim.destroy_layer(info, "tomb-long"))
  ok(r, tostring(err))
  local bytes = t.read(tar)
  assert(os.remove(tar))
  has(bytes, "path=Files/" .. dir .. "/.wh." .. base .. "\n", "the whiteout's whole name")
end)

-- a backup record: WIN32_STREAM_ID (id, attributes, size, no name), data
local function record(id, attrs, data) return string.pack("<I4I4I8I4", id, attrs, #data, 0) .. data end

-- a layer's folder, where HCS keeps it (the double expands the transport
-- folder there) and hcsshim's legacy writer puts hard links and the UVM
local function layer_dir(id) return info.HomeDir .. "\\" .. id end

-- a layer (with parents) whose transport folder is Files\\ with these files
-- (name = 4 bytes of attributes and records) and hard links (name = target)
local function layer_with_files(id, files, links)
  assert(hcsshim.create_layer(info, id .. "-src", ""))
  local folder = t.scratch("files")
  assert(hcsshim.export_layer_folder(info, id .. "-src", folder, {})) -- Files only
  for name, content in pairs(files) do
    local f = assert(io.open(folder .. "\\Files\\" .. name, "wb"))
    f:write(content)
    f:close()
  end
  for name, target in pairs(links or {}) do
    t.ctl("link " .. folder .. "\\Files\\" .. name .. "|" .. folder .. "\\Files\\" .. target)
  end
  assert(hcsshim.import_layer_folder(info, id, folder, { PARENT }))
  t.rmtree(folder)
  assert(hcsshim.destroy_layer(info, id .. "-src"))
end

-- the layer's export (size, tar bytes; or nil, error), the layer destroyed
local function export_of(id)
  local tar = t.scratch("sparse") .. ".tar"
  local size, err = hcsshim.export_layer(info, id, tar, { PARENT })
  assert(hcsshim.destroy_layer(info, id))
  if not size then return nil, err end
  local bytes = t.read(tar)
  assert(os.remove(tar))
  return size, bytes
end

-- the ustar header of name in a tar's bytes (after its PAX header): its
-- type flag, link name and data
local function tar_entry(bytes, name)
  for at in bytes:gmatch("()" .. name:gsub("%p", "%%%0") .. "%z") do
    if (at - 1) % 512 == 0 then
      local size = tonumber(bytes:sub(at + 124, at + 135):match("[0-7]+"), 8)
      return { type = bytes:sub(at + 156, at + 156), link = bytes:sub(at + 157, at + 256):match("^[^%z]*"),
        data = bytes:sub(at + 512, at + 511 + size) }
    end
  end
end

-- A file with two names exports as the file and a hard link entry to its
-- first name (ociwclayer's linkRecords); the tar imports back as the link.
test("hard links export as hard link entries and import back as links", function()
  layer_with_files("lnk-rt", { ["a.txt"] = string.pack("<I4", 32) .. record(1, 0, "shared") },
    { ["b.txt"] = "a.txt" })
  local size, bytes = export_of("lnk-rt")
  ok(size, tostring(bytes))
  eq(size, 6, "the data once")
  local a, b = tar_entry(bytes, "Files/a.txt"), tar_entry(bytes, "Files/b.txt")
  eq(a.type .. a.data, "0shared")
  eq(b.type .. b.link, "1Files/a.txt")
  local tar = t.scratch("lnk") .. ".tar"
  local f = assert(io.open(tar, "wb"))
  f:write(bytes)
  f:close()
  assert(hcsshim.import_layer(info, "lnk-rt2", tar, { PARENT }))
  assert(os.remove(tar))
  local files = layer_dir("lnk-rt2") .. "\\Files\\"
  eq(t.ctl("samefile " .. files .. "b.txt|" .. files .. "a.txt"), "1")
  assert(hcsshim.destroy_layer(info, "lnk-rt2"))
end)

-- A sparse file as BackupRead gives it: an empty data record marked
-- sparse, then BACKUP_SPARSE_BLOCK records (offset, bytes) in file order,
-- the last one empty at the file's size.
test("a sparse file is exported with its blocks and zeros between, as go-winio's backuptar", function()
  layer_with_files("sparse", { ["sparse.bin"] = string.pack("<I4", 0x220) .. record(1, 8, "")
    .. record(9, 0, string.pack("<I8", 4) .. "hello") .. record(9, 0, string.pack("<I8", 12) .. "ab")
    .. record(9, 0, string.pack("<I8", 16)) })
  has(t.last("ImportLayer.folder"), "file Files\\sparse.bin attr=544 data= sparse@4=hello sparse@12=ab sparse@16=\n")
  local size, bytes = export_of("sparse")
  ok(size, tostring(bytes))
  eq(size, 16)
  eq(tar_entry(bytes, "Files/sparse.bin").data, "\0\0\0\0hello\0\0\0ab\0\0")
end)

test("a sparse alternate data stream is refused on export by name, as go-winio's backuptar", function()
  local name = (":s:$DATA"):gsub(".", "%0\0") -- UTF-16LE
  layer_with_files("sparse-ads", { ["sparse.bin"] = string.pack("<I4", 0x20) .. record(1, 0, "x")
    .. string.pack("<I4I4I8I4", 4, 8, 0, #name) .. name })
  local size, err = export_of("sparse-ads")
  eq(size, nil)
  ok(hcsshim.is_not_supported(err), tostring(err))
  has(tostring(err), "Files\\sparse.bin: tar of sparse alternate data streams is unsupported")
end)

-- the import of tar fails with hresult and a message naming what; nothing
-- reaches ImportLayer and nothing is left
local function refused(id, tar, parents, hresult, what)
  local n0 = t.calls("ImportLayer")
  local r, err = hcsshim.import_layer(info, id, FIX .. tar, parents)
  eq(r, nil, tar)
  eq(err.hresult, hresult, tar .. ": " .. tostring(err))
  has(tostring(err), what)
  eq(t.calls("ImportLayer"), n0, tar .. ": nothing reaches ImportLayer")
  eq(hcsshim.layer_exists(info, id), false)
  eq(t.ctl("exists " .. layer_dir(id)), "0", tar .. ": no layer folder is left")
  return err
end

-- Wine's BackupRead/BackupWrite are stubs: the import fails naming what
-- the stub refused, never reaches call (n0 calls before) and leaves no folder
local function refused_by_stub(err, what, call, n0, folder)
  eq(err.hresult, 0x80070032, tostring(err)) -- ERROR_NOT_SUPPORTED from the stub
  has(tostring(err), what)
  eq(t.calls(call), n0)
  eq(t.ctl("exists " .. folder), "0", "the layer folder is removed")
end

test("hard links in a layer with parents are made in its folder after ImportLayer (hcsshim's AddLink)", function()
  assert(hcsshim.import_layer(info, "wcl-lparent", FIX .. "layer.tar", { PARENT }))
  local parent = layer_dir("wcl-lparent")
  local n0 = t.calls("ImportLayer")
  -- b.txt links a.txt of the same tar, d.txt links b.txt, c.txt the
  -- parent's Files\hello.txt
  local size = assert(hcsshim.import_layer(info, "wcl-links", FIX .. "links.tar", { parent, PARENT }))
  eq(size, 11) -- a.txt; links add no bytes
  eq(t.calls("ImportLayer"), n0 + 1)
  has(t.last("ImportLayer"), "id=wcl-links")
  -- the transport folder has the files alone: links are made afterwards
  eq(t.last("ImportLayer.folder"), "dir Files\nfile Files\\a.txt attr=32 data=linked\\x20data\n")
  local files = layer_dir("wcl-links") .. "\\Files\\"
  for _, n in ipairs({ "b.txt", "d.txt" }) do
    eq(t.ctl("samefile " .. files .. n .. "|" .. files .. "a.txt"), "1", n .. " is a link of a.txt")
    eq(t.read(files .. n), "linked data")
  end
  eq(t.ctl("samefile " .. files .. "c.txt|" .. parent .. "\\Files\\hello.txt"), "1", "a link of the parent's file")
  eq(t.read(files .. "c.txt"), "hello, layer")
  assert(hcsshim.destroy_layer(info, "wcl-links"))
  assert(hcsshim.destroy_layer(info, "wcl-lparent"))
  eq(t.ctl("exists " .. parent), "0")
end)

-- what hcsshim's legacy writer refuses too: a link to nothing of the layer
-- or its parents, or outside Files\ and UtilityVM\Files\; a utility VM
-- entry before "UtilityVM", or with no utility VM in the first parent
test("bad hard links and utility VMs of a layer with parents are refused by name", function()
  for _, c in ipairs({
    { "link-missing.tar", 0x80070002,
      "Files\\x.txt: hard link target Files\\nowhere.txt is neither in this layer nor in a parent layer" },
    { "link-hive.tar", 0x80070057, "Files\\x.txt: invalid hard link to Hives\\Software_Delta" },
    { "uvm-no-top.tar", 0x80070057, "UtilityVM\\Files\\new.txt: missing UtilityVM directory before it" },
    { "uvm-child.tar", 0x80070057,
      "UtilityVM: the first parent layer C:\\layers\\4 has no UtilityVM\\Files folder" },
  }) do
    refused("wcl-bad", c[1], { PARENT }, c[2], c[3])
  end
end)

-- The first parent's UtilityVM\Files is cloned into the layer's folder:
-- files as hard links, directories and the BCD files as BackupRead/
-- BackupWrite copies.  Wine's BackupRead is a stub: there the import fails
-- at the first directory, naming it, and leaves nothing.
test("a utility VM in a layer with parents is cloned from the first parent (Wine: refused cleanly)", function()
  local parent = t.scratch("uvm-parent")
  local boot = parent .. "\\UtilityVM\\Files\\EFI\\Microsoft\\Boot"
  t.ctl("mkdir " .. boot)
  for path, data in pairs({ [boot .. "\\BCD"] = "bcd", [parent .. "\\UtilityVM\\Files\\kept.txt"] = "kept",
    [parent .. "\\UtilityVM\\Files\\old.txt"] = "old" }) do
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
  end
  local n0 = t.calls("ImportLayer")
  local size, err = hcsshim.import_layer(info, "wcl-uvm", FIX .. "uvm-child.tar", { parent, PARENT })
  local dir = layer_dir("wcl-uvm")
  if size then
    eq(t.last("ImportLayer.folder"), "dir Files\n", "the utility VM is not in the transport folder")
    eq(t.last("ProcessUtilityImage"), dir .. "\\UtilityVM")
    local tree = t.ctl("tree " .. dir)
    has(tree, "file UtilityVM\\Files\\kept.txt data=kept links=2\n")
    has(tree, "file UtilityVM\\Files\\EFI\\Microsoft\\Boot\\BCD data=bcd\\x20child\n")
    eq(t.read(dir .. "\\bcd.bak"), "bcd child", "ociwclayer's copy of the BCD as it came")
    has(tree, "file UtilityVM\\Files\\new.txt data=uvm\\x20child\n")
    eq(tree:find("old.txt", 1, true), nil, "the whiteout removed the clone's old.txt")
    assert(hcsshim.destroy_layer(info, "wcl-uvm"))
  else
    refused_by_stub(err, "BackupRead UtilityVM\\Files:", "ImportLayer", n0, dir)
  end
  t.rmtree(parent)
end)

-- hcsshim's ociwclayer has no opaque directories: it would take the
-- marker for the tombstone of a file ".wh..opq" (a base layer: "base layer
-- cannot have tombstones") and keep the parent's contents.
test("an opaque directory whiteout is refused clearly; nothing is imported", function()
  local err = refused("wcl-opq", "opaque.tar", { PARENT }, 0x80070032,
    "Files\\dir\\.wh..wh..opq: an opaque directory whiteout; Windows layers have no opaque directories")
  ok(hcsshim.is_not_supported(err), tostring(err))
end)

test("ImportLayer's failure is the import's", function()
  t.ctl("fail ImportLayer 0x80070005")
  local r, err = hcsshim.import_layer(info, "denied", FIX .. "layer.tar", { PARENT })
  eq(r, nil)
  eq(err.hresult, 0x80070005)
  has(tostring(err), "hcsshim::ImportLayer")
  eq(hcsshim.layer_exists(info, "denied"), false)
end)

test("a missing tar is an error naming it", function()
  local r, err = hcsshim.import_layer(info, "none", FIX .. "missing.tar", { PARENT })
  eq(r, nil)
  has(tostring(err), "missing.tar")
end)

test("export writes the Windows layer tar; importing it again gives the same folder", function()
  assert(hcsshim.import_layer(info, "wcl-rt", FIX .. "layer.tar", { PARENT }))
  local tar = t.scratch("rt") .. ".tar"
  local size = assert(hcsshim.export_layer(info, "wcl-rt", tar, { PARENT }))
  eq(size, 12 + 9 + 10)
  has(t.last("ExportLayer"), "id=wcl-rt second=")
  local bytes = t.read(tar)
  for _, s in ipairs({ "MSWINDOWS.fileattr=32\n", "MSWINDOWS.fileattr=1056\n",
    "MSWINDOWS.rawsd=AQAAgAAAAAAAAAAAAAAAAAAAAAA=\n", "MSWINDOWS.xattr.user.test=dg==\n",
    "Files/hello.txt:note", "Files/dir/.wh.gone.txt", "Hives/Software_Delta", "hello, layer",
    "stream data", "regf-delta" }) do
    has(bytes, s, "the exported tar")
  end
  eq(bytes:find("SCHILY.xattr", 1, true), nil, "Windows records stay MSWINDOWS.*")
  assert(hcsshim.import_layer(info, "wcl-rt2", tar, { PARENT }))
  eq(t.last("ImportLayer.folder"), LAYER_FOLDER)
  assert(os.remove(tar))
  assert(hcsshim.destroy_layer(info, "wcl-rt"))
  assert(hcsshim.destroy_layer(info, "wcl-rt2"))
end)

test("an export that ExportLayer refuses leaves no tar", function()
  local tar = t.scratch("gone") .. ".tar"
  local r, err = hcsshim.export_layer(info, "no-such-layer", tar, { PARENT })
  eq(r, nil)
  eq(err.hresult, 0x80070003)
  eq(io.open(tar), nil)
  eq(io.open(tar .. ".tmp"), nil)
end)

-- A base layer is written in place with BackupWrite.  Wine's BackupWrite
-- is a stub (ERROR_NOT_SUPPORTED): there the import must fail
-- naming it, call no ProcessBaseImage and leave no layer folder; on a
-- Windows with BackupWrite the double checks the folder and the calls.
local BASE_FOLDER = table.concat({
  "dir Files",
  "dir Files\\Windows",
  "file Files\\Windows\\win.ini data=[fonts]",
  "dir Hives",
  "file Hives\\System_Base data=regf-base",
  "dir UtilityVM",
  "dir UtilityVM\\Files",
  "file UtilityVM\\Files\\boot.txt data=uvm",
  "",
}, "\n")

-- a new base layer's HomeDir (the temp folder) and id
local function base_place()
  return os.getenv("TEMP"), t.unique("hcsshim-suite-base") .. "-" .. os.time()
end

test("a base layer is written in place and processed (BackupWrite; Wine: refused cleanly)", function()
  local home, id = base_place()
  local root = home .. "\\" .. id
  local n0 = t.calls("ProcessBaseImage")
  local size, err = hcsshim.import_layer({ Flavour = 1, HomeDir = home }, id, FIX .. "base.tar")
  if size then
    eq(size, 7 + 9 + 3)
    eq(t.last("ProcessBaseImage"), root)
    eq(t.last("ProcessBaseImage.folder"), BASE_FOLDER)
    eq(t.last("ProcessUtilityImage"), root .. "\\UtilityVM")
    t.rmtree(root)
  else
    refused_by_stub(err, "BackupWrite Files\\Windows", "ProcessBaseImage", n0, root)
  end
end)

test("a base layer cannot have tombstones", function()
  local home, id = base_place()
  local r, err = hcsshim.import_layer({ Flavour = 1, HomeDir = home }, id, FIX .. "whiteout.tar")
  eq(r, nil)
  eq(err.hresult, 0x80070057)
  has(tostring(err), "Files\\gone.txt: a base layer cannot have tombstones")
  eq(t.ctl("exists " .. home .. "\\" .. id), "0")
end)

test("import and export report progress; an error from the callback cancels and is raised", function()
  local calls, last = 0, nil
  assert(hcsshim.import_layer(info, "wcl-pg", FIX .. "layer.tar", { PARENT }, function(bytes, entries)
    calls = calls + 1
    last = { bytes, entries }
  end))
  ok(calls >= 1, "called")
  local f = assert(io.open(FIX .. "layer.tar", "rb"))
  local tar_size = f:seek("end")
  f:close()
  ok(last[1] > 0 and last[1] <= tar_size, "bytes read: " .. tostring(last[1]))
  eq(last[2], 8) -- entries, the alternate data stream with its file
  local tar = t.scratch("pg") .. ".tar"
  local ecalls = 0
  assert(hcsshim.export_layer(info, "wcl-pg", tar, { PARENT }, function() ecalls = ecalls + 1 end))
  ok(ecalls >= 1, "export progress called")
  assert(os.remove(tar))
  assert(hcsshim.destroy_layer(info, "wcl-pg"))
  local n0 = t.calls("ImportLayer")
  local okc, err = pcall(hcsshim.import_layer, info, "wcl-cancel", FIX .. "layer.tar", { PARENT },
    function() error("stop here") end)
  eq(okc, false)
  has(tostring(err), "stop here")
  eq(t.calls("ImportLayer"), n0, "nothing imported")
  eq(hcsshim.layer_exists(info, "wcl-cancel"), false)
end)
