-- The main job: import a real root filesystem as a base layer, create a
-- sandbox layer and a container (memory limit, read-only mapped
-- directory), run processes in it with stdio, read statistics, shut it
-- down and remove everything.
--
--   lua5.4 examples/run_container.lua [rootfs.tar[.gz]]
--
-- Without an argument it uses a Debian bookworm minbase tarball built by
-- scripts/make-rootfs.sh (debootstrap, cached after the first run).
local hcsshim = require "hcsshim"

local function step(fmt, ...) io.write(("== " .. fmt .. "\n"):format(...)) io.flush() end
-- A failed check of the demo, explained (no traceback): raised as a table.
local function expect(ok, why) if not ok then error({ demo = why }, 0) end end

local tarball = arg[1]
if not tarball or tarball == "" then
  local p = assert(io.popen("sh scripts/make-rootfs.sh"))
  tarball = p:read("l")
  assert(p:close() and tarball, "could not build the root filesystem tarball")
end

local data_root = os.getenv("HCSSHIM_DATA_ROOT") or "/var/lib/hcsshim"
local home = { Flavour = 1, HomeDir = data_root .. "/layers" }
local tag = hcsshim.new_guid():sub(1, 8)
local base_id, sandbox_id, container_id = "demo-base-" .. tag, "demo-sandbox-" .. tag, "demo-" .. tag
local base_path = home.HomeDir .. "/" .. base_id
local undo = {}
local function later(f) undo[#undo + 1] = f end

local function main()
  step("importing %s as base layer %s", tarball, base_id)
  local t0 = hcsshim.monotime()
  local size = assert(hcsshim.import_layer(home, base_id, tarball))
  later(function() assert(hcsshim.destroy_layer(home, base_id)) end)
  step("imported %.1f MiB of files in %.1f s", size / 1048576, hcsshim.monotime() - t0)

  step("creating sandbox layer %s", sandbox_id)
  assert(hcsshim.create_sandbox_layer(home, sandbox_id, base_id, { base_path }))
  later(function() assert(hcsshim.destroy_layer(home, sandbox_id)) end)
  assert(hcsshim.activate_layer(home, sandbox_id))
  later(function() assert(hcsshim.deactivate_layer(home, sandbox_id)) end)
  assert(hcsshim.prepare_layer(home, sandbox_id, { base_path }))
  later(function() assert(hcsshim.unprepare_layer(home, sandbox_id)) end)
  local volume = assert(hcsshim.get_layer_mount_path(home, sandbox_id))

  local shared = os.tmpname()
  os.remove(shared)
  assert(os.execute("mkdir -p " .. shared))
  later(function() os.execute("rm -rf " .. shared) end)
  local f = assert(io.open(shared .. "/greeting.txt", "w"))
  f:write("hello from the host\n")
  f:close()

  -- networking: a nat network, an endpoint with port 80 published on the
  -- host, and a web server directory (Debian minbase has no web server:
  -- a copy of the host's static busybox, mapped read-only)
  --
  -- The network has a fixed name and subnet: provision reuses one left by
  -- a demo run that crashed, after removing that run's stale endpoints
  -- (and networks of older demo versions, named demo-nat-<tag>, that hold
  -- the same subnet).
  local port = 18000 + math.random(0, 999)
  local net_name = "hcsshim-demo-nat"
  step("provisioning nat network %s and an endpoint (host port %d -> 80)", net_name, port)
  for _, n in ipairs(assert(hcsshim.hns.list_networks())) do
    if n.Name:find("^demo%-nat%-") then hcsshim.hns.delete_network(n.ID, { force = true }) end
  end
  local net = assert(hcsshim.network.provision({ Name = net_name, Type = "nat",
    Subnets = { { AddressPrefix = "172.28.99.0/24", GatewayAddress = "172.28.99.1" } } }))
  local live = {}
  for _, c in ipairs(assert(hcsshim.get_containers())) do live[c.Id or c.ID or ""] = true end
  for _, e in ipairs(assert(hcsshim.hns.list_endpoints())) do
    local owner = (e.SharedContainers or {})[1]
    if e.VirtualNetwork == net.ID and e.Name:find("^demo%-ep%-") and not (owner and live[owner]) then
      step("removing stale endpoint %s of an earlier demo run", e.Name)
      hcsshim.hns.delete_endpoint(e.ID)
    end
  end
  later(function()
    -- another demo may still be using it: then it stays for that one
    local ok, err = hcsshim.hns.delete_network(net.ID)
    if not ok then step("network %s kept: %s", net_name, tostring(err)) end
  end)
  local ep = assert(hcsshim.hns.create_endpoint({ VirtualNetwork = net.ID, Name = "demo-ep-" .. tag,
    Policies = { { Type = "NAT", Protocol = "TCP", InternalPort = 80, ExternalPort = port } } }))
  later(function() assert(hcsshim.hns.delete_endpoint(ep.ID)) end)
  step("endpoint %s: %s/%d, MAC %s", ep.ID, ep.IPAddress, ep.PrefixLength, ep.MacAddress)
  local www = shared .. "-www"
  assert(os.execute(("mkdir -p %s/site && cp /bin/busybox %s/busybox"):format(www, www)))
  later(function() os.execute("rm -rf " .. www) end)
  f = assert(io.open(www .. "/site/index.html", "w"))
  f:write("hello from a web server inside container ", container_id, "\n")
  f:close()

  step("creating container %s (256 MiB, read-only mapped directory)", container_id)
  local c = assert(hcsshim.create_container(container_id, {
    Name = container_id, Owner = "run_container.lua", HostName = "demo",
    VolumePath = volume,
    LayerFolderPath = home.HomeDir .. "/" .. sandbox_id,
    Layers = { { ID = hcsshim.name_to_guid(base_id), Path = base_path } },
    MemoryMaximumInMB = 256,
    MappedDirectories = { { HostPath = shared, ContainerPath = "/mnt/host", ReadOnly = true },
                          { HostPath = www, ContainerPath = "/opt/www", ReadOnly = true } },
    EndpointList = { ep.ID },
  }))
  later(function()
    c:terminate()
    c:wait(30)
    c:close()
    -- the compute system is gone once its last handle is closed
    for _ = 1, 100 do
      local h = hcsshim.open_container(container_id)
      if not h then break end
      h:close()
      os.execute("sleep 0.05")
    end
  end)
  assert(c:start())

  local function run(cmdline, input)
    local p = assert(c:create_process({ CommandLine = cmdline, CreateStdInPipe = input ~= nil,
      CreateStdOutPipe = true, CreateStdErrPipe = true }))
    local stdin, stdout, stderr = p:stdio()
    if input then
      stdin:write(input)
      assert(p:close_stdin())
    end
    local out, err = stdout:read("a"), stderr:read("a")
    assert(p:wait(60))
    local code, sig = p:exit_code()
    p:close()
    step("%s -> exit code %s%s", cmdline, tostring(code), sig and (" (" .. sig .. ")") or "")
    io.write(out)
    if err ~= "" then io.write("[stderr] ", err) end
    return code
  end

  if run("cat /etc/os-release") ~= 0 then
    step("note: %s has no /etc/os-release, so the demo cannot show which system the container runs;"
      .. " going on without it (a distribution root filesystem, such as the one scripts/make-rootfs.sh"
      .. " builds, has one)", tarball)
  end
  local tools = "the root filesystem needs a shell and the usual tools"
    .. " (sh, id, ls, from a distribution or busybox)"
  expect(run("id") == 0, tools)
  expect(run("ls -l /mnt/host") == 0, tools)
  expect(run("sh -c 'echo read-only check > /mnt/host/x'") ~= 0, "a read-only mapped directory was writable")
  expect(run("sh -c 'while read line; do echo \"stdin: $line\"; done; echo done'",
    "first line\nsecond line\n") == 0, tools)

  step("starting busybox httpd in the container; fetching http://127.0.0.1:%d/ from the host", port)
  local web = assert(c:create_process({ CommandLine = "/opt/www/busybox httpd -f -p 80 -h /opt/www/site" }))
  local page = ""
  for _ = 1, 50 do
    local p = assert(io.popen(("curl -s --max-time 3 http://127.0.0.1:%d/"):format(port)))
    page = p:read("a")
    p:close()
    if page ~= "" then break end
    os.execute("sleep 0.1")
  end
  io.write(page)
  assert(page:find("hello from a web server", 1, true), "no page through the NAT port mapping")
  web:kill()
  web:close()

  local stats = assert(c:statistics())
  step("statistics")
  print(("  memory   %d bytes in use, peak %d bytes"):format(stats.Memory.MemoryUsageCommitBytes,
    stats.Memory.MemoryUsageCommitPeakBytes))
  print(("  cpu      %.3f s total (%.3f s user, %.3f s kernel)"):format(stats.Processor.TotalRuntime100ns / 1e7,
    stats.Processor.RuntimeUser100ns / 1e7, stats.Processor.RuntimeKernel100ns / 1e7))
  print(("  storage  %d bytes read, %d bytes written"):format(stats.Storage.ReadSizeBytes,
    stats.Storage.WriteSizeBytes))
  print(("  uptime   %.3f s"):format(stats.Uptime100ns / 1e7))

  step("shutting down")
  assert(c:shutdown())
  assert(c:wait(60))
end

local ok, err = xpcall(main, function(e)
  if type(e) == "table" and e.demo then return "demo: " .. e.demo end
  return debug.traceback(e)
end)
step("removing everything")
for i = #undo, 1, -1 do
  local uok, uerr = pcall(undo[i])
  if not uok then io.stderr:write("cleanup: ", tostring(uerr), "\n") ok = false end
end
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
step("done")
