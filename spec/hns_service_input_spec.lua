-- The Linux HNS checks what it is given on its own (issue 10, items 7 and
-- 10, C side): requests go in raw through hns_call, past the Lua checks.
-- Ids are GUIDs, parsed and canonicalised; DNS settings that end up in a
-- container's resolv.conf are checked in full, and the file is never cut.
local hcsshim = require "hcsshim"
local hns = require "hcsshim.hns"
local env = require "support.env"

local function net_req(n, extra)
  local req = { Name = env.unique("hns-in"), Type = "nat",
    Subnets = { { AddressPrefix = ("172.29.%d.0/24"):format(n), GatewayAddress = ("172.29.%d.1"):format(n) } } }
  for k, v in pairs(extra or {}) do req[k] = v end
  return req
end

-- A network made before the specs of the enclosing describe block and
-- deleted after them; returns a function giving its document.
local function network_of_block(n)
  local doc
  setup(function() doc = assert(hns.hns_call("POST", "/networks/", net_req(n))) end)
  teardown(function() hns.hns_call("DELETE", "/networks/" .. doc.ID) end)
  return function() return doc end
end

local function refused(pattern, v, err)
  assert.is_nil(v)
  assert.matches(pattern, tostring(err), 1, true)
end

-- n addresses 10.x.y.z, as one comma separated list
local function servers(n)
  local t = {}
  for i = 1, n do t[i] = ("10.%d.%d.%d"):format(i // 65536, (i // 256) % 256, i % 256) end
  return table.concat(t, ",")
end

describe("the Linux HNS on its own", function()
  describe("ids are GUIDs", function()
    local bad = { "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "{ccccccc-cccc-cccc-cccc-ccccccccccc}",
      "ccccccccccccccccccccccccccccccccccc-", "c1a5b00e-0000-4000-8000-00000000000g",
      "c1a5b00e_0000_4000_8000_000000000000",
      "{c1a5b00e-0000-4000-8000-000000000000", " c1a5b00e-0000-4000-8000-00000000000", "x" }

    it("a network ID that is not one is refused, and becomes no bridge", function()
      for _, id in ipairs(bad) do
        refused("not a GUID", hns.hns_call("POST", "/networks/", net_req(61, { ID = id })))
      end
    end)

    it("ids in paths, VirtualNetwork, an endpoint ID and EndpointList are refused alike", function()
      for _, id in ipairs({ "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "{ccccccc-cccc-cccc-cccc-ccccccccccc}", "x" }) do
        refused("not a GUID", hns.hns_call("GET", "/networks/" .. id))
        refused("not a GUID", hns.hns_call("DELETE", "/networks/" .. id))
        refused("not a GUID", hns.hns_call("GET", "/endpoints/" .. id))
        refused("not a GUID", hns.hns_call("DELETE", "/endpoints/" .. id))
        refused("not a GUID", hns.hns_call("POST", "/endpoints/", { VirtualNetwork = id }))
        refused("not a GUID", hns.hns_call("POST", "/endpoints/", { ID = id, VirtualNetworkName = "n" }))
      end
    end)

    it("a GUID in braces or upper case is the same network", function()
      local id = "C1A5B00E-2222-4000-8000-0000000000AB"
      local net = assert(hns.hns_call("POST", "/networks/", net_req(62, { ID = "{" .. id .. "}" })))
      finally(function() hns.hns_call("DELETE", "/networks/" .. id:lower()) end)
      assert.equal(id:lower(), net.ID)
      assert.equal(id:lower(), assert(hns.hns_call("GET", "/networks/{" .. id .. "}")).ID)
      local ep = assert(hns.hns_call("POST", "/endpoints/", { VirtualNetwork = "{" .. id .. "}" }))
      assert(hns.hns_call("DELETE", "/endpoints/{" .. ep.ID:upper() .. "}"))
    end)
  end)

  describe("DNS settings", function()
    local net = network_of_block(66)

    it("a search suffix or domain that would inject lines is refused, naming the field", function()
      for _, f in ipairs({ "DNSSuffix", "DNSDomain" }) do
        for _, v in ipairs({ "a.test\nnameserver 6.6.6.6", "a.test\rx", "a.test#x", "a;b", "a\tb", "a..b", ".a",
          "é.test", ("l"):rep(64) .. ".test", ("a."):rep(127) .. "ab", "*.test" }) do
          local req = f == "DNSSuffix" and net_req(63, { [f] = v }) or { VirtualNetwork = net().ID, [f] = v }
          local path = f == "DNSSuffix" and "/networks/" or "/endpoints/"
          refused(f, hns.hns_call("POST", path, req))
        end
        refused("expected a string", hns.hns_call("POST", "/networks/", net_req(63, { DNSSuffix = 5 })))
      end
    end)

    it("DNSServerList is checked in full, however long", function()
      refused("DNSServerList", hns.hns_call("POST", "/networks/",
        net_req(64, { DNSServerList = servers(300) .. ",1.2.3.4\nsearch evil" })))
      refused("`x`", hns.hns_call("POST", "/networks/", net_req(64, { DNSServerList = servers(300) .. ",x" })))
      refused("DNSServerList", hns.hns_call("POST", "/endpoints/",
        { VirtualNetwork = net().ID, DNSServerList = servers(200) .. ",1.2.3.4#" }))
    end)

    it("a resolv.conf beyond 4 KiB is written whole", function()
      local list, suffixes = servers(400), {}
      for i = 1, 150 do suffixes[i] = ("s%d.example.test"):format(i) end
      local big = assert(hns.hns_call("POST", "/networks/",
        net_req(65, { DNSServerList = list, DNSSuffix = table.concat(suffixes, ",") })))
      finally(function() hns.hns_call("DELETE", "/networks/" .. big.ID) end)
      local ep = assert(hns.hns_call("POST", "/endpoints/", { VirtualNetwork = big.ID }))
      local _, cleanup, id = env.container({ EndpointList = { ep.ID } })
      local text = env.slurp(env.runtime_root .. "/systems/" .. id .. "/etc/resolv.conf", false)
      cleanup()
      hns.hns_call("DELETE", "/endpoints/" .. ep.ID)
      assert.is_string(text)
      assert.is_true(#text > 4096)
      assert.matches("nameserver 10.0.1.144\n", text, 1, true) -- the 400th
      assert.matches(" s150.example.test\n", text, 1, true)
    end)
  end)

  describe("uint64 values beyond int64", function()
    local net = network_of_block(67)

    local function qos(digits)
      return ('{"VirtualNetwork":"%s","Policies":[{"Type":"QOS","MaximumOutgoingBandwidthInBytes":%s}]}')
        :format(net().ID, digits)
    end

    it("a QOS bandwidth of 2^63 .. 2^64-1 is taken as unlimited; beyond uint64 is refused", function()
      for _, digits in ipairs({ "18446744073709551615", "9223372036854775808", "9223372036854775807" }) do
        local ep = assert(hns.hns_call("POST", "/endpoints/", qos(digits)))
        assert(hns.hns_call("DELETE", "/endpoints/" .. ep.ID))
      end
      for _, digits in ipairs({ "18446744073709551616", "99999999999999999999999", "-9223372036854775809" }) do
        refused("outside int64 and uint64", hns.hns_call("POST", "/endpoints/", qos(digits)))
      end
    end)

    it("a container's storage limits of 2^64-1 mean no throttle; its ProcessorWeight of 2^64-1 is refused", function()
      local big = hcsshim.json.bignum("18446744073709551615")
      local c, cleanup = env.container({ StorageBandwidthMaximum = big, StorageIOPSMaximum = big })
      assert.is_true(c:is_open())
      cleanup()
      local ok, err = pcall(env.container, { ProcessorWeight = big })
      assert.is_false(ok)
      assert.matches("ProcessorWeight", tostring(err), 1, true)
      assert.matches("0..10000", tostring(err), 1, true)
    end)
  end)

  describe("host ports already in use", function()
    local net = network_of_block(68)

    -- A host process holding port/proto on addr until stop() (perl-base's
    -- IO::Socket); returns stop.
    local function hold(addr, port, proto)
      local ready = env.tmpdir() .. "/ready"
      local pid = env.must(("perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => \"%s\", "
        .. "LocalPort => %d, Proto => \"%s\", %s) or die \"$!\"; open(F, \">%s\"); close F; sleep 120' "
        .. ">/dev/null 2>&1 & echo $!"):format(addr, port, proto, proto == "tcp" and "Listen => 5" or "", ready))
      env.must(("for i in $(seq 100); do [ -e %s ] && break; sleep 0.05; done; [ -e %s ]"):format(ready, ready))
      return function() env.sh("kill " .. pid:gsub("%s+", "")) end
    end

    local function nat(port, proto)
      return { VirtualNetwork = net().ID, Policies = { { Type = "NAT", Protocol = proto, InternalPort = 80,
        ExternalPort = port } } }
    end

    it("an endpoint publishing a port a host process listens on is refused, naming the port", function()
      for _, case in ipairs({ { "0.0.0.0", 18411, "tcp", "TCP" }, { "127.0.0.1", 18412, "tcp", "TCP" },
        { "0.0.0.0", 18413, "udp", "UDP" }, { "127.0.0.1", 18414, "udp", "UDP" } }) do
        local stop = hold(case[1], case[2], case[3])
        local v, err = hns.hns_call("POST", "/endpoints/", nat(case[2], case[4]))
        -- the other protocol on the same port is free
        local other = assert(hns.hns_call("POST", "/endpoints/", nat(case[2], case[4] == "TCP" and "UDP" or "TCP")))
        stop()
        assert(hns.hns_call("DELETE", "/endpoints/" .. other.ID))
        refused(("host port %d/%s is already in use"):format(case[2], case[3]), v, err)
      end
    end)

    it("attach refuses a port taken since the endpoint was made, and leaves nothing behind", function()
      local ep = assert(hns.hns_call("POST", "/endpoints/", nat(18415, "TCP")))
      local stop = hold("0.0.0.0", 18415, "tcp")
      local ok, err = pcall(env.container, { EndpointList = { ep.ID } })
      stop()
      local after = assert(hns.hns_call("GET", "/endpoints/" .. ep.ID))
      assert(hns.hns_call("DELETE", "/endpoints/" .. ep.ID))
      assert.is_false(ok)
      assert.matches("host port 18415/tcp is already in use", tostring(err), 1, true)
      assert.is_true(after.SharedContainers == nil or #after.SharedContainers == 0)
    end)
  end)

  it("hot attach takes an endpoint id only as a GUID", function()
    local c, cleanup = env.container()
    local ok, err = pcall(function()
      for _, id in ipairs({ "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "{ccccccc-cccc-cccc-cccc-ccccccccccc}" }) do
        for _, settings in ipairs({ id, { EndpointId = id } }) do
          local v, merr = c:modify({ ResourceType = "Network", RequestType = "Add", Settings = settings })
          refused("GUID", v, merr)
        end
      end
    end)
    cleanup()
    assert(ok, err)
  end)
end)
