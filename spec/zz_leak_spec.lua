-- Runs last (busted --sort-files): after the whole suite, nothing this run
-- made may be left on the host.
local env = require "support.env"
local hcsshim = require "hcsshim"

-- stdout lines of a command (its stderr stays out of the result)
local function lines(cmd)
  local out = {}
  local p = assert(io.popen("unset LD_PRELOAD; " .. cmd))
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

describe("after the suite", function()
  setup(function()
    -- the base layer is shared by every spec: remove it now
    if hcsshim.layer_exists(env.home, "busybox-base") then
      assert(hcsshim.destroy_layer(env.home, "busybox-base"))
    end
    -- run{rootfs=} keeps its imported rootfs layers for reuse: prune,
    -- the product's own clean-up, removes them (and anything else ours)
    assert(hcsshim.prune({ home = env.home }))
    -- the specs' own scratch files (tars, mapped folders) are not the
    -- product's to clean: remove them, then look at what the product left
    env.must("rm -rf --one-file-system " .. env.scratch)
  end)

  it("no compute system is left", function()
    assert.same({}, assert(hcsshim.get_containers()))
  end)

  it("no crun container state is left", function()
    assert.same({}, lines("crun --root " .. env.runtime_root .. "/crun list -q 2>/dev/null"))
  end)

  it("no mount under the data or runtime root is left", function()
    local left = {}
    for _, m in ipairs(lines("findmnt -rn -o TARGET")) do
      if m:find(env.data_root, 1, true) or m:find(env.runtime_root, 1, true) then left[#left + 1] = m end
    end
    assert.same({}, left)
  end)

  it("no cgroup of this run is left", function()
    local left = lines("ls -d " .. env.cgroup_globs .. " 2>/dev/null")
    assert.same({}, left)
  end)

  it("no monitor or container process of this run is left", function()
    local left = {}
    for _, l in ipairs(lines("ps -eo pid=,args=")) do
      if l:find(env.runtime_root, 1, true) and not l:find("ps -eo", 1, true) then left[#left + 1] = l end
    end
    assert.same({}, left)
    assert.same({}, lines("ls /sys/fs/cgroup/pids" .. env.cgroup_parent .. "/*/cgroup.procs /sys/fs/cgroup"
      .. env.cgroup_parent .. "/*/cgroup.procs 2>/dev/null"))
  end)

  it("no HNS network, endpoint, bridge, veth, netns, CNI chain or IPAM file of the run is left", function()
    local hns = require "hcsshim.hns"
    assert.same({}, assert(hns.list_endpoints()))
    assert.same({}, assert(hns.list_networks()))
    assert.same({}, lines("ip -o link show type bridge | awk -F': ' '{print $2}' | grep '^hns'"))
    local veths = {}
    for v in pairs(env.net_lines("ip -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1")) do
      if not env.net_baseline.veths[v] then veths[#veths + 1] = v end
    end
    assert.same({}, veths)
    assert.same({}, lines("ls -A " .. env.runtime_root .. "/netns 2>/dev/null"))
    -- portmap's shared CNI-HOSTPORT-* chains stay (linux-host.md 5); per-endpoint ones must not
    local chains = {}
    for c in pairs(env.net_lines("iptables -w -t nat -S | grep '^-N'")) do
      if not env.net_baseline.chains[c] and not c:find("^%-N CNI%-HOSTPORT%-") then chains[#chains + 1] = c end
    end
    assert.same({}, chains)
    assert.same({}, lines("iptables -w -t nat -S | grep -E '172[.]29[.]|10[.]21[34][.]'"))
    -- the bridge and portmap plugins tag their rules with the CNI network
    -- name (hns-<network id>) in a comment: none of any HNS network may stay
    local rules = {}
    for r in pairs(env.net_lines("{ iptables -w -t nat -S; iptables -w -t filter -S; } | grep -F 'hns-'")) do
      if not env.net_baseline.hns_rules[r] then rules[#rules + 1] = r end
    end
    assert.same({}, rules)
    -- the bandwidth plugin's ifb devices and qdiscs (QOS), the specs' host
    -- adapters for transparent networks (dummies or veth pairs tpa*/tpb*)
    local ifbs = {}
    for v in pairs(env.net_lines("ip -o link show type ifb | awk -F': ' '{print $2}' | cut -d@ -f1")) do
      if not env.net_baseline.ifbs[v] then ifbs[#ifbs + 1] = v end
    end
    assert.same({}, ifbs)
    local qdiscs = {}
    for q in pairs(env.net_lines("tc qdisc show | grep -vE '^qdisc (noqueue|pfifo_fast|fq_codel|mq|noop) '")) do
      if not env.net_baseline.qdiscs[q] then qdiscs[#qdiscs + 1] = q end
    end
    assert.same({}, qdiscs)
    assert.same({}, lines("ip -o link show | awk -F': ' '{print $2}' | grep -E '^tp[ab][0-9]+'"))
    -- and the store holds no endpoint row at all (list decodes every row)
    local eps = assert(hns.list_endpoints())
    assert.equal(0, #eps)
  end)

  it("no layer, staging or trash folder is left", function()
    assert.same({}, lines("ls -A " .. env.home .. " 2>/dev/null"))
  end)

  it("no compute system folder is left in the runtime root", function()
    assert.same({}, lines("ls -A " .. env.runtime_root .. "/systems 2>/dev/null"))
  end)
end)
