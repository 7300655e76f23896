-- A failed network create undoes only what it did (issue 9, item 1): a
-- host interface that happens to carry the network's bridge name is not
-- its to remove.
local hns = require "hcsshim.hns"
local env = require "support.env"

describe("network create rollback", function()
  it("refuses a bridge name taken by a host interface that is no bridge, and leaves that interface", function()
    local br = "hns7e57b00f"
    env.must("ip link add " .. br .. " type dummy 2>/dev/null || ip link add " .. br
      .. " type veth peer name " .. br .. "p")
    finally(function() env.sh("ip link del " .. br) end)
    local net, err = hns.create_network({ ID = "7e57b00f-0000-4000-8000-000000000001",
      Name = env.unique("hns-taken"), Type = "nat",
      Subnets = { { AddressPrefix = "172.29.77.0/24", GatewayAddress = "172.29.77.1" } } })
    if net then hns.delete_network(net.ID) end
    assert.is_nil(net)
    assert.matches("no bridge", tostring(err))
    assert.equal(0, select(3, env.sh("ip link show " .. br)))
  end)
end)
