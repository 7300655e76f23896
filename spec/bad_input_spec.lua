-- Bad input, kind by kind (issue 10, items 1-7): each example of the issue
-- and variants of the same kind.  Documents and schemas need no host; the
-- HNS id checks must refuse before anything reaches the service.
local hcsshim = require "hcsshim"
local json, schema, errors = hcsshim.json, hcsshim.schema, hcsshim.error
local hns = require "hcsshim.hns"
local network = require "hcsshim.network"
local env = require "support.env"

local E_INVALIDARG = 0x80070057

local function refused(v, err, pattern)
  assert.is_nil(v)
  assert.is_string(err)
  if pattern then assert.matches(pattern, err, 1, true) end
end

describe("JSON that is not JSON", function()
  it("is refused on decode (the issue's inputs and their kin)", function()
    for _, text in ipairs({ '{"a":NaN}', "[Infinity]", "[-Infinity]", "[inf]", "[-inf]", "[nan]", "[+1.5]", "[+1]",
      "[01]", "[-01]", "[00]", "[0x10]", "[.5]", "[1.]", "[1.e3]", "[1e]", "[1e+]", "[--1]", "[1e400]", "[-1e400]",
      '["a\tb"]', '["a\nb"]', '["\1"]', '{"k\31":1}', '["\255"]', '["\237\160\128"]', '["\192\175"]', '["\\ud800"]',
      '["\\udc00"]', '["\\x41"]', "[1,]", '{"a":1,}', "[1] x", "\f[1]", "[1]\v", "", " ", "[", "nul", "True",
      "{'a':1}", '{"a" 1}' }) do
      local v, err = json.decode(text)
      assert.is_nil(v, text)
      assert.matches("^invalid JSON", err)
    end
  end)

  it("still accepts every RFC 8259 form", function()
    local v = assert(json.decode(' \t\r\n{"a":[-0,0,1E2,1e-2,-1.5E+3,0.5],'
      .. '"s":"\\u00e9\\ud83d\\ude00\\/\\b","t":true,"f":false} '))
    assert.equal(100.0, v.a[3])
    assert.equal("é😀/\b", v.s)
    assert.equal(5, assert(json.decode("5")))
    assert.equal("x", assert(json.decode('"x"')))
  end)

  it("NaN in a process status or an HNS document is refused", function()
    refused(json.decode('{"ProcessId":7,"Exited":true,"ExitCode":NaN,"LastWaitResult":0}'))
    refused(hns.decode("HNSEndpoint", '{"ID":"x","PrefixLength":NaN}'))
    refused(hns.decode("HNSNetwork", '{"Subnets":[{"AddressPrefix":"10.0.0.0/8","PrefixLength":Infinity}]}'))
    -- and a status table with such values gives no exit code
    for _, bad in ipairs({ 0 / 0, math.huge, 2.5, "3", {}, true }) do
      local code, err = hcsshim.decode_process_status({ Exited = true, ExitCode = bad, LastWaitResult = 0 })
      assert.is_nil(code, tostring(bad))
      assert.equal("ErrUnexpectedValue", err.name)
    end
  end)

  it("whatever the caller passed, what is written is JSON, or refused naming the place", function()
    refused(json.encode({ a = 0 / 0 }), "a: JSON has no")
    local _, err = json.encode({ x = { 1, { y = -math.huge } } })
    assert.matches("x[2].y", err, 1, true)
    _, err = json.encode({ n = math.huge })
    assert.matches("n: JSON has no inf", err, 1, true)
    _, err = json.encode({ ["\255"] = 1 })
    assert.matches("not valid UTF-8", err, 1, true)
    refused(json.encode("\192\175"), "not valid UTF-8")
    refused(json.encode({ f = print }), "f: JSON cannot encode a function")
    local b = json.bignum("1")
    b.digits = "1,2"
    refused(json.encode({ b }), "[1]: bignum is not decimal integer text")
    assert.has_error(function() json.bignum("0x10") end)
    assert.has_error(function() json.bignum("01") end)
    for _, field in ipairs({ "MemoryMaximumInMB", "ProcessorCount", "StorageIOPSMaximum" }) do
      for _, bad in ipairs({ 0 / 0, math.huge, -math.huge }) do
        refused(schema.encode("ContainerConfig", { [field] = bad }), "ContainerConfig." .. field)
      end
    end
    refused(schema.encode("ContainerConfig", { Name = "a\255b" }), "ContainerConfig.Name: is not valid UTF-8")
    refused(schema.encode("ProcessConfig", { Environment = { ["K\255"] = "v" } }), "not valid UTF-8")
    -- every string, control characters and all, comes back intact
    local s = ""
    for c = 0, 127 do s = s .. string.char(c) end
    s = s .. "\226\128\168\226\128\169é😀"
    assert.equal(s, json.decode(assert(json.encode(s))))
  end)
end)

