-- Issue 9, item 11: a monitor SIGKILLed in the middle of a hot attach.
-- Its helper goes on with the CNI ADD while the next call on the dead
-- system tears it down, detaching (CNI DEL) the same endpoint.  The two
-- must not overlap: the bridge plugin's DEL learns from the link which
-- masquerade rules to remove, so a DEL that ran while the ADD was half
-- done left the ADD's rules for good.  Here the ADD is held open by a
-- bridge plugin that waits after doing its work.
local hcsshim = require "hcsshim"
local hns = require "hcsshim.hns"
local env = require "support.env"
local monitor_pid = require("support.procs").monitor_pid

-- CNI plugins as installed, but a bridge that logs to dir/log when each
-- command begins and ends, and whose ADD, once done, marks dir/added and
-- holds its answer until dir/go exists (at most 10 s).
local function slow_cni(dir)
  local cni = dir .. "/cni"
  env.must(("mkdir %s && for p in /usr/lib/cni/*; do ln -s $p %s/; done && rm %s/bridge"):format(cni, cni, cni))
  env.write_program(cni .. "/bridge", "#!/bin/sh\n",
    ("log=%s/log\n"):format(dir),
    "echo \"$CNI_COMMAND begin\" >> $log\n",
    "out=$(/usr/lib/cni/bridge); rc=$?\n",
    ("if [ \"$CNI_COMMAND\" = ADD ]; then touch %s/added\n"):format(dir),
    ("  i=0; while [ ! -e %s/go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; fi\n"):format(dir),
    "echo \"$CNI_COMMAND end\" >> $log\n",
    "[ -n \"$out\" ] && echo \"$out\"\n",
    "exit $rc\n")
  return cni
end

local exists = env.exists

describe("a monitor killed during a hot attach", function()
  it("leaves the attach whole before the dead system's teardown detaches: no rule is left", function()
    local dir = env.tmpdir()
    local id = env.unique("plumb")
    local mount, undo = env.sandbox(id .. "-sb")
    local net = assert(hns.create_network({ Name = env.unique("plumb-net"), Type = "nat",
      Subnets = { { AddressPrefix = "172.29.94.0/24", GatewayAddress = "172.29.94.1" } } }))
    local ep = assert(hns.create_endpoint({ VirtualNetwork = net.ID }))
    finally(function()
      env.sh("touch " .. dir .. "/go")
      env.forget(id)
      undo()
      hns.delete_endpoint(ep.ID)
      hns.delete_network(net.ID, { force = true })
      env.sh("rm -rf " .. dir)
    end)
    local script = env.write_script(([[
      local h = require "hcsshim"
      local c = assert(h.create_container(%q, { VolumePath = %q, LayerFolderPath = %q,
        Layers = { { ID = h.new_guid(), Path = %q } } }))
      assert(c:start(30))
      print(require("hcsshim.hns").hot_attach_endpoint(%q, %q))
    ]]):format(id, mount, env.home .. "/" .. id .. "-sb", env.base_layer().path, id, ep.ID), dir)
    local cni = slow_cni(dir)
    env.must(("(timeout -s KILL 60 env %s %s > %s/out 2>&1 &)"):format(
      env.lua_with({ HCSSHIM_CNI_PATH = cni }), script, dir))
    local deadline = hcsshim.monotime() + 30
    while not exists(dir .. "/added") and hcsshim.monotime() < deadline do os.execute("sleep 0.05") end
    assert.is_true(exists(dir .. "/added"), "the ADD never ran: " .. env.sh("cat " .. dir .. "/out"))
    env.must("kill -KILL " .. assert(monitor_pid(id), "no monitor found"))
    -- the next call finds the monitor dead and tears the system down while
    -- the helper's ADD is still held open; the ADD ends a moment later
    env.must(("(sleep 1; touch %s/go) &"):format(dir))
    local reopen = "local h = require \"hcsshim\" print((h.open_container(%q)))"
    assert.equal("nil\n", env.sh(("timeout -s KILL 60 env %s -e '" .. reopen .. "'")
      :format(env.lua_with({ HCSSHIM_CNI_PATH = cni }), id)))
    -- the teardown's DEL began only once the ADD had ended
    assert.equal("ADD begin\nADD end\nDEL begin\nDEL end\n", env.sh("cat " .. dir .. "/log"))
    local left = hns.get_endpoint(ep.ID)
    assert.same({}, left.SharedContainers or {})
    assert.equal("", env.sh("iptables -w -t nat -S | grep -F " .. ep.IPAddress .. "/32"))
  end)
end)
