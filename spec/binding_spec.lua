-- Caller tables read from C: raw length and raw get, every copy bounded.
-- A __len or __index metamethod on a layer-descriptor or DriverInfo table
-- must neither size a buffer nor run; the value is read as the plain table
-- it is.  Needs no root and no container: import_layer_folder (the legacy
-- transport folder) reads its arguments
-- and then fails with ErrNotSupported on Linux (on Windows the double
-- would be reached, so these cases run on Linux only).
local core = require "hcsshim.core"
local hcsshim = require "hcsshim"

local linux = core.platform == "linux"
local home = "/nonexistent/hcsshim-binding-spec"

-- Calls import_layer_folder with these parents; returns the raised error or the
-- returned (nil, hr) failure.
local function copy(info, parents)
  local ok, v, hr = pcall(core.import_layer_folder, info, "a", "b", parents)
  if not ok then return nil, v end
  return v, hr
end

describe("C reads of caller tables", function()
  if not linux then return end

  it("ignore a __len metamethod on the layer array", function()
    local calls = 0
    local lens = { 2 ^ 62, 1 << 62, -1, 0x7fffffff, 1e300 }
    for _, n in ipairs(lens) do
      local parents = setmetatable({}, {
        __len = function() calls = calls + 1 return n end,
        __index = function() calls = calls + 1 return "/layer" end,
      })
      local v, hr = copy(home, parents)
      assert.is_nil(v)
      -- reached the platform with no parents: ERROR_NOT_SUPPORTED, no crash
      assert.equal(hcsshim.error.hresult.E_NOT_SUPPORTED, hcsshim.error.u32(hr))
    end
    assert.equal(0, calls)
  end)

  it("read only the raw elements of a layer array", function()
    local calls = 0
    local parents = setmetatable({ "/l1", "/l2" }, {
      __len = function() calls = calls + 1 return 1000 end,
      __index = function() calls = calls + 1 return 42 end,
    })
    local v, hr = copy(home, parents)
    assert.is_nil(v)
    assert.equal(hcsshim.error.hresult.E_NOT_SUPPORTED, hcsshim.error.u32(hr))
    assert.equal(0, calls)
  end)

  it("refuse fields that only an __index metamethod provides", function()
    local entry = setmetatable({}, { __index = { Path = "/l1" } })
    local _, err = copy(home, { entry })
    assert.matches("layer 1: Path must be a string", tostring(err))
    local info = setmetatable({}, { __index = { HomeDir = home } })
    _, err = copy(info, {})
    assert.matches("DriverInfo.HomeDir must be a string", tostring(err))
  end)

  it("ignore an ID that only an __index metamethod provides", function()
    local entry = setmetatable({ Path = "/l1" }, {
      __index = function() error("__index must not run") end,
    })
    local v, hr = copy({ HomeDir = home, Flavour = 1 }, { entry })
    assert.is_nil(v)
    assert.equal(hcsshim.error.hresult.E_NOT_SUPPORTED, hcsshim.error.u32(hr))
  end)

  it("refuse more layers than a descriptor array may hold", function()
    local parents = {}
    for i = 1, 4097 do parents[i] = "/l" .. i end
    local _, err = copy(home, parents)
    assert.matches("too many layers %(4097, at most 4096%)", tostring(err))
    parents[4097] = nil
    local v, hr = copy(home, parents)
    assert.is_nil(v)
    assert.equal(hcsshim.error.hresult.E_NOT_SUPPORTED, hcsshim.error.u32(hr))
  end)

  it("go the same way through the public layer functions", function()
    local parents = setmetatable({}, { __len = function() return 1 << 62 end })
    local ok, err = hcsshim.import_layer_folder(home, "a", "b", parents)
    assert.is_nil(ok)
    assert.is_true(hcsshim.is_not_supported(err))
  end)
end)

-- Number arguments take Lua numbers only: luaL_checkinteger would turn
-- "256", " 0x10 " or "1e3" into numbers (issue 10, item 3, C side).
describe("number arguments of the core", function()
  local strings = { "256", " 2 ", "0x100", "1e3", "10.0" }

  it("refuse numeric strings, naming the type", function()
    for _, s in ipairs(strings) do
      local ok, err = pcall(core.expand_sandbox_size, home, "a", s)
      assert.is_false(ok)
      assert.matches("number expected, got string", err, 1, true)
      ok, err = pcall(core.set_current_thread_compartment_id, s)
      assert.is_false(ok)
      assert.matches("number expected, got string", err, 1, true)
      ok, err = pcall(core.expand_sandbox_size, { HomeDir = home, Flavour = s }, "a", 1)
      assert.is_false(ok)
      assert.matches("number expected, got string", err, 1, true)
    end
  end)

  it("still take integral numbers, and refuse fractions", function()
    local ok, err = pcall(core.expand_sandbox_size, home, "a", 2.5)
    assert.is_false(ok)
    assert.matches("number has no integer representation", err, 1, true)
    ok = pcall(core.expand_sandbox_size, home, "a", 1024.0)
    assert.is_true(ok)
  end)
end)