describe("null in documents from HCS and HNS", function()
  it("parse_result and from_core read null as absent", function()
    local doc = '{"Error":-2147024809,"ErrorMessage":null,"ErrorEvents":null}'
    local msg, events, code = errors.parse_result(doc)
    assert.is_nil(msg)
    assert.same({}, events)
    assert.equal(-2147024809, code)
    local e = errors.from_core({ kind = "container", op = "Start", id = "c1" }, -2147024809, doc)
    assert.equal(E_INVALIDARG, e.hresult)
    local failure = require("hcsshim.core").platform == "linux" and "failure in the Linux host compute service"
      or "failure in a Windows system call"
    assert.equal("container c1 encountered an error during Start: " .. failure .. ": "
      .. "The parameter is incorrect. (0x57)", tostring(e))
  end)

  it("events with null, missing or wrongly typed fields print no userdata or table", function()
    for _, doc in ipairs({
      '{"Error":1,"ErrorEvents":[{"Message":null,"StackTrace":null,"Provider":null,"EventId":null,'
        .. '"Flags":null,"Source":null}]}',
      '{"Error":1,"ErrorEvents":[null,{},{"Message":{"x":1},"EventId":"7","Provider":[1]},'
        .. '{"Message":"m","Source":null}]}',
      '{"Error":1,"ErrorEvents":"oops","ErrorMessage":{"a":null}}',
      '{"Error":1,"ErrorEvents":{"Message":"not a list"},"ErrorMessage":5}',
      '{"Error":"1","ErrorEvents":[[null]]}', "null", "[]", '"x"', "NaN",
    }) do
      local e = errors.from_core({ kind = "container", op = "Start", id = "c" }, -2147467259, doc)
      local text = tostring(e)
      assert.is_nil(text:find("userdata", 1, true), text)
      assert.is_nil(text:find("table:", 1, true), text)
      assert.is_nil(text:find("nil", 1, true), text)
    end
    local _, events = errors.parse_result('{"ErrorEvents":[{"Message":"m","Source":null,"EventId":5}]}')
    assert.same({ { Message = "m", EventId = 5 } }, events)
    -- events given by hand with json.null
    local e = errors.new({ message = "x", events = { { Message = json.null, Provider = "p" }, json.null } })
    assert.is_nil(tostring(e):find("userdata", 1, true))
  end)

  it("decoded objects drop null members; arrays keep their length; get reads null as absent", function()
    local v = assert(json.decode('{"a":null,"b":[null,1,null],"c":{"d":null}}'))
    assert.is_nil(rawget(v, "a"))
    assert.equal(3, #v.b)
    assert.equal(json.null, v.b[1])
    assert.is_nil(next(v.c))
    assert.is_nil(json.get({ A = json.null }, "a"))
    local ep = assert(hns.decode("HNSEndpoint", '{"ID":null,"Name":"n","Policies":null,"IPAddress":null,"Extra":null}'))
    assert.same({ Name = "n" }, ep)
  end)

  it("a process status with null fields reads them as zero", function()
    assert.equal(0, (hcsshim.decode_process_status(assert(json.decode(
      '{"ProcessId":1,"Exited":true,"ExitCode":null,"LastWaitResult":null,"Signal":null}')))))
    local code, err = hcsshim.decode_process_status(assert(json.decode('{"Exited":null,"ExitCode":3}')))
    assert.is_nil(code)
    assert.equal("ErrInvalidProcessState", err.name)
  end)
end)

describe("numbers given as strings", function()
  it("are refused in every integer field, naming it", function()
    for _, bad in ipairs({ "256", "0x100", " 2 ", "1e3", "", "2.0", true, {}, 2.5, -0.5 }) do
      for _, f in ipairs({ "MemoryMaximumInMB", "ProcessorCount", "ProcessorWeight", "ProcessorMaximum",
        "StorageIOPSMaximum", "StorageBandwidthMaximum", "StorageSandboxSize" }) do
        refused(schema.encode("ContainerConfig", { [f] = bad }), "ContainerConfig." .. f .. ": integer expected")
      end
      refused(schema.encode("ContainerConfig", { MappedDirectories = { { BandwidthMaximum = bad } } }),
        "MappedDirectories[1].BandwidthMaximum")
      refused(schema.encode("ProcessConfig", { ConsoleSize = { bad, 80 } }), "ProcessConfig.ConsoleSize[1]")
      refused(schema.encode("ProcessConfig", { ConsoleSize = { Height = 24, Width = bad } }),
        "ProcessConfig.ConsoleSize[2]")
      refused(schema.encode("ProcessModifyRequest",
          { Operation = "ConsoleSize", ConsoleSize = { Height = bad, Width = 1 } }),
        "ConsoleSize.Height")
      for _, pol in ipairs({ { Type = "NAT", Protocol = "TCP", InternalPort = bad, ExternalPort = 8080 },
        { Type = "NAT", Protocol = "TCP", InternalPort = 80, ExternalPort = bad },
        { Type = "QOS", MaximumOutgoingBandwidthInBytes = bad }, { Type = "ACL", Priority = bad },
        { Type = "ELB", ExternalPort = bad } }) do
        local v, err = hns.encode_endpoint({ Policies = { pol } })
        assert.is_nil(v)
        assert.equal(E_INVALIDARG, err.hresult)
        assert.matches("HNSEndpoint.Policies[1].", err.message, 1, true)
      end
      refused(schema.encode("HNSEndpoint", { PrefixLength = bad }), "HNSEndpoint.PrefixLength")
      refused(schema.encode("HNSNetwork", { DNSServerCompartment = bad, Policies = { { Type = "VLAN", VLAN = 1 } } }),
        "HNSNetwork.DNSServerCompartment")
      refused(schema.encode("HNSNetwork", { Policies = { { Type = "VLAN", VLAN = bad } } }),
        "HNSNetwork.Policies[1].VLAN")
      local pols, perr = network.nat_policies({ { ExternalPort = bad, InternalPort = 80 } })
      assert.is_nil(pols)
      assert.matches("ports[1].ExternalPort", perr, 1, true)
    end
    -- the README's wrong type: a container is not created
    local c, err = hcsshim.create_container(env.unique("strnum"), { MemoryMaximumInMB = "256" })
    assert.is_nil(c)
    assert.equal(E_INVALIDARG, err.hresult)
    assert.matches("MemoryMaximumInMB: integer expected, got string '256'", tostring(err), 1, true)
  end)

  it("integral floats and numbers in range are fine", function()
    assert.matches('"MemoryMaximumInMB":256',
      assert(schema.encode("ContainerConfig", { MemoryMaximumInMB = 256.0 })), 1, true)
    refused(schema.encode("NatPolicy", { InternalPort = 65536 }), "uint16 out of range")
    refused(schema.encode("ContainerConfig", { ProcessorCount = -1 }), "uint32 out of range")
  end)

  it("signal numbers are numbers", function()
    local signal = require("hcsshim.core").process_methods.signal
    assert.has_error(function() signal(nil, "15") end)
  end)
end)

describe("arrays that are not arrays", function()
  local nat = { Type = "NAT", Protocol = "TCP", InternalPort = 80, ExternalPort = 8080 }
  local nat3 = { Type = "NAT", Protocol = "UDP", InternalPort = 53, ExternalPort = 5353 }

  it("a single policy instead of a list, or a list with a hole, is refused naming the field", function()
    local v, err = hns.encode_endpoint({ Policies = nat })
    assert.is_nil(v)
    assert.matches("HNSEndpoint.Policies: array of policies expected", err.message, 1, true)
    v, err = hns.encode_endpoint({ Policies = { nat, nil, nat3 } })
    assert.is_nil(v)
    assert.matches("hole (nil) at [2]", err.message, 1, true)
    v, err = hns.encode_network({ Subnets = { AddressPrefix = "10.0.0.0/8" } })
    assert.is_nil(v)
    assert.matches("HNSNetwork.Subnets: array of Subnet expected", err.message, 1, true)
    v, err = hns.encode_network({ Subnets = { { AddressPrefix = "10.0.0.0/8",
      Policies = { Type = "VLAN", VLAN = 2 } } } })
    assert.is_nil(v)
    assert.matches("HNSNetwork.Subnets[1].Policies: array of policies expected", err.message, 1, true)
    v, err = hns.encode_network({ Policies = { { { Type = "VLAN" } } } })
    assert.is_nil(v)
    assert.matches("HNSNetwork.Policies[1]: a policy object", err.message, 1, true)
  end)

  it("every list field is a sequence", function()
    local layer = { ID = "bd9c3ef9-f239-59b5-a27e-15c523b1d149", Path = "/l" }
    for _, case in ipairs({
      { "ContainerConfig", { Layers = layer }, "ContainerConfig.Layers: array of Layer expected" },
      { "ContainerConfig", { Layers = { layer, nil, layer } }, "ContainerConfig.Layers: array of Layer expected" },
      { "ContainerConfig", { MappedDirectories = { [2] = { HostPath = "/a" } } }, "ContainerConfig.MappedDirectories" },
      { "ContainerConfig", { EndpointList = "ba3eb19a-0980-4546-8019-45d9addb2032" }, "ContainerConfig.EndpointList" },
      { "ContainerConfig", { MappedPipes = { HostPath = "a" } }, "ContainerConfig.MappedPipes" },
      { "ContainerConfig", { MappedVirtualDisks = { { ContainerPath = "/d" }, x = 1 } },
        "ContainerConfig.MappedVirtualDisks" },
      { "ContainerConfig", { AssignedDevices = { InterfaceClassGuid = "x" } }, "ContainerConfig.AssignedDevices" },
      { "ContainerConfig", { RegistryChanges = { AddValues = { Name = "v" } } },
        "ContainerConfig.RegistryChanges.AddValues" },
      { "ProcessConfig", { CommandArgs = { "a", nil, "c" } }, "ProcessConfig.CommandArgs" },
      { "ProcessConfig", { CommandArgs = "sh -c x" }, "ProcessConfig.CommandArgs" },
      { "ProcessConfig", { Environment = { "A=1" } }, "ProcessConfig.Environment" },
      { "ProcessConfig", { ConsoleSize = { 24, 80, 1 } }, "ProcessConfig.ConsoleSize" },
      { "ProcessConfig", { ConsoleSize = { 24, nil } }, "ProcessConfig.ConsoleSize" },
      { "ProcessConfig", { ConsoleSize = { 24, Width = 80 } }, "ProcessConfig.ConsoleSize" },
      { "ComputeSystemQuery", { Ids = "x" }, "ComputeSystemQuery.Ids" },
      { "PropertyQuery", { PropertyTypes = { "Statistics", nil, "ProcessList" } }, "PropertyQuery.PropertyTypes" },
      { "HNSNetwork", { MacPools = { StartMacAddress = "a" } }, "HNSNetwork.MacPools" },
      { "HNSEndpoint", { SharedContainers = { "a", nil, "b" } }, "HNSEndpoint.SharedContainers" },
      { "OutboundNatPolicy", { Type = "OutBoundNAT", ExceptionList = "10.0.0.0/8" },
        "OutboundNatPolicy.ExceptionList" },
      { "ELBPolicy", { Type = "ELB", VIPs = { [1.5] = "x" } }, "ELBPolicy.VIPs" },
    }) do
      refused(schema.encode(case[1], case[2]), case[3])
    end
    refused(network.nat_policies(nat), "ports: a list")
    refused(network.nat_policies({ "80:80", nil, "81:81" }), "hole")
  end)

  it("raw JSON values are checked too", function()
    refused(json.encode({ 1, nil, 3 }))
    refused(json.encode({ [1] = 1, [3] = 3 }))
    refused(json.encode({ 1, a = 2 }))
    refused(json.encode(json.array({ 1, nil, 3 })), "array is not a sequence")
    refused(schema.encode("ProcessConfig", { OCISpecification = { process = { args = { "a", nil, "b" } } } }),
      "ProcessConfig.OCISpecification")
  end)
end)

describe("integers at their limits, and empty lists", function()
  it("every uint64 round-trips exactly through decode and encode", function()
    for _, digits in ipairs({ "0", "1", "9223372036854775807", "9223372036854775808", "18446744073709551614",
      "18446744073709551615", "-9223372036854775808" }) do
      local text = "[" .. digits .. "]"
      assert.equal(text, json.encode(assert(json.decode(text))))
    end
    assert.equal("integer", math.type(json.decode("[9223372036854775807]")[1]))
    assert.equal("hcsshim.json.bignum", getmetatable(json.decode("[9223372036854775808]")[1]).__name)
  end)

  it("uint64 fields take 2^63..2^64-1 as bignums or digit strings, and refuse what is beyond", function()
    for _, v in ipairs({ json.bignum("18446744073709551615"), "18446744073709551615" }) do
      local text = assert(schema.encode("MappedDir", { BandwidthMaximum = v }))
      assert.matches('"BandwidthMaximum":18446744073709551615', text, 1, true)
    end
    for _, v in ipairs({ json.bignum("18446744073709551616"), "18446744073709551616", "99999999999999999999",
      json.bignum("-1"), -1, 2 ^ 64, "0018446744073709551615" }) do
      refused(schema.encode("MappedDir", { BandwidthMaximum = v }), "MappedDir.BandwidthMaximum")
    end
    -- int64 fields hold no uint64
    refused(schema.encode("ContainerConfig", { MemoryMaximumInMB = json.bignum("9223372036854775808") }))
    refused(schema.encode("ContainerConfig", { MemoryMaximumInMB = "9223372036854775808" }))
  end)

  -- found by fuzz_container_config, fuzz_process_config and fuzz_hns: the
  -- service's uint64 reader took the exponent digits of an overflowing real
  -- for an integer and wrote past the copy of the document
  it("a real beyond a double is refused by each service's reader, not taken for a uint64", function()
    local core = require "hcsshim.core"
    local reals = { "1e999", "18444744073709e51615", "-2.5E+400", "1.0e400", "9223372036854775808e400",
      "1E+99999999999999999999" }
    for _, r in ipairs(reals) do
      local sys, hr, result = core.create_compute_system(env.unique("real"),
        '{"SystemType":"Container","MemoryMaximumInMB":' .. r .. '}')
      assert.is_nil(sys)
      assert.equal(0xC037010D, hr & 0xFFFFFFFF, r)
      assert.matches("real number overflow", assert(json.decode(result)).ErrorMessage, 1, true)
      local v, err = hns.hns_call("POST", "/networks/", '{"Name":"x","Type":"nat","MTU":' .. r .. '}')
      assert.is_nil(v)
      assert.matches("real number overflow", tostring(err), 1, true)
    end
    local c, cleanup = env.container()
    finally(cleanup)
    assert(c:start(20))
    for _, r in ipairs(reals) do
      local p, hr, result = c:_create_process('{"CommandLine":"true","ConsoleSize":[' .. r .. ',1]}')
      assert.is_nil(p)
      assert.is_number(hr, r)
      assert.matches("real number overflow", tostring(result), 1, true)
    end
    -- the integers beside them still read as before
    local ep_digits = '{"SystemType":"Container","MemoryMaximumInMB":18446744073709551616}'
    local _, _, result = core.create_compute_system(env.unique("real"), ep_digits)
    assert.matches("outside int64 and uint64", assert(json.decode(result)).ErrorMessage, 1, true)
  end)

  it("an empty array stays an array; callers write one with json.array() or json.empty_array", function()
    assert.equal("[]", json.encode(json.decode("[]")))
    assert.equal("[]", json.encode(json.decode("[ \n ]")))
    assert.equal('{"a":[],"b":{},"c":[[]]}', json.encode(json.decode('{"a":[],"b":{},"c":[[]]}')))
    assert.equal("[]", json.encode(json.array()))
    assert.equal('{"x":[]}', json.encode({ x = json.empty_array }))
    assert.has_error(function() json.empty_array[1] = 1 end)
    assert.equal("{}", json.encode({}))
  end)

  it("an empty Layers goes out as [], an absent one as null (Go's nil slice)", function()
    assert.matches('"Layers":[]', assert(schema.encode("ContainerConfig", { Layers = {} })), 1, true)
    assert.matches('"Layers":null', assert(schema.encode("ContainerConfig", {})), 1, true)
    assert.matches('"EndpointList":[]',
      assert(schema.encode("ContainerConfig", { EndpointList = json.array() })), 1, true)
  end)
end)

describe("identifiers", function()
  local not_guids = { "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "{ccccccc-cccc-cccc-cccc-ccccccccccc}",
    "ccccccc-cccc-cccc-cccc-ccccccccccccc", "", " ba3eb19a-0980-4546-8019-45d9addb2032",
    "ba3eb19a-0980-4546-8019-45d9addb2032}", "{ba3eb19a-0980-4546-8019-45d9addb2032",
    "ba3eb19a09804546801945d9addb2032",
    "ba3eb19a-0980-4546-8019-45d9addb203\0", "../networks", "ba3eb19a-0980-4546-8019-45d9addb2032/../x" }

  it("HNS network and endpoint ids must be GUIDs; nothing reaches the collection path", function()
    for _, id in ipairs(not_guids) do
      for _, f in ipairs({ hns.get_network, hns.get_endpoint, hns.delete_network, hns.delete_endpoint }) do
        local v, err = f(id)
        assert.is_nil(v, id)
        assert.equal(E_INVALIDARG, err.hresult, id)
        assert.matches("is not a GUID", tostring(err), 1, true)
      end
      local v, err = hns.hot_attach_endpoint("c", id)
      assert.is_nil(v)
      assert.equal(E_INVALIDARG, err.hresult)
      if id ~= "" then
        v, err = hns.encode_network({ Name = "n", Id = id })
        assert.is_nil(v)
        assert.matches("HNSNetwork.Id: ", err.message, 1, true)
        v, err = hns.encode_endpoint({ VirtualNetwork = id })
        assert.is_nil(v)
        assert.matches("HNSEndpoint.VirtualNetwork: ", err.message, 1, true)
        refused(schema.encode("ContainerConfig", { EndpointList = { id } }), "ContainerConfig.EndpointList[1]")
        refused(schema.encode("ContainerConfig", { Layers = { { ID = id, Path = "/l" } } }),
          "ContainerConfig.Layers[1].ID")
      end
    end
    assert.has_error(function() hns.get_network(nil) end)
  end)

  it("GUIDs are canonicalised", function()
    local text = assert(hns.encode_endpoint({ VirtualNetwork = "{BA3EB19A-0980-4546-8019-45D9ADDB2032}" }))
    assert.equal('{"VirtualNetwork":"ba3eb19a-0980-4546-8019-45d9addb2032"}', text)
    local v, err = hns.get_network("{BA3EB19A-0980-4546-8019-45D9ADDB2032}")
    assert.is_nil(v)
    assert.is_true(hcsshim.is_not_exist(err), tostring(err))
    assert.matches("/networks/ba3eb19a-0980-4546-8019-45d9addb2032", tostring(err.op), 1, true)
  end)

  it("compute system ids: empty, NUL, control characters and invalid UTF-8 are refused", function()
    for _, id in ipairs({ "", "a\0b", "a\nb", "\255\254", "tab\tid" }) do
      local c, err = hcsshim.create_container(id, {})
      assert.is_nil(c)
      assert.equal(E_INVALIDARG, err.hresult, tostring(err))
      assert.is_nil(tostring(err):find("\n", 1, true))
      c, err = hcsshim.open_container(id)
      assert.is_nil(c)
      assert.equal(E_INVALIDARG, err.hresult)
    end
  end)

  it("layer ids are folder names: separators, dot names, NUL and Windows-forbidden names are refused", function()
    local home = env.tmpdir()
    for _, id in ipairs({ "", ".", "..", "../x", "a/b", "a\\b", "a:b", "a*b", "a?b", 'a"b', "a<b", "a|b", "a\0b",
      "a\nb", "x.", "x ", ("x"):rep(256) }) do
      for _, f in ipairs({ hcsshim.create_layer, hcsshim.activate_layer, hcsshim.destroy_layer, hcsshim.layer_exists,
        hcsshim.deactivate_layer, hcsshim.get_layer_mount_path, hcsshim.unprepare_layer }) do
        local v, err = f(home, id)
        assert.is_nil(v, id)
        assert.equal(E_INVALIDARG, err.hresult, id)
      end
      local v, err = hcsshim.create_layer(home, "fine", id ~= "" and id or ".")
      assert.is_nil(v, id)
      assert.matches("invalid layer id", tostring(err), 1, true)
      v, err = hcsshim.create_sandbox_layer(home, id, "", {})
      assert.is_nil(v, id)
      assert.equal(E_INVALIDARG, err.hresult)
    end
    assert.equal("", env.must("ls -A " .. home))
    env.must("rm -rf " .. home)
  end)
end)

describe("lists given to layer calls", function()
  it("parent layers are a list: one descriptor table or a hole is refused", function()
    local home = env.tmpdir()
    local one = { ID = "bd9c3ef9-f239-59b5-a27e-15c523b1d149", Path = home .. "/base" }
    assert.has_error(function() hcsshim.create_sandbox_layer(home, "s", "base", one) end)
    assert.has_error(function() hcsshim.prepare_layer(home, "s", { home .. "/a", nil, home .. "/c" }) end)
    assert.has_error(function() hcsshim.import_layer(home, "t", home .. "/x.tar", { x = home .. "/a" }) end)
    assert.equal("", env.must("ls -A " .. home))
    env.must("rm -rf " .. home)
  end)

  it("documents the platform returns that are not JSON are ErrUnexpectedValue, not an empty table", function()
    local v, err = errors.decode_output("[NaN]", { kind = "hcs", op = "x" })
    assert.is_nil(v)
    assert.equal("ErrUnexpectedValue", err.name)
    v, err = errors.decode_output('"text"', { kind = "hcs", op = "x" })
    assert.is_nil(v)
    assert.matches("unexpected value returned from hcs", tostring(err), 1, true)
  end)
end)

-- Found by the fuzz harnesses (spec/fuzz): a message quoting bytes that
-- are not UTF-8 (a caller's path, a JSON error cut inside a character)
-- made the result document fail to encode, so the message was lost (no
-- result, or "out of memory" from HNS).  Such bytes now read as U+FFFD.
describe("error messages that quote bytes which are not UTF-8", function()
  local FFFD = "\239\191\189"

  it("keep an HNS error, with U+FFFD for the bytes", function()
    local v, err = hns.hns_call("GET", "/networks\255\254/")
    assert.is_nil(v)
    assert.equal("hns", err.kind)
    assert.matches("/networks" .. FFFD .. FFFD .. "/` is not supported", tostring(err), 1, true)
  end)

  it("keep the result document of a compute system configuration that is not JSON", function()
    local core = require "hcsshim.core"
    -- jansson's message quotes the text up to a byte inside "ü"
    local sys, hr, result = core.create_compute_system(env.unique("utf8"), '{"Name":"\\\195\188"}')
    assert.is_nil(sys)
    assert.equal(0xC037010D, hr & 0xFFFFFFFF)
    local doc = assert(json.decode(assert(result, "no result document")))
    assert.matches("invalid escape near '\"\\" .. FFFD .. "'", doc.ErrorMessage, 1, true)
  end)
end)

-- Issue 12, item 3: the Lua schema and the C service count a field's
-- position from the same base (1, as Lua does), so one field reads the same
-- from either side.
describe("field positions in messages", function()
  it("are 1-based on both the Lua side and the C side", function()
    local core = require "hcsshim.core"
    local guid = "11111111-1111-1111-1111-111111111111"
    local _, lua_err = schema.encode("ContainerConfig", { EndpointList = { guid, 5 } })
    local sys, hr, result = core.create_compute_system(env.unique("onebase"),
      '{"SystemType":"Container","EndpointList":["' .. guid .. '",5]}')
    assert.is_nil(sys)
    assert.equal(E_INVALIDARG, hr & 0xFFFFFFFF)
    local c_msg = assert(json.decode(result)).ErrorMessage
    local lua_field = assert(lua_err:match("ContainerConfig%.(EndpointList%[%d+%])"), lua_err)
    local c_field = assert(c_msg:match("^(EndpointList%[%d+%])"), c_msg)
    assert.equal("EndpointList[2]", lua_field)
    assert.equal(lua_field, c_field)
  end)
end)
