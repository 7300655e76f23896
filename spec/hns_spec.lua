-- HNS networks and endpoints through CNI, on real containers.  Subnets
-- 172.29.x.0/24 and 10.213.0.0/16 (away from the host's DNS server
-- 10.255.255.53); traffic only between namespaces made here and to 127.0.0.1.
local hcsshim = require "hcsshim"
local hns = require "hcsshim.hns"
local env = require "support.env"

local LUA = env.lua

local function netns_of(id) return env.runtime_root .. "/netns/" .. id end

local function nat_net(n, extra)
  local net = { Name = env.unique("hns-nat"), Type = "nat",
    Subnets = { { AddressPrefix = ("172.29.%d.0/24"):format(n), GatewayAddress = ("172.29.%d.1"):format(n) } } }
  for k, v in pairs(extra or {}) do net[k] = v end
  return assert(hns.create_network(net))
end

-- A host interface for transparent networks, unique to the run and removed
-- by the returned function: a dummy where the kernel has them, else one end
-- of a veth pair (the leak spec looks for both names).
local adapters = 0
local function host_adapter()
  adapters = adapters + 1
  local name = ("tpa%05d%d"):format(os.time() % 100000, adapters)
  local peer = "tpb" .. name:sub(4)
  local _, ok = env.sh(("ip link add %s type dummy"):format(name))
  if not ok then
    env.must(("ip link add %s type veth peer name %s && ip link set %s up"):format(name, peer, peer))
  else
    peer = nil
  end
  env.must(("ip link set %s up"):format(name))
  return name, peer, function() env.sh("ip link del " .. name) end
end

