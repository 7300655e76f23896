local hcsshim = require "hcsshim"

local function hex(b)
  return (b:gsub(".", function(c) return string.format("%02x ", c:byte()) end)):sub(1, -2)
end

describe("GUIDs", function()
  it("use the Windows byte layout", function()
    local b = assert(hcsshim.guid_to_bytes("d422512d-2bf2-4752-809d-7b82b5fcb1b4"))
    assert.equal("2d 51 22 d4 f2 2b 52 47 80 9d 7b 82 b5 fc b1 b4", hex(b))
    assert.equal("d422512d-2bf2-4752-809d-7b82b5fcb1b4", hcsshim.guid_from_bytes(b))
  end)

  it("match hcsshim's own example bytes", function()
    local b = assert(hcsshim.guid_to_bytes("bd9c3ef9-f239-59b5-a27e-15c523b1d149"))
    assert.equal("f9 3e 9c bd 39 f2 b5 59 a2 7e 15 c5 23 b1 d1 49", hex(b))
  end)

  it("accept upper case and braces, and print lower case", function()
    assert.equal("d422512d-2bf2-4752-809d-7b82b5fcb1b4",
      (hcsshim.parse_guid("{D422512D-2BF2-4752-809D-7B82B5FCB1B4}")))
    assert.equal("d422512d-2bf2-4752-809d-7b82b5fcb1b4",
      (hcsshim.parse_guid("D422512D-2bf2-4752-809D-7B82B5FCB1B4")))
  end)

  it("reject malformed text with a message", function()
    for _, bad in ipairs({ "", "d422512d2bf24752809d7b82b5fcb1b4", "{d422512d-2bf2-4752-809d-7b82b5fcb1b4",
      "g422512d-2bf2-4752-809d-7b82b5fcb1b4", "d422512d-2bf2-4752-809d-7b82b5fcb1b4x",
      "d422512d-2bf2-4752-809d-7b82b5fcb1b\0" }) do
      local g, err = hcsshim.parse_guid(bad)
      assert.is_nil(g)
      assert.matches("invalid GUID", err)
    end
    assert.has_error(function() hcsshim.guid_from_bytes("short") end)
  end)

  it("round-trip random GUIDs through bytes", function()
    local seen = {}
    for _ = 1, 200 do
      local g = hcsshim.new_guid()
      assert.matches("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$", g)
      assert.is_nil(seen[g])
      seen[g] = true
      assert.equal(g, hcsshim.guid_from_bytes(hcsshim.guid_to_bytes(g)))
      assert.equal(g, (hcsshim.parse_guid(g:upper())))
    end
  end)

  it("name_to_guid is deterministic, name-based (version 5), and distinct per name", function()
    local a = assert(hcsshim.name_to_guid("4"))
    assert.equal(a, hcsshim.name_to_guid("4"))
    assert.matches("^%x+%-%x+%-5%x%x%x%-[89ab]", a)
    assert.not_equal(a, hcsshim.name_to_guid("5"))
    local long = "305d84fb4aa7bb0818f672f25e34cf899067db0a9d0b245cdcf9c5d106360954"
    assert.not_equal(hcsshim.name_to_guid(long), hcsshim.name_to_guid(long:upper()))
  end)
end)
