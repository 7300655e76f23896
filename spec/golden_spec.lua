-- The documents hcsshim.schema writes, byte for byte against what Go's
-- encoding/json writes for hcsshim's structs (tools/golden, `make goldens`;
-- the goldens are committed, so this spec needs no Go).
local hcsshim = require "hcsshim"
local schema, json = hcsshim.schema, hcsshim.json

local dir = "spec/fixtures/golden/"

local function read(name)
  local f = assert(io.open(dir .. name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function golden(name) return (read(name .. ".json"):gsub("\n$", "")) end

local cases = assert(json.decode(read("cases.json")))

describe("schema documents equal Go's encoding/json output of hcsshim's structs", function()
  local names = {}
  for name in pairs(cases) do names[#names + 1] = name end
  table.sort(names)
  assert.is_true(#names >= 40)
  for _, name in ipairs(names) do
    it(name, function()
      local c = cases[name]
      local text, err
      if c.Schema == "[]float64" then
        text, err = json.encode(c.Value)
      else
        text, err = schema.encode(c.Schema, c.Value)
      end
      assert.is_string(text, err)
      assert.equal(golden(name), text)
    end)
  end
end)

describe("schema documents from Lua values", function()
  local function same(name, schema_name, value)
    local text, err = schema.encode(schema_name, value)
    assert.is_string(text, err)
    assert.equal(golden(name), text)
  end

  it("uint64 extremes given as bignums, digit strings or floats", function()
    same("container_extremes", "ContainerConfig", { Name = "x", ProcessorCount = 4294967295,
      ProcessorWeight = "18446744073709551615", ProcessorMaximum = math.mininteger,
      StorageIOPSMaximum = 2 ^ 63, StorageBandwidthMaximum = math.maxinteger, StorageSandboxSize = 1.0,
      MemoryMaximumInMB = math.maxinteger,
      MappedDirectories = { { BandwidthMaximum = json.bignum("18446744073709551615"),
        IOPSMaximum = "18446744073709551614" } } })
  end)

  it("empty tables in list fields are empty lists; absent lists are nil slices", function()
    same("container_empty_lists", "ContainerConfig", { SystemType = "Container", Name = "e", Layers = {},
      MappedDirectories = {}, EndpointList = json.empty_array, MappedPipes = {}, MappedVirtualDisks = json.array(),
      AssignedDevices = {}, Owner = "", HostName = "", ProcessorCount = 0, Servicing = false })
    same("container_minimal", "ContainerConfig", { SystemType = "Container", Name = "c" })
    same("process_empty_lists", "ProcessConfig", { CommandLine = "x", Environment = {}, CommandArgs = {} })
  end)

  it("GUIDs in any case and with braces are written canonically", function()
    same("modify_network_add", "ResourceModificationRequest", { ResourceType = "Network", RequestType = "Add",
      Settings = "ba3eb19a-0980-4546-8019-45d9addb2032" })
    local v = json.decode(read("cases.json")).hns_endpoint_full.Value
    v.Id = "{7E5BA3CF-0BB9-4A11-A7D3-1E0A7B4F4A10}"
    v.VirtualNetwork = "BA3EB19A-0980-4546-8019-45D9ADDB2032"
    same("hns_endpoint_full", "HNSEndpoint", v)
  end)

  it("ConsoleSize as {Height =, Width =}", function()
    local v = json.decode(read("cases.json")).process_full.Value
    v.ConsoleSize = { Height = 40, Width = 120 }
    same("process_full", "ProcessConfig", v)
  end)

  it("BinaryValue ([]byte) as Go's base64", function()
    local text = assert(schema.encode("ContainerConfig", { RegistryChanges = { AddValues = {
      { Name = "b", BinaryValue = "ab\0" }, { Name = "c", BinaryValue = "\255\254" },
      { Name = "d", BinaryValue = "abc" } } } }))
    assert.matches('"BinaryValue":"YWIA"', text, 1, true)
    assert.matches('"BinaryValue":"//4="', text, 1, true)
    assert.matches('"BinaryValue":"YWJj"', text, 1, true)
  end)
end)