-- new lines of `cmd` compared with `before`
local function new_lines(cmd, before)
  local out = {}
  for l in pairs(env.net_lines(cmd)) do
    if not before[l] then out[#out + 1] = l end
  end
  return out
end
local IFBS = "ip -o link show type ifb | awk -F': ' '{print $2}' | cut -d@ -f1"

describe("hcsshim.hns", function()
  it("loads on its own, without the compute-system modules", function()
    local out = env.must(LUA .. [[ -e 'require "hcsshim.hns"; ]]
      .. [[for _, m in ipairs{"hcsshim", "hcsshim.system", "hcsshim.process"} do ]]
      .. [[if package.loaded[m] then print("loaded " .. m) end end']])
    assert.equal("", out)
  end)

  describe("encoding", function()
    it("writes policies as hcsshim does (v0.5.2's NatPolicy has no omitempty)", function()
      local schema = require "hcsshim.schema"
      assert.equal('{"Type":"NAT","Protocol":"","InternalPort":0,"ExternalPort":0}',
        schema.encode("NatPolicy", { Type = "NAT" }))
      assert.equal('{"Type":"NAT","Protocol":"TCP","InternalPort":80,"ExternalPort":8080}',
        schema.encode("NatPolicy", { Type = "NAT", Protocol = "TCP", InternalPort = 80, ExternalPort = 8080 }))
      local acl = assert(schema.encode("ACLPolicy",
        { Type = "ACL", LocalAddresses = "10.0.0.0/8", RemoteAddresses = "1.2.3.4" }))
      assert.matches('"LocalAddresses":"10.0.0.0/8"', acl, 1, true)
      assert.matches('"RemoteAddresses":"1.2.3.4"', acl, 1, true)
      local text = assert(hns.encode_endpoint({ VirtualNetworkName = "n", Policies = { { type = "nat" } } }))
      assert.equal('{"VirtualNetworkName":"n","Policies":[{"Type":"nat","Protocol":"",'
        .. '"InternalPort":0,"ExternalPort":0}]}', text)
      assert.equal('{"Name":"x","Type":"nat"}', assert(hns.encode_network({ type = "nat", name = "x" })))
    end)

    it("decodes case-insensitively onto the canonical names", function()
      local f = assert(io.open("spec/fixtures/real-json/21-hns-endpoint-nat-1809.json"))
      local ep = assert(hns.decode("HNSEndpoint", f:read("a")))
      f:close()
      assert.equal("BA3EB19A-0980-4546-8019-45D9ADDB2032", ep.ID)
      assert.equal(20, ep.PrefixLength)
      local n = assert(hns.decode("HNSNetwork", '{"id":"abc","NAME":"x","subnets":[]}'))
      assert.equal("abc", n.ID)
      assert.equal("x", n.Name)
    end)
  end)

  describe("refuses locally, before anything is created", function()
    local function count()
      return #assert(hns.list_networks()), #assert(hns.list_endpoints())
    end
    it("a subnet that is not CIDR, a gateway outside its subnet", function()
      local n0, e0 = count()
      local ok, err = hns.create_network({ Name = "bad1", Type = "nat",
        Subnets = { { AddressPrefix = "172.29.40.0", GatewayAddress = "172.29.40.1" } } })
      assert.is_nil(ok)
      assert.matches("not an IPv4 CIDR prefix", tostring(err), 1, true)
      assert.equal(0x80070057, err.hresult)
      ok, err = hns.create_network({ Name = "bad2", Type = "nat",
        Subnets = { { AddressPrefix = "172.29.40.0/24", GatewayAddress = "172.29.41.1" } } })
      assert.is_nil(ok)
      assert.matches("outside its subnet", tostring(err), 1, true)
      assert.same({ n0, e0 }, { count() })
    end)
    it("a port out of range, a duplicate name", function()
      local net = nat_net(42)
      local n0, e0 = count()
      local ok, err = hns.create_endpoint({ VirtualNetwork = net.ID,
        Policies = { { Type = "NAT", Protocol = "TCP", InternalPort = 80, ExternalPort = 70000 } } })
      assert.is_nil(ok)
      assert.matches("out of range", tostring(err), 1, true)
      ok, err = hns.create_endpoint({ VirtualNetwork = net.ID,
        Policies = { { Type = "NAT", Protocol = "TCP", InternalPort = 0, ExternalPort = 8080 } } })
      assert.is_nil(ok)
      assert.matches("InternalPort", tostring(err), 1, true)
      ok, err = hns.create_network({ Name = net.Name, Type = "nat",
        Subnets = { { AddressPrefix = "172.29.43.0/24", GatewayAddress = "172.29.43.1" } } })
      assert.is_nil(ok)
      assert.matches("already exists", tostring(err), 1, true)
      assert.equal("ERROR_ALREADY_EXISTS", err.name)               -- not E_INVALIDARG
      local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID, Name = "dup-ep" }))
      ok, err = hns.create_endpoint({ VirtualNetwork = net.ID, Name = "dup-ep" })
      assert.is_nil(ok)
      assert.matches("already exists", tostring(err), 1, true)
      assert.equal("ERROR_ALREADY_EXISTS", err.name)
      assert.same({ n0, e0 + 1 }, { count() })
      assert(hns.delete_endpoint(ep.ID))
      assert(hns.delete_network(net.ID))
    end)
    it("a network whose bridge name another network already uses", function()
      local a = assert(hns.create_network({ ID = "c1a5b00e-0000-4000-8000-000000000001",
        Name = env.unique("hns-br1"), Type = "internal",
        Subnets = { { AddressPrefix = "172.29.48.0/24" } } }))
      local ok, err = hns.create_network({ ID = "C1A5B00E-1111-4000-8000-000000000002",
        Name = env.unique("hns-br2"), Type = "internal",
        Subnets = { { AddressPrefix = "172.29.49.0/24" } } })
      assert.is_nil(ok)
      assert.matches("would use bridge hnsc1a5b00e, which network", tostring(err), 1, true)
      assert(hns.delete_network(a.ID))
    end)
    it("and the service refuses the same through the raw call", function()
      local out, err = hns.hns_call("POST", "/networks/", '{"Name":"raw","Type":"nat",'
        .. '"Subnets":[{"AddressPrefix":"172.29.44.0/24","GatewayAddress":"172.29.45.1"}]}')
      assert.is_nil(out)
      assert.matches("^HNS failed with error : Subnets%[1%].GatewayAddress 172.29.45.1 is outside its subnet",
        tostring(err))
      out, err = hns.hns_call("POST", "/networks/", '{"Name":"raw","Type":"overlay","Subnets":[]}')
      assert.is_nil(out)
      assert.matches("not supported on Linux", tostring(err), 1, true)
    end)
  end)

  describe("errors", function()
    it("a missing network or endpoint is not-exist", function()
      local g = "00000000-0000-0000-0000-00000000abcd"
      for _, f in ipairs({ function() return hns.get_network(g) end, function() return hns.get_endpoint(g) end,
        function() return hns.get_network_by_name("no-such-net") end,
        function() return hns.get_endpoint_by_name("no-such-ep") end,
        function() return hns.delete_endpoint(g) end, function() return hns.delete_network(g) end }) do
        local ok, err = f()
        assert.is_nil(ok)
        assert.is_true(hcsshim.is_not_exist(err), tostring(err))
      end
      local _, err = hns.get_endpoint(g)
      assert.equal("EndpointNotFound", err.name)
      assert.equal(0x80070490, err.hresult)
    end)
    it("unsupported types and policies fail clearly, never silently", function()
      local net = nat_net(46)
      for _, p in ipairs({ { Type = "ACL", Action = "Block", Direction = "In" },
        { Type = "ROUTE", DestinationPrefix = "10.0.0.0/8" },
        { Type = "OutBoundNAT" }, { Type = "VLAN", VLAN = 5 }, { Type = "ELB" } }) do
        local ok, err = hns.create_endpoint({ VirtualNetwork = net.ID, Policies = { p } })
        assert.is_nil(ok)
        assert.matches("on Linux", tostring(err), 1, true)
      end
      local ok, err = hns.create_network({ Name = "t-vlan", Type = "transparent", NetworkAdapterName = "no-such-if0",
        Subnets = { { AddressPrefix = "172.29.47.0/24" } } })
      assert.is_nil(ok)
      assert.matches("no such network interface", tostring(err), 1, true)
      assert(hns.delete_network(net.ID))
    end)
  end)

  describe("network settings", function()
    it("MacPools: endpoints get the pool's MACs in order; an exhausted pool is refused clearly", function()
      local net = nat_net(53,
        { MacPools = { { StartMacAddress = "00-15-5D-AB-CD-FE", EndMacAddress = "00-15-5d-ab-ce-00" } } })
      finally(function() hns.delete_network(net.ID, { force = true }) end)
      assert.same({ { StartMacAddress = "00-15-5D-AB-CD-FE", EndMacAddress = "00-15-5D-AB-CE-00" } },
        hns.get_network(net.ID).MacPools)
      local eps = {}
      for i = 1, 3 do eps[i] = assert(hns.create_endpoint({ VirtualNetwork = net.ID })) end
      assert.same({ "00-15-5D-AB-CD-FE", "00-15-5D-AB-CD-FF", "00-15-5D-AB-CE-00" },
        { eps[1].MacAddress, eps[2].MacAddress, eps[3].MacAddress })
      local n0 = #assert(hns.list_endpoints())
      local ok, err = hns.create_endpoint({ VirtualNetwork = net.ID })
      assert.is_nil(ok)
      assert.matches("has no free MAC address left in its MacPools", tostring(err), 1, true)
      assert.equal(n0, #assert(hns.list_endpoints()))
      -- a freed MAC is given again, the lowest first
      assert(hns.delete_endpoint(eps[2].ID))
      local again = assert(hns.create_endpoint({ VirtualNetwork = net.ID }))
      assert.equal("00-15-5D-AB-CD-FF", again.MacAddress)
    end)
  end)

  describe("with containers", function()
    local net, cleanups = nil, {}
    before_each(function()
      net = nat_net(50, { DNSServerList = "172.29.50.1,172.29.50.53", DNSSuffix = "hns.test" })
    end)
    after_each(function()
      for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
      cleanups = {}
      hns.delete_network(net.ID, { force = true })
    end)
    local function container(eps)
      local c, cleanup, id = env.container({ EndpointList = eps })
      cleanups[#cleanups + 1] = cleanup
      assert(c:start())
      return c, id
    end

    it("attach at create: two containers ping each other, DNS is in resolv.conf, the host reaches port 80", function()
      local e1 = assert(hns.create_endpoint({ VirtualNetwork = net.ID,
        Policies = { { Type = "NAT", Protocol = "TCP", InternalPort = 80, ExternalPort = 18481 } } }))
      local e2 = assert(hns.create_endpoint({ VirtualNetwork = net.ID, IPAddress = "172.29.50.77",
        MacAddress = "00-15-5D-29-50-77" }))
      assert.equal("172.29.50.77", e2.IPAddress)
      local c1, id1 = container({ e1.ID })
      local c2, id2 = container({ e2.ID })
      local a = hns.get_endpoint(e1.ID)
      assert.equal(2, a.State)
      assert.same({ id1 }, a.SharedContainers)
      local out = env.run(c1, "ip addr show eth0")
      assert.matches(e1.IPAddress .. "/24", out, 1, true)
      assert.matches("00:15:5d:29:50:77", env.run(c2, "ip link show eth0"), 1, true)
      -- ICMP between the two namespaces (busybox ping needs CAP_NET_RAW,
      -- which containers do not get, so it runs from the host's side)
      env.must(("nsenter --net=%s busybox ping -c1 -W3 %s"):format(netns_of(id2), e1.IPAddress))
      env.must(("nsenter --net=%s busybox ping -c1 -W3 %s"):format(netns_of(id1), e2.IPAddress))
      local resolv = env.run(c2, "cat /etc/resolv.conf")
      assert.matches("nameserver 172.29.50.1\nnameserver 172.29.50.53", resolv, 1, true)
      assert.matches("search hns.test", resolv, 1, true)
      -- a web server in c1, reached from c2 (TCP) and from the host through the NAT mapping
      env.run(c1, "sh -c 'mkdir -p /tmp/www && echo hello-from-c1 > /tmp/www/index.html'")
      local web = assert(c1:create_process({ CommandLine = "httpd -f -p 80 -h /tmp/www" }))
      local page
      for _ = 1, 50 do
        page = env.sh("curl -s --max-time 3 http://127.0.0.1:18481/")
        if page:find("hello") then break end
        os.execute("sleep 0.1")
      end
      assert.equal("hello-from-c1\n", page)
      local reply = env.run(c2, ("sh -c 'printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc %s 80'"):format(e1.IPAddress))
      assert.matches("hello-from-c1", reply, 1, true)
      web:kill()
      web:close()
      -- an attached endpoint cannot be deleted; the network cannot go while it has endpoints
      local ok, err = hns.delete_endpoint(e1.ID)
      assert.is_nil(ok)
      assert.matches("is attached to compute system " .. id1, tostring(err), 1, true)
      ok, err = hns.delete_network(net.ID)
      assert.is_nil(ok)
      assert.matches("still has 2 endpoint(s)", tostring(err), 1, true)
      -- deleting the container detaches its endpoint
      cleanups[1]()
      local d = assert(hns.get_endpoint(e1.ID))
      assert.equal(1, d.State)
      assert.same({}, d.SharedContainers or {})
      assert.equal("gone\n", env.sh("test -e " .. netns_of(id1) .. " || echo gone"))
      assert(hns.delete_endpoint(e1.ID))
    end)

    it("hot attach into and detach from a running container", function()
      local c, id = container(nil)
      assert.not_matches("eth0", env.run(c, "ip link"))
      local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID }))
      assert(c:modify({ ResourceType = "Network", RequestType = "Add", Settings = ep.ID }))
      assert.matches(ep.IPAddress, env.run(c, "ip addr show eth0"), 1, true)
      assert.matches("nameserver 172.29.50.1", env.run(c, "cat /etc/resolv.conf"), 1, true)
      assert.same({ id }, hns.get_endpoint(ep.ID).SharedContainers)
      -- attaching again is harmless; a second container cannot take it
      assert(hns.hot_attach_endpoint(id, ep.ID))
      local c2, id2 = container(nil)
      local ok2, err2 = c2:modify({ ResourceType = "Network", RequestType = "Add", Settings = ep.ID })
      assert.is_nil(ok2)
      assert.matches("already attached to compute system " .. id, tostring(err2), 1, true)
      assert.not_matches("eth0", env.run(c2, "ip link"))
      assert.same({ id }, hns.get_endpoint(ep.ID).SharedContainers)
      assert.is_string(id2)
      assert(c:modify({ ResourceType = "Network", RequestType = "Remove", Settings = ep.ID }))
      assert.not_matches("eth0", env.run(c, "ip link"))
      -- the last DNS-carrying endpoint is gone: its nameservers go too
      assert.not_matches("172.29.50", env.run(c, "cat /etc/resolv.conf"))
      assert.equal(1, hns.get_endpoint(ep.ID).State)
      local ok, err = c:modify({ ResourceType = "Network", RequestType = "Add",
        Settings = "00000000-0000-0000-0000-000000000000" })
      assert.is_nil(ok)
      assert.is_true(hcsshim.is_not_exist(err), tostring(err))
      assert(hns.delete_endpoint(ep.ID))
    end)

    it("an internal network has no route out", function()
      local inet = assert(hns.create_network({ Name = env.unique("hns-int"), Type = "internal",
        Subnets = { { AddressPrefix = "172.29.51.0/24" } } }))
      cleanups[#cleanups + 1] = function() assert(hns.delete_network(inet.ID, { force = true })) end
      local e1 = assert(hns.create_endpoint({ VirtualNetwork = inet.ID }))
      local e2 = assert(hns.create_endpoint({ VirtualNetwork = inet.ID }))
      local c1 = container({ e1.ID })
      local _, id2 = container({ e2.ID })
      local routes = env.run(c1, "cat /proc/net/route")
      assert.not_matches("\n%w+\t00000000\t", routes)
      assert.matches("eth0", routes, 1, true)
      env.must(("nsenter --net=%s busybox ping -c1 -W3 %s"):format(netns_of(id2), e1.IPAddress))
    end)

    it("network delete with force detaches and deletes, and removes the bridge", function()
      local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID }))
      local _, id = container({ ep.ID })
      local br = "hns" .. net.ID:sub(1, 8)
      assert.matches(br, env.sh("ip -o link show"), 1, true)
      assert(hns.delete_network(net.ID, { force = true }))
      assert.is_nil(hns.get_endpoint(ep.ID))
      assert.is_nil(env.sh("ip -o link show"):find(br, 1, true))
      assert.not_matches("eth0", (env.sh(("nsenter --net=%s ip -o link"):format(netns_of(id)))))
    end)

    it("a QOS policy limits the container's outgoing bandwidth (bandwidth plugin); detach removes the limit", function()
      local ifbs0 = env.net_lines(IFBS)
      local c = container(nil)
      -- 250000 bytes/s is 2 Mbit/s
      local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID,
        Policies = { { Type = "QOS", MaximumOutgoingBandwidthInBytes = 250000 } } }))
      assert(c:modify({ ResourceType = "Network", RequestType = "Add", Settings = ep.ID }))
      assert.matches(ep.IPAddress, env.run(c, "ip addr show eth0"), 1, true)
      local ifbs = new_lines(IFBS, ifbs0)
      assert.equal(1, #ifbs)
      local qd = env.must("tc qdisc show dev " .. ifbs[1])
      assert.matches("qdisc tbf .* rate 2Mbit", qd)
      -- the host side of the container's veth redirects what it receives to the ifb
      local veth = env.must(("ip -o link show master hns%s type veth | awk -F': ' '{print $2}' | cut -d@ -f1")
        :format(net.ID:sub(1, 8)))
        :match("^(%S+)")
      assert.is_string(veth)
      assert.matches("mirred.*" .. ifbs[1], env.must(("tc filter show dev %s parent ffff:"):format(veth)))
      assert(c:modify({ ResourceType = "Network", RequestType = "Remove", Settings = ep.ID }))
      assert.same({}, new_lines(IFBS, ifbs0))
      assert.not_matches("tbf", (env.sh("tc qdisc show")))
      assert(hns.delete_endpoint(ep.ID))
    end)

    it("re-plumbs a network whose bridge is gone (as after a reboot) when it is next used", function()
      local br = "hns" .. net.ID:sub(1, 8)
      env.must("ip link del " .. br)
      assert.is_nil(env.sh("ip -o link show"):find(br, 1, true))
      local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID }))
      local _, id = container({ ep.ID })
      assert.matches("inet 172.29.50.1/24", env.must("ip -o addr show dev " .. br), 1, true)
      assert.matches("state UP", env.must("ip link show dev " .. br), 1, true)
      env.must(("nsenter --net=%s busybox ping -c1 -W3 172.29.50.1"):format(netns_of(id)))
      assert.equal(2, hns.get_endpoint(ep.ID).State)
    end)

    describe("transparent networks on NetworkAdapterName", function()
      local adapter, peer, remove
      before_each(function() adapter, peer, remove = host_adapter() end)
      after_each(function()
        for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
        cleanups = {}
        remove()
        assert.is_nil(env.sh("ip -o link show"):find(adapter, 1, true))
      end)

      for _, ntype in ipairs({ "transparent", "l2bridge" }) do
      it(ntype .. ": attach gives the container a macvlan with the endpoint's IP and MAC;"
        .. " detach and delete undo it", function()
        local t = assert(hns.create_network({ Name = env.unique("hns-tr"), Type = ntype, NetworkAdapterName = adapter,
          Subnets = { { AddressPrefix = "172.29.54.0/24", GatewayAddress = "172.29.54.1" } } }))
        cleanups[#cleanups + 1] = function() assert(hns.delete_network(t.ID, { force = true })) end
        assert.equal(adapter, hns.get_network(t.ID).NetworkAdapterName)
        local c, id = container(nil)
        local ep = assert(hns.create_endpoint({ VirtualNetwork = t.ID, MacAddress = "00-15-5D-29-54-0A" }))
        assert.equal("172.29.54.2", ep.IPAddress)
        assert(c:modify({ ResourceType = "Network", RequestType = "Add", Settings = ep.ID }))
        local addr = env.run(c, "ip addr show eth0")
        assert.matches("inet 172.29.54.2/24", addr, 1, true)
        assert.matches("link/ether 00:15:5d:29:54:0a", addr, 1, true)
        assert.matches("default via 172.29.54.1", env.run(c, "ip route"), 1, true)
        assert.matches("macvlan", env.sh(("nsenter --net=%s ip -d link show eth0"):format(netns_of(id))), 1, true)
        if peer then
          -- the other end of the veth is the wire: the container answers there
          env.must(("ip addr add 172.29.54.200/24 dev %s"):format(peer))
          env.must("busybox ping -c1 -W3 -I " .. peer .. " 172.29.54.2")
        end
        assert(c:modify({ ResourceType = "Network", RequestType = "Remove", Settings = ep.ID }))
        assert.not_matches("eth0", env.run(c, "ip link"))
        assert(hns.delete_endpoint(ep.ID))
        assert(hns.delete_network(t.ID))
        assert.is_nil(hns.get_network(t.ID))
        -- the adapter is the host's: deleting the network leaves it
        assert.matches(adapter, env.sh("ip -o link show"), 1, true)
      end)
      end

      it("a VLAN policy uses the vlan plugin on the adapter"
        .. " (or fails clearly where the kernel has no 802.1Q)", function()
        local t = assert(hns.create_network({ Name = env.unique("hns-vl"), Type = "transparent",
          NetworkAdapterName = adapter,
          Policies = { { Type = "VLAN", VLAN = 7 } }, Subnets = { { AddressPrefix = "172.29.55.0/24" } } }))
        cleanups[#cleanups + 1] = function() assert(hns.delete_network(t.ID, { force = true })) end
        local c, id = container(nil)
        local ep = assert(hns.create_endpoint({ VirtualNetwork = t.ID }))
        local _, has_vlan = env.sh(("ip link add link %s name %s.9 type vlan id 9 && ip link del %s.9")
          :format(adapter, adapter, adapter))
        local ok, err = c:modify({ ResourceType = "Network", RequestType = "Add", Settings = ep.ID })
        if has_vlan then
          assert.is_true(ok, tostring(err))
          assert.matches("inet " .. ep.IPAddress .. "/24", env.run(c, "ip addr show eth0"), 1, true)
          assert.matches("vlan protocol 802.1Q id 7",
            env.sh(("nsenter --net=%s ip -d link show eth0"):format(netns_of(id))), 1, true)
          assert(c:modify({ ResourceType = "Network", RequestType = "Remove", Settings = ep.ID }))
        else
          assert.is_nil(ok)
          assert.matches("CNI ADD of plugin `vlan` failed", tostring(err), 1, true)
          local e = hns.get_endpoint(ep.ID)
          assert.equal(1, e.State)
          assert.same({}, e.SharedContainers or {})
        end
        assert.not_matches("eth0", env.run(c, "ip link"))
        assert(hns.delete_endpoint(ep.ID))
        assert(hns.delete_network(t.ID))
      end)
    end)
  end)

  describe("the store", function()
    local function child(code)
      local name = os.tmpname()
      local f = assert(io.open(name, "w"))
      f:write(code)
      f:close()
      return name
    end

    it("8 processes x 25 endpoint creates on one network give 200 distinct addresses", function()
      local net = assert(hns.create_network({ Name = env.unique("hns-conc"), Type = "nat",
        Subnets = { { AddressPrefix = "10.213.0.0/16", GatewayAddress = "10.213.0.1" } } }))
      local script = child(([[
        local hns = require "hcsshim.hns"
        for i = 1, 25 do
          local ep = assert(hns.create_endpoint({ VirtualNetwork = %q }))
          print(ep.ID .. " " .. ep.IPAddress .. " " .. ep.MacAddress)
        end]]):format(net.ID))
      local out = env.must(("for i in 1 2 3 4 5 6 7 8; do %s %s & done; wait"):format(LUA, script))
      os.remove(script)
      local ids, ips, macs, n = {}, {}, {}, 0
      for id, ip, mac in out:gmatch("(%S+) (%S+) (%S+)\n") do
        n = n + 1
        ids[id], ips[ip], macs[mac] = true, true, true
      end
      local function size(t) local k = 0 for _ in pairs(t) do k = k + 1 end return k end
      assert.equal(200, n)
      assert.equal(200, size(ips))
      assert.equal(200, size(macs))
      local listed = 0
      for _, ep in ipairs(assert(hns.list_endpoints())) do
        if ep.VirtualNetwork == net.ID then listed = listed + 1 assert.is_true(ids[ep.ID]) end
      end
      assert.equal(200, listed)
      assert(hns.delete_network(net.ID, { force = true }))
      assert.equal(0, #assert(hns.list_endpoints()))
    end)

    it("a network deleted while an endpoint create is under way never leaves that endpoint orphaned", function()
      -- endpoint create pauses after its first read of the network; the
      -- network is deleted in that window
      local net = nat_net(60)
      local script = child(([[
        local hns = require "hcsshim.hns"
        local ep, err = hns.create_endpoint({ VirtualNetwork = %q })
        print(ep and ("created " .. ep.ID) or ("refused " .. tostring(err)))]]):format(net.ID))
      local out = env.must(("HCSSHIM_TEST_HNS_PAUSE=endpoint-create:700 %s %s > %s.out & sleep 0.3; "
        .. "%s -e 'assert(require(\"hcsshim.hns\").delete_network(%q))'; wait; cat %s.out")
        :format(LUA, script, script, LUA, net.ID, script))
      os.remove(script)
      os.remove(script .. ".out")
      assert.matches("refused .*not found", out)
      for _, ep in ipairs(assert(hns.list_endpoints())) do assert.not_equal(net.ID, ep.VirtualNetwork) end
    end)

    it("an endpoint created while a network delete is under way keeps the network", function()
      -- network delete pauses after its endpoint check; an endpoint is
      -- created in that window
      local net = nat_net(61)
      local script = child(([[
        local hns = require "hcsshim.hns"
        local ok, err = hns.delete_network(%q)
        print(ok and "deleted" or ("refused " .. tostring(err)))]]):format(net.ID))
      local out = env.must(("HCSSHIM_TEST_HNS_PAUSE=network-delete:700 %s %s > %s.out & sleep 0.3; "
        .. "%s -e 'assert(require(\"hcsshim.hns\").create_endpoint({VirtualNetwork=%q}))'; wait; cat %s.out")
        :format(LUA, script, script, LUA, net.ID, script))
      os.remove(script)
      os.remove(script .. ".out")
      assert.matches("refused .*gained an endpoint", out)
      assert(hns.get_network(net.ID))
      assert(hns.delete_network(net.ID, { force = true }))
    end)

    it("a client killed with SIGKILL mid-create leaves whole endpoints or none", function()
      local net = assert(hns.create_network({ Name = env.unique("hns-kill"), Type = "nat",
        Subnets = { { AddressPrefix = "10.214.0.0/16", GatewayAddress = "10.214.0.1" } } }))
      local script = child(([[
        local hns = require "hcsshim.hns"
        for i = 1, 200 do assert(hns.create_endpoint({ VirtualNetwork = %q })) end]]):format(net.ID))
      for _, delay in ipairs({ "0.15", "0.3", "0.45" }) do
        env.must(("%s %s & p=$!; sleep %s; kill -9 $p; wait $p || true"):format(LUA, script, delay))
      end
      os.remove(script)
      -- the database itself is sound (sqlite3's own check) ...
      local db = env.data_root .. "/hns/hns.db"
      local check = env.sh(("if command -v sqlite3 >/dev/null; then sqlite3 %s 'PRAGMA integrity_check'; "
        .. "else python3 -c 'import sqlite3,sys; "
        .. "print(sqlite3.connect(sys.argv[1]).execute(\"PRAGMA integrity_check\").fetchone()[0])' %s; fi")
        :format(db, db))
      assert.equal("ok\n", check)
      -- ... every row decodes (list fails otherwise), and no address is given twice
      local ips, macs = {}, {}
      local eps = assert(hns.list_endpoints())
      assert.is_true(#eps > 0)
      for _, ep in ipairs(eps) do
        local again = assert(hns.get_endpoint(ep.ID))
        assert.is_truthy(again.IPAddress:match("^10%.214%.%d+%.%d+$"))
        assert.is_truthy(again.MacAddress:match("^00%-15%-5D"))
        assert.is_nil(ips[again.IPAddress])
        assert.is_nil(macs[again.MacAddress])
        ips[again.IPAddress], macs[again.MacAddress] = true, true
      end
      -- the store is not left locked
      local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID }))
      assert.is_nil(ips[ep.IPAddress])
      assert(hns.delete_network(net.ID, { force = true }))
    end)
  end)

  describe("workflows", function()
    it("network.provision gets or creates by name, idempotently", function()
      local spec = { Name = env.unique("hns-prov"), Type = "nat",
        Subnets = { { AddressPrefix = "172.29.70.0/24", GatewayAddress = "172.29.70.1" } } }
      local a, created = assert(hcsshim.network.provision(spec))
      assert.is_true(created)
      local b, created2 = assert(hcsshim.network.provision(spec))
      assert.is_false(created2)
      assert.equal(a.ID, b.ID)
      local ok, err = hcsshim.network.provision({ Name = spec.Name, Type = "internal" })
      assert.is_nil(ok)
      assert.matches("exists with Type nat", tostring(err), 1, true)
      assert(hns.delete_network(a.ID))
    end)

    it("run learns network= and ports=", function()
      local r = assert(hcsshim.run({ layers = { env.base_layer().path }, home = env.home,
        command = "sh -c 'ip -o addr show eth0; cat /etc/resolv.conf'",
        network = { Name = env.unique("hns-run"), Type = "nat", DNSServerList = "172.29.71.1",
          Subnets = { { AddressPrefix = "172.29.71.0/24", GatewayAddress = "172.29.71.1" } } },
        ports = { "18471:80" } }))
      assert.equal(0, r.exit_code)
      assert.matches("172.29.71.2/24", r.stdout, 1, true)
      assert.matches("nameserver 172.29.71.1", r.stdout, 1, true)
      for _, n in ipairs(assert(hns.list_networks())) do
        if n.Name:find("^hns%-run") then assert(hns.delete_network(n.ID)) end
      end
    end)

    it("cleanup trusts no failed enumeration of the compute systems", function()
      local core = require "hcsshim.core"
      local real = core.enumerate_compute_systems
      core.enumerate_compute_systems = function() return nil, 0x80004005, nil end
      local ok, res, err = pcall(hns.cleanup)
      core.enumerate_compute_systems = real
      assert.is_true(ok, tostring(res))
      assert.is_nil(res)
      assert.is_not_nil(err)
    end)

    it("run checks every option before it makes anything", function()
      local function entries()
        local n = 0
        for _ in env.sh("ls -A " .. env.home .. " 2>/dev/null"):gmatch("[^\n]+") do n = n + 1 end
        return n
      end
      for _, o in ipairs({ { ports = { "80" } }, { ports = { "8080:80" } }, { network = "n", ports = { "bad" } },
        { network = "n", ports = "8080:80" }, { timeout = "soon" } }) do
        o.layers, o.home, o.command = { env.base_layer().path }, env.home, "true"
        local before = entries()
        local ok, err = pcall(hcsshim.run, o)
        assert.is_false(ok)
        assert.matches("run: ", tostring(err), 1, true)
        assert.equal(before, entries())
      end
    end)

    it("cleanup removes endpoints whose container is gone", function()
      local net = nat_net(72)
      local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID }))
      for _, id in ipairs(assert(hns.cleanup())) do assert.not_equal(ep.ID, id) end
      local removed = {}
      for _, id in ipairs(assert(hns.cleanup({ all = true }))) do removed[id] = true end
      assert.is_true(removed[ep.ID])
      assert(hns.delete_network(net.ID))
    end)
  end)
end)
