-- A web server in a container on a nat network, its port 80 published on
-- the host, fetched from the host, then everything removed.
--
--   lua5.4 examples/network_ports.lua rootfs.tar   (the rootfs needs busybox httpd)
local hcsshim = require "hcsshim"
local rootfs = assert(arg[1], "usage: network_ports.lua ROOTFS.tar")

local tag = hcsshim.new_guid():sub(1, 8)      -- no fixed names: runs twice, side by side
local port = 20000 + tonumber(tag:sub(1, 4), 16) % 20000
local net = assert(hcsshim.hns.create_network{ Name = "example-" .. tag, Type = "nat",
  Subnets = { { AddressPrefix = "172.29.251.0/24", GatewayAddress = "172.29.251.1" } } })
local ok, err = pcall(function()
  local web = assert(hcsshim.run{ rootfs = rootfs, network = net.Name, ports = { port .. ":80" },
    command = "sh -c 'mkdir -p /www && echo hello from the container > /www/index.html && httpd -f -p 80 -h /www'",
    detach = true })
  local body
  for _ = 1, 50 do                           -- the server needs a moment to listen
    local f = io.popen(("curl -s --max-time 1 http://127.0.0.1:%d/"):format(port))
    body = f:read("a")
    f:close()
    if body ~= "" then break end
    os.execute("sleep 0.1")
  end
  web.stop()
  io.write("GET / -> ", body)
  assert(body == "hello from the container\n")
end)
assert(hcsshim.hns.delete_network(net.ID))
assert(ok, err)
