-- What the product may leave on the host, each kind as one check: the
-- final leak spec (spec/zz_leak_spec.lua) asserts them after the suite,
-- the crash harness (spec/crash/harness.lua) after every kill.  Each check
-- returns the leftovers it found ({} when clean).  Host-wide kinds
-- (veths, chains, qdiscs) are compared with env.net_baseline, taken when
-- support.env was first loaded.
local env = require "support.env"
local hcsshim = require "hcsshim"

local M = {}

local lines = env.lines

-- Lines of cmd that were not there at the baseline (a set of lines).
local function new_lines(cmd, baseline, skip)
  local out = {}
  for l in pairs(env.net_lines(cmd)) do
    if not (baseline and baseline[l]) and not (skip and l:find(skip)) then out[#out + 1] = l end
  end
  table.sort(out)
  return out
end

local function ids(list, field)
  local out = {}
  for _, x in ipairs(list) do out[#out + 1] = tostring(x[field]) end
  return out
end

-- {title, function() -> leftovers}, in the order the leak spec reports them.
M.checks = {
  { "no compute system is left", function() return ids(assert(hcsshim.get_containers()), "Id") end },
  { "no crun container state is left", function()
    return lines("crun --root " .. env.runtime_root .. "/crun list -q 2>/dev/null")
  end },
  { "no mount under the data or runtime root is left", function()
    local left = {}
    for _, m in ipairs(lines("findmnt -rn -o TARGET")) do
      if m:find(env.data_root, 1, true) or m:find(env.runtime_root, 1, true) then left[#left + 1] = m end
    end
    return left
  end },
  { "no cgroup of this run is left", function()
    return lines("ls -d " .. env.cgroup_globs .. " 2>/dev/null")
  end },
  { "no monitor or container process of this run is left", function()
    local left = {}
    for _, l in ipairs(lines("ps -eo pid=,args=")) do
      if l:find(env.runtime_root, 1, true) and not l:find("ps -eo", 1, true) then left[#left + 1] = l end
    end
    for _, l in ipairs(lines("cat /sys/fs/cgroup/pids" .. env.cgroup_parent .. "/*/cgroup.procs /sys/fs/cgroup"
      .. env.cgroup_parent .. "/*/cgroup.procs 2>/dev/null")) do left[#left + 1] = "pid " .. l end
    return left
  end },
  { "no HNS endpoint (IP lease) is left", function()
    return ids(assert(require("hcsshim.hns").list_endpoints()), "ID")
  end },
  { "no HNS network is left", function() return ids(assert(require("hcsshim.hns").list_networks()), "ID") end },
  { "no row is left in the HNS store", function()
    local db = env.data_root .. "/hns/hns.db"
    -- stat, never open: closing any descriptor of the file drops this
    -- process's fcntl locks on it, and SQLite's connection here with them
    if not require("lfs").attributes(db, "mode") then return {} end
    return lines(("sqlite3 %q 'SELECT id FROM endpoints; SELECT id FROM networks' 2>/dev/null"):format(db))
  end },
  { "no HNS bridge is left", function()
    return new_lines("ip -o link show type bridge | awk -F': ' '{print $2}' | grep '^hns'", env.net_baseline.bridges)
  end },
  { "no veth of this run is left", function()
    return new_lines("ip -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1", env.net_baseline.veths)
  end },
  { "no network namespace is left", function() return lines("ls -A " .. env.runtime_root .. "/netns 2>/dev/null") end },
  { "no per-endpoint iptables chain is left", function()
    -- portmap's shared CNI-HOSTPORT-* chains stay (linux-host.md 5)
    return new_lines("iptables -w -t nat -S | grep '^-N'", env.net_baseline.chains, "^%-N CNI%-HOSTPORT%-")
  end },
  { "no iptables rule of a spec subnet is left", function()
    return lines("iptables -w -t nat -S | grep -E '172[.]29[.]|10[.]21[34][.]'")
  end },
  { "no iptables rule tagged with an HNS network is left", function()
    -- the bridge and portmap plugins tag their rules with the CNI network
    -- name (hns-<network id>) in a comment
    return new_lines("{ iptables -w -t nat -S; iptables -w -t filter -S; } | grep -F 'hns-'",
      env.net_baseline.hns_rules)
  end },
  { "no ifb device or qdisc (QOS) is left", function()
    local left = new_lines("ip -o link show type ifb | awk -F': ' '{print $2}' | cut -d@ -f1", env.net_baseline.ifbs)
    for _, q in ipairs(new_lines("tc qdisc show | grep -vE '^qdisc (noqueue|pfifo_fast|fq_codel|mq|noop) '",
      env.net_baseline.qdiscs)) do left[#left + 1] = q end
    return left
  end },
  { "no host adapter of a transparent network spec is left", function()
    return lines("ip -o link show | awk -F': ' '{print $2}' | grep -E '^tp[ab][0-9]+'")
  end },
  { "no layer, staging or trash folder is left", function() return lines("ls -A " .. env.home .. " 2>/dev/null") end },
  { "no compute system folder is left in the runtime root", function()
    return lines("ls -A " .. env.runtime_root .. "/systems 2>/dev/null")
  end },
}

--- Every check that found something: an array of "title: leftovers".
function M.find()
  local out = {}
  for _, c in ipairs(M.checks) do
    local left = c[2]()
    if #left > 0 then out[#out + 1] = c[1] .. ": " .. table.concat(left, ", ") end
  end
  return out
end

return M
