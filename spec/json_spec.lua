local hcsshim = require "hcsshim"
local json = hcsshim.json

local function fixture(name)
  local f = assert(io.open("spec/fixtures/real-json/" .. name))
  local s = f:read("a")
  f:close()
  return s
end

describe("JSON numbers", function()
  it("decode integers as exact Lua integers", function()
    local v = json.decode('{"ExitCode":3,"t":132549434331374447,"neg":-9223372036854775808,"max":9223372036854775807}')
    assert.equal("integer", math.type(v.ExitCode))
    assert.equal("3", tostring(v.ExitCode))
    assert.equal(132549434331374447, v.t)
    assert.equal(math.mininteger, v.neg)
    assert.equal(math.maxinteger, v.max)
  end)

  it("keep non-integers as floats", function()
    local v = json.decode('[2.5, 1e3, -0.25, 1E-2]')
    assert.equal("float", math.type(v[1]))
    assert.equal(1000.0, v[2])
    assert.equal(-0.25, v[3])
  end)

  it("keep object keys that begin with U+0001 (the marker byte) as they are", function()
    -- found by spec/fuzz/fuzz_json.c: such keys came back with the escape marker
    for _, key in ipairs({ "\1a", "\1\2 5", "\1\3x", "\1", "\1\4" }) do
      local text = assert(json.encode({ [key] = key }))
      local v = assert(json.decode(text))
      assert.equal(key, next(v))
      assert.equal(key, v[key])
      assert.equal(text, json.encode(v))
    end
  end)

  it("keep the sign of -0 (a float, as in Go), so that it encodes back as -0", function()
    -- found by spec/fuzz/fuzz_json.c: "-0" came back as the integer 0
    for _, text in ipairs({ "-0", "[-0]", '{"a":-0}', "-0.0", "-0e0" }) do
      local v = json.decode(text)
      local x = type(v) == "table" and (v[1] or v.a) or v
      assert.equal("float", math.type(x), text)
      assert.equal("-0", string.format("%g", x), text)
      assert.equal(json.encode(v), json.encode(json.decode(json.encode(v))), text)
    end
    assert.equal("[-0]", json.encode(json.decode("[-0]")))
    assert.equal("0", json.encode(json.decode("0")))
  end)

  it("encode every int64 exactly, never in exponent form", function()
    for _, n in ipairs({ 0, 1, -1, 132549434331374447, 2 ^ 53 // 1, 2 ^ 53 // 1 + 1,
      math.maxinteger, math.mininteger }) do
      local text = json.encode({ n })
      assert.equal("[" .. string.format("%d", n) .. "]", text)
      assert.equal(n, json.decode(text)[1])
    end
  end)

  it("keep uint64 values above 2^63 as exact bignums", function()
    local v = json.decode('{"c":18446744073709551615}')
    assert.equal("hcsshim.json.bignum", getmetatable(v.c).__name)
    assert.equal("18446744073709551615", tostring(v.c))
    assert.equal('{"c":18446744073709551615}', json.encode(v))
  end)

  it("leave numbers inside strings alone", function()
    local v = json.decode('{"s":"12 and \\"34\\"", "k":"-5"}')
    assert.equal('12 and "34"', v.s)
    assert.equal("-5", v.k)
  end)

  it("reports invalid JSON instead of raising", function()
    for _, bad in ipairs({ '{"a":', "[-]", "[1-2]", "[--5]", "[01]", "[-01]", "[1.]" }) do
      local v, err = json.decode(bad)
      assert.is_nil(v, bad)
      assert.matches("invalid JSON", err)
    end
  end)

  it("cannot be fooled by strings that look like its integer marker", function()
    local v = json.decode('{"a":"\\u0001\\u000242","b":"\\u0001x","c":"\\u0001\\u0003y"}')
    assert.equal("string", type(v.a))
    assert.equal("\1\2" .. "42", v.a)
    assert.equal("\1x", v.b)
    assert.equal("\1\3y", v.c)
    assert.same(v, json.decode(assert(json.encode(v))))
  end)

  it("writes floats in their shortest exact form", function()
    assert.equal("[0.1,2.5,0.3333333333333333,1e+300]", json.encode({ 0.1, 2.5, 1 / 3, 1e300 }))
  end)

  it("encodes strings as Go does", function()
    assert.equal('"C:/a/<b>&c"',
      json.encode("C:/a/<b>&c"):gsub("\\u003c", "<"):gsub("\\u003e", ">"):gsub("\\u0026", "&"))
    assert.equal('"\\u003c\\u0026\\u003e"', json.encode("<&>"))
    assert.equal('"a/b"', json.encode("a/b"))
  end)

  it("decode keys case-insensitively through get", function()
    local v = json.decode('{"ProcessID":7,"processid":8}')
    assert.is_not_nil(json.get(v, "ProcessId"))
    assert.equal(7, json.get({ ProcessID = 7 }, "ProcessId"))
    assert.is_nil(json.get(v, "Missing"))
  end)
end)

describe("real HCS and HNS documents", function()
  it("decode the live statistics document", function()
    local s = json.decode(fixture("16-props-statistics-live.json"))
    assert.equal(30560508, s.Uptime100ns)
    assert.equal("integer", math.type(s.Memory.MemoryUsageCommitBytes))
    assert.equal(1089224704, s.Memory.MemoryUsageCommitBytes)
    assert.equal(17454902, json.get(s.Processor, "totalruntime100ns"))
    assert.equal(56402, s.Network[1].BytesReceived)
  end)

  it("keep HNS timestamps and versions exact", function()
    local e = json.decode(fixture("21-hns-endpoint-nat-1809.json"))
    assert.equal(132178696023852504, e.CreateProcessingStartTime)
    assert.equal(132178696023822506, e.Health.LastUpdateTime)
    assert.equal(38654705666, e.Version)
    assert.equal("BA3EB19A-0980-4546-8019-45D9ADDB2032", json.get(e, "Id"))
    local text = json.encode(e)
    assert.matches("132178696023852504", text, 1, true)
    assert.is_nil(text:find("e+", 1, true))
  end)

  it("decode every fixture", function()
    for _, name in ipairs({ "02-config-process-isolated-isdummy-servicing.json", "04-config-k8s-pod-netshared.json",
      "10-process-user-network-service.json", "14-result-error-signed-hresult.json", "16-props-statistics-live.json",
      "19-hns-endpoint-v1-nat-acl.json", "21-hns-endpoint-nat-1809.json", "23-hns-post-network-response-nat.json" }) do
      local v, err = json.decode(fixture(name))
      assert.is_table(v, name .. ": " .. tostring(err))
      local again = json.decode(assert(json.encode(v)))
      assert.same(v, again)
    end
    local env = json.decode(fixture("23-hns-post-network-response-nat.json"))
    assert.equal(133928875495496471, env.Output.Health.LastUpdateTime)
    assert.equal(131305154024995475, json.decode(fixture("19-hns-endpoint-v1-nat-acl.json")).CreateProcessingStartTime)
  end)
end)
