-- Overhead of HNS endpoints through the Lua API against the CNI plugins
-- they stand on, side by side in one run: endpoint create + hot attach
-- into a running container + detach + delete, against direct CNI ADD and
-- DEL of the same plugin list (bridge + static IPAM + tuning + portmap)
-- into a namespace of the same kind.  Prints `hns_endpoint ratio X.XX`
-- (median of the Lua rounds / median of the CNI rounds).
local hcsshim = require "hcsshim"
local hns = require "hcsshim.hns"
local json = hcsshim.json

local bench = require "bench.support"
local ROUNDS = bench.rounds
local clock = hcsshim.monotime

local sh = bench.sh

local root = sh("mktemp -d /var/tmp/hcsshim-bench-hns.XXXXXX"):gsub("%s+$", "")
local rootfs = root .. "/bb"
sh(("mkdir -p %s/bin %s/etc %s/proc %s/sys %s/dev && cp /bin/busybox %s/bin/ && ln -s busybox %s/bin/sh")
  :format(rootfs, rootfs, rootfs, rootfs, rootfs, rootfs, rootfs))

local net = assert(hns.create_network({ Name = "bench-hns-" .. hcsshim.new_guid():sub(1, 8), Type = "nat",
  Subnets = { { AddressPrefix = "172.28.90.0/24", GatewayAddress = "172.28.90.1" } } }))
local cid = "bench-hns-" .. hcsshim.new_guid():sub(1, 8)
local c = assert(hcsshim.create_container(cid, { VolumePath = rootfs }))
assert(c:start())

local function lua_round(i)
  local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID,
    Policies = { { Type = "NAT", Protocol = "TCP", InternalPort = 80, ExternalPort = 19000 + i } } }))
  assert(c:modify({ ResourceType = "Network", RequestType = "Add", Settings = ep.ID }))
  assert(c:modify({ ResourceType = "Network", RequestType = "Remove", Settings = ep.ID }))
  assert(hns.delete_endpoint(ep.ID))
end

-- the raw path: the same plugin list, run by hand as libcni would
local br = "hns" .. net.ID:sub(1, 8)
local ns = root .. "/ns"
sh(("touch %s && unshare --net=%s ip link set lo up"):format(ns, ns))
local function plugin(cmd, conf, ifname)
  local f = assert(io.open(root .. "/in.json", "w"))
  f:write(assert(json.encode(conf)))
  f:close()
  return sh(("CNI_COMMAND=%s CNI_CONTAINERID=bench CNI_NETNS=%s CNI_IFNAME=%s CNI_PATH=/usr/lib/cni "
    .. "PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/lib/cni/%s < %s/in.json")
    :format(cmd, ns, ifname, conf.type, root))
end
local function raw_round(i)
  local base = { cniVersion = "1.0.0", name = "hns-bench-raw" }
  local plugins = {
    { type = "bridge", bridge = br, isGateway = true, ipMasq = true, hairpinMode = true,
      ipam = { type = "static", addresses = { { address = "172.28.90.200/24", gateway = "172.28.90.1" } },
        routes = { { dst = "0.0.0.0/0" } } } },
    { type = "tuning", mac = "00:15:5d:28:90:c8" },
    { type = "portmap", capabilities = { portMappings = true }, snat = true,
      runtimeConfig = { portMappings = { { hostPort = 19500 + i, containerPort = 80, protocol = "tcp" } } } },
  }
  local prev
  for _, p in ipairs(plugins) do
    for k, v in pairs(base) do p[k] = v end
    p.prevResult = prev
    prev = json.decode(plugin("ADD", p, "eth0"))
  end
  for j = #plugins, 1, -1 do
    plugins[j].prevResult = prev
    plugin("DEL", plugins[j], "eth0")
  end
end

local median = bench.median

local ok, err = pcall(function()
  lua_round(0) raw_round(0) -- warm up
  local tl, tr = {}, {}
  for i = 1, ROUNDS do
    local t0 = clock() lua_round(i) tl[#tl + 1] = clock() - t0
    t0 = clock() raw_round(i) tr[#tr + 1] = clock() - t0
  end
  local ml, mr = median(tl), median(tr)
  print(("hns_endpoint lua %.1f ms, cni %.1f ms (median of %d)"):format(ml * 1000, mr * 1000, ROUNDS))
  print(("hns_endpoint ratio %.2f"):format(ml / mr))
end)
c:terminate() c:wait(30) c:close()
hcsshim.wait_forgotten(cid, 5)
hns.delete_network(net.ID, { force = true })
os.execute(("umount %s 2>/dev/null; rm -rf %s"):format(ns, root))
if not ok then error(err, 0) end
