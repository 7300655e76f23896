-- The JSON our encoder sends, as the double received it (UTF-16 -> UTF-8),
-- against golden files that follow hcsshim's encoding rules (the bytes of
-- hcsshim v0.5.2's structs, checked against Go in spec/golden_spec.lua):
-- ContainerConfig omit-if-empty per field, ProcessConfig every key,
-- ConsoleSize [height, width], the v1 HNS policy shapes; ids canonical.
local hcsshim = require "hcsshim"
local t = require "support"

local function golden(name)
  local f = assert(io.open("spec/win32/golden/" .. name .. ".json", "rb"))
  local s = f:read("a"):gsub("%s+$", "")
  f:close()
  return s
end

local containers = {
  container_minimal = { Name = "g-min" },
  container_full = {
    Name = "g-full", Owner = "docker", HostName = "web",
    VolumePath = "\\\\?\\Volume{d422512d-2bf2-4752-809d-7b82b5fcb1b4}",
    LayerFolderPath = "C:\\layers\\sbx", IgnoreFlushesDuringBoot = true,
    Layers = { { ID = "bd9c3ef9-f239-59b5-a27e-15c523b1d149", Path = "C:\\layers\\4" } },
    MappedDirectories = { { HostPath = "C:\\data", ContainerPath = "C:\\data", ReadOnly = true } },
    ProcessorCount = 2, ProcessorWeight = 5000, ProcessorMaximum = 5000, MemoryMaximumInMB = 512,
    StorageIOPSMaximum = 100, StorageBandwidthMaximum = 1048576,
    EndpointList = { "{7E5BA3CF-0BB9-4A11-A7D3-1E0A7B4F4A10}" },
    HvPartition = true, HvRuntime = { ImagePath = "C:\\layers\\4\\UtilityVM" }, AllowUnqualifiedDNSQuery = true,
  },
  container_empty_fields = { Name = "g-empty", Owner = "", MappedDirectories = {}, EndpointList = {},
    ProcessorCount = 0, HostName = "", Servicing = false },
}

for name, cfg in pairs(containers) do
  test("golden " .. name, function()
    local id = t.unique(name)
    local c = assert(hcsshim.create_container(id, cfg))
    t.eq(t.last("HcsCreateComputeSystem"), golden(name))
    c:terminate()
    c:close()
  end)
end

local processes = {
  process_minimal = { CommandLine = "exit 0" },
  process_console = { ApplicationName = "cmd.exe", CommandLine = "exit 0", User = "ContainerUser",
    WorkingDirectory = "C:\\", Environment = { PATH = "C:\\Windows" }, EmulateConsole = true,
    ConsoleSize = { 40, 120 }, CreateStdOutPipe = true },
}

test("golden ProcessConfig documents", function()
  local c = assert(hcsshim.create_container("g-proc", { Name = "g-proc" }))
  assert(c:start())
  for name, cfg in pairs(processes) do
    local p = assert(c:create_process(cfg))
    t.eq(t.last("HcsCreateProcess"), golden(name), name)
    p:wait(5)
    p:close()
  end
  c:terminate()
  c:close()
end)

test("golden v1 HNS network and endpoint with policies", function()
  local hns = require "hcsshim.hns"
  for _, f in ipairs({ "create_network", "create_endpoint", "delete_endpoint", "delete_network" }) do
    t.eq(type(hns[f]), "function", "hcsshim.hns." .. f)
  end
  local net = assert(hns.create_network({ Name = "g-net", Type = "nat",
    Subnets = { { AddressPrefix = "172.30.0.0/16", GatewayAddress = "172.30.0.1" } },
    Policies = { { Type = "VLAN", VLAN = 10 } } }))
  t.eq(t.last("HNSCall"), "POST /networks/ " .. golden("hns_network"))
  local ep = assert(hns.create_endpoint({ Name = "g-ep", VirtualNetwork = net.Id or net.ID,
    Policies = { { Type = "NAT", Protocol = "TCP", InternalPort = 80, ExternalPort = 8080 },
                 { Type = "QOS", MaximumOutgoingBandwidthInBytes = 1000000 } } }))
  t.eq(t.last("HNSCall"):gsub("[0-9a-f]+%-0000%-4000%-8000%-[0-9a-f]+", "NETID"),
    "POST /endpoints/ " .. golden("hns_endpoint"))
  assert(hns.delete_endpoint(ep.Id or ep.ID))
  assert(hns.delete_network(net.Id or net.ID))
end)

-- One endpoint per later v1 policy shape (hcs-api.md section 5; each as the
-- first hcsshim version that has it, v0.5.27): each body is what
-- hns.create_endpoint sends.
local policy_shapes = {
  -- NatPolicy (v0.5.2): Protocol, InternalPort, ExternalPort always written
  hns_policy_nat_no_protocol = { Type = "NAT" },
  -- ACLPolicy: Action/Direction always, the rest omitempty; plural address lists
  hns_policy_acl = { Type = "ACL", Action = "Block", Direction = "In", Protocol = 6,
    LocalAddresses = "172.30.0.0/16", RemoteAddresses = "10.0.0.0/8,192.168.1.5", RemotePorts = "80,443",
    RuleType = "Switch", Priority = 200 },
  -- OutboundNatPolicy: Exceptions is encoded as ExceptionList
  hns_policy_outboundnat = { Type = "OutBoundNAT", VIP = "10.1.0.5", ExceptionList = { "10.0.0.0/8", "172.16.0.0/12" },
    Destinations = { "1.1.1.1" } },
  -- RoutePolicy: EncapEnabled is encoded as NeedEncap
  hns_policy_route = { Type = "ROUTE", DestinationPrefix = "10.2.0.0/16", NextHop = "10.1.0.1", NeedEncap = true },
}

test("golden later v1 HNS policy shapes (NAT without Protocol, ACL, OutBoundNAT, ROUTE)", function()
  local hns = require "hcsshim.hns"
  local net = assert(hns.create_network({ Name = "g-pol-net", Type = "nat",
    Subnets = { { AddressPrefix = "172.31.0.0/16", GatewayAddress = "172.31.0.1" } } }))
  for name, pol in pairs(policy_shapes) do
    local ep = assert(hns.create_endpoint({ Name = name, VirtualNetwork = net.Id or net.ID, Policies = { pol } }))
    local sent = t.last("HNSCall"):gsub("[0-9a-f]+%-0000%-4000%-8000%-[0-9a-f]+", "NETID")
    t.eq(sent, "POST /endpoints/ " .. golden(name), name)
    assert(hns.delete_endpoint(ep.Id or ep.ID))
  end
  local nat = golden("hns_policy_nat_no_protocol")
  for _, k in ipairs({ "Protocol", "InternalPort", "ExternalPort" }) do
    t.eq(nat:find('"' .. k .. '"', 1, true) ~= nil, true, "NAT without Protocol still carries " .. k .. " (v0.5.2)")
  end
  assert(hns.delete_network(net.Id or net.ID))
end)
