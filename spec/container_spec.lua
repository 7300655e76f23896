local hcsshim = require "hcsshim"
local env = require "support.env"

describe("compute systems", function()
  local c, cleanup, id

  before_each(function() c, cleanup, id = env.container() end)
  after_each(function() cleanup() end)

  it("go through create, start, pause, resume, shutdown and wait", function()
    local props = assert(c:properties())
    assert.equal("Created", props.State)
    assert.equal(id, props.Id)
    assert(c:start())
    assert.equal("Running", c:properties().State)
    assert(c:pause())
    assert.equal("Paused", c:properties().State)
    assert(c:resume())
    assert.equal("Running", c:properties().State)
    assert(c:shutdown())
    assert(c:wait(30))
    assert.equal("Stopped", c:properties().State)
  end)

  it("refuse to start twice, as invalid state", function()
    assert(c:start())
    local ok, err = c:start()
    assert.is_nil(ok)
    assert.is_true(hcsshim.is_operation_invalid_state(err))
    assert.matches("container " .. id .. " encountered an error during Start", tostring(err), 1, true)
  end)

  it("refuse a duplicate id and leave the first container alone", function()
    local mount = assert(c:properties()).Id
    local dup, err = hcsshim.create_container(id, { VolumePath = env.tmpdir() })
    assert.is_nil(dup)
    assert.equal(0xC037010F, err.hresult)
    assert.equal(mount, c:properties().Id)
    assert(c:start())
  end)

  it("treat stopping a stopped system as success", function()
    assert(c:start())
    assert(c:terminate())
    assert(c:wait(30))
    assert(c:terminate())
    assert(c:shutdown())
    assert.is_true(c:wait(0))
  end)

  it("honour wait timeouts exactly, and 0 polls", function()
    assert(c:start())
    local ok, err = c:wait(0)
    assert.is_nil(ok)
    assert.is_true(hcsshim.is_timeout(err))
    assert.matches("encountered an error during WaitTimeout", tostring(err), 1, true)
    local t0 = hcsshim.monotime()
    ok, err = c:wait(0.3)
    local waited = hcsshim.monotime() - t0
    assert.is_nil(ok)
    assert.is_true(hcsshim.is_timeout(err))
    assert.is_true(waited >= 0.3, "returned early after " .. waited)
    -- generous bounds: they catch a wait that ignores its timeout, not jitter
    assert.is_true(waited < 2.3, "overslept: " .. waited)
    t0 = hcsshim.monotime()
    assert.is_nil((c:wait(0)))
    assert.is_true(hcsshim.monotime() - t0 < 1, "wait(0) blocked")
  end)

  it("let any number of waiters and handles see the exit", function()
    assert(c:start())
    local h2 = assert(hcsshim.open_container(id))
    assert(c:shutdown())
    assert(c:wait(30))
    assert(c:wait(0))
    assert(h2:wait(30))
    assert(h2:wait(0))
    h2:close()
  end)

  it("report statistics and a process list in HCS shapes", function()
    assert(c:start())
    local p = assert(c:create_process({ CommandLine = "sleep 30" }))
    finally(function()
      p:kill()
      p:close()
    end)
    local stats = assert(c:statistics())
    assert.equal("integer", math.type(stats.Memory.MemoryUsageCommitBytes))
    assert.is_true(stats.Memory.MemoryUsageCommitBytes > 0)
    assert.equal("integer", math.type(stats.Processor.TotalRuntime100ns))
    assert.is_true(stats.Processor.TotalRuntime100ns > 0)
    assert.is_table(stats.Storage)
    assert.is_string(stats.Timestamp)
    local list = assert(c:process_list())
    local found = false
    for _, item in ipairs(list) do
      if item.ProcessId == p:pid() then
        found = true
        assert.equal("sleep", item.ImageName)
        assert.equal("integer", math.type(item.MemoryWorkingSetPrivateBytes))
      end
    end
    assert.is_true(found)
    assert.is_false(c:has_pending_updates())
  end)

  it("report plausible statistics: 64 MiB held, a second of CPU", function()
    assert(c:start())
    -- dd holds its 64 MiB block (filled from /dev/zero, so every page is
    -- touched) while blocked writing it to a pipe nobody reads
    local hold = assert(c:create_process({ CommandLine = "sh -c 'dd if=/dev/zero bs=64M count=1 | sleep 60'" }))
    finally(function()
      hold:kill()
      hold:close()
    end)
    local mib, stats = 64 * 1024 * 1024, nil
    for _ = 1, 300 do -- slow under emulation
      stats = assert(c:statistics())
      if stats.Memory.MemoryUsagePrivateWorkingSetBytes >= mib then break end
      os.execute("sleep 0.1")
    end
    -- busy until the shell and its children have used 1 s of CPU (utime,
    -- stime, cutime, cstime in 1/100 s), whatever the host's load
    local t0 = hcsshim.monotime()
    local _, _, code = env.run(c, "sh -c 'while :; do set -- $(cat /proc/$$/stat); "
      .. "[ $((${14} + ${15} + ${16} + ${17})) -ge 100 ] && exit 0; done'", { timeout = 120 })
    local wall = hcsshim.monotime() - t0
    assert.equal(0, code)
    local after = assert(c:statistics())
    local cpu = after.Processor.TotalRuntime100ns - stats.Processor.TotalRuntime100ns
    print(("\nstatistics (cgroup %s): memory %d B (peak %s), private %d B; a busy loop of 1 s CPU: %.3f s "
      .. "in %.3f s (user %d, kernel %d x 100 ns in all)"):format(env.cgroup_v2 and "v2" or "v1",
      stats.Memory.MemoryUsageCommitBytes, tostring(stats.Memory.MemoryUsageCommitPeakBytes),
      stats.Memory.MemoryUsagePrivateWorkingSetBytes, cpu / 1e7, wall, after.Processor.RuntimeUser100ns,
      after.Processor.RuntimeKernel100ns))
    assert.is_true(stats.Memory.MemoryUsageCommitBytes >= mib, "memory " .. stats.Memory.MemoryUsageCommitBytes)
    assert.is_true(stats.Memory.MemoryUsagePrivateWorkingSetBytes >= mib,
      "private " .. stats.Memory.MemoryUsagePrivateWorkingSetBytes)
    assert.is_true(cpu >= 5000000, "CPU " .. cpu)
    assert.is_true(after.Processor.RuntimeUser100ns + after.Processor.RuntimeKernel100ns > 0)
  end)

  it("list a created process under its image at once (CreateProcess returns after the exec)", function()
    -- crun exec returns just before its child's execve; under load the
    -- pid was still crun for a moment
    assert(c:start())
    for _ = 1, 20 do
      local p = assert(c:create_process({ CommandLine = "sleep 30" }))
      local image
      for _, item in ipairs(assert(c:process_list())) do
        if item.ProcessId == p:pid() then image = item.ImageName end
      end
      assert(p:kill())
      assert(p:wait(30))
      p:close()
      assert.equal("sleep", image)
    end
  end)

  it("appear in listings filtered by id, name and owner", function()
    local list = assert(hcsshim.get_containers({ Ids = { id } }))
    assert.equal(1, #list)
    assert.equal(id, list[1].Id)
    assert.equal(id, list[1].Name)
    assert.equal(0, #assert(hcsshim.get_containers({ Ids = { id }, Owners = { "someone-else" } })))
    assert.equal(1, #assert(hcsshim.get_containers({ Names = { id } })))
    assert.equal(1, #assert(hcsshim.get_containers({ Ids = { id }, Types = { "Container" } })))
    assert.equal(0, #assert(hcsshim.get_containers({ Ids = { id }, Types = { "VirtualMachine" } })))
  end)

  it("raise on a closed handle, and close twice harmlessly", function()
    c:close()
    c:close()
    assert.equal("hcsshim.system (closed)", tostring(c))
    local ok, err = pcall(c.start, c)
    assert.is_false(ok)
    assert.is_true(hcsshim.is_already_closed(err))
    assert.matches("attempt to use a closed compute system", tostring(err), 1, true)
  end)
end)

describe("compute system configuration", function()
  it("honours HostName, memory, CPU limits and a read-only mapped directory", function()
    local dir = env.tmpdir()
    env.must("echo mapped-content > " .. dir .. "/hello.txt")
    local c, cleanup, id = env.container({
      HostName = "luahost", MemoryMaximumInMB = 64, ProcessorCount = 1, ProcessorMaximum = 5000,
      ProcessorWeight = 200,
      MappedDirectories = { { HostPath = dir, ContainerPath = "/mnt/data", ReadOnly = true } },
    })
    local ok, err = pcall(function()
      assert(c:start())
      assert.equal("luahost\n", (env.run(c, "hostname")))
      assert.equal("mapped-content\n", (env.run(c, "cat /mnt/data/hello.txt")))
      local _, e2, code = env.run(c, "sh -c 'echo x > /mnt/data/new'")
      assert.not_equal(0, code)
      assert.matches("Read%-only", e2)
      local function cg(ctl, v1, v2) return env.cgroup_read(id, ctl, v1, v2) end
      assert.equal(tostring(64 * 1024 * 1024) .. "\n", cg("memory", "memory.limit_in_bytes", "memory.max"))
      assert.equal("0\n", cg("cpuset", "cpuset.cpus", "cpuset.cpus"))
      -- ProcessorWeight 200 -> v1 shares 200 * 1024 / 100, v2 cpu.weight 200;
      -- ProcessorMaximum is percent x 100 of the whole host
      local ncpu = tonumber(env.must("nproc"))
      local quota = tostring(100000 * ncpu * 5000 // 10000)
      if env.cgroup_v2 then
        assert.equal("200\n", cg("cpu", nil, "cpu.weight"))
        assert.equal(quota .. " 100000\n", cg("cpu", nil, "cpu.max"))
      else
        assert.equal("2048\n", cg("cpu", "cpu.shares"))
        assert.equal(quota .. "\n", cg("cpu", "cpu.cfs_quota_us"))
      end
    end)
    cleanup()
    env.must("rm -rf " .. dir)
    assert(ok, err)
  end)

  it("honours StorageIOPSMaximum and StorageBandwidthMaximum as block I/O throttles", function()
    local c, cleanup, id = env.container({ StorageIOPSMaximum = 1000, StorageBandwidthMaximum = 10485760 })
    local ok, err = pcall(function()
      assert(c:start())
      if env.cgroup_v2 then
        local max = env.cgroup_read(id, "blkio", nil, "io.max")
        assert.matches("^%d+:%d+ .*riops=1000", max)
        assert.matches("^%d+:%d+ .*wiops=1000", max)
        assert.matches("^%d+:%d+ .*rbps=10485760", max)
        assert.matches("^%d+:%d+ .*wbps=10485760", max)
      else
        local iops = env.cgroup_read(id, "blkio", "blkio.throttle.write_iops_device")
        local bps = env.cgroup_read(id, "blkio", "blkio.throttle.read_bps_device")
        assert.matches("^%d+:%d+ 1000\n", iops)
        assert.matches("^%d+:%d+ 10485760\n", bps)
      end
    end)
    cleanup()
    assert(ok, err)
  end)

  it("mounts the sandbox itself from LayerFolderPath and Layers when VolumePath is absent", function()
    local hcs = hcsshim
    local id = env.unique("lfp")
    local base = env.base_layer()
    assert(hcs.create_sandbox_layer(env.home, id .. "-sb", base.id, { base.path }))
    local c = assert(hcs.create_container(id, { LayerFolderPath = env.home .. "/" .. id .. "-sb",
      Layers = { { ID = hcs.new_guid(), Path = base.path } } }))
    local ok, err = pcall(function()
      assert(c:start())
      assert.equal("busybox-test\n", (env.run(c, "cat /etc/os-release")))
      assert(c:shutdown())
      assert(c:wait(30))
    end)
    c:close()
    env.forget(id)
    -- the service undid its own mount: the layer is no longer in use
    assert(hcs.destroy_layer(env.home, id .. "-sb"))
    assert(ok, err)
  end)

  it("keeps a read-only mapped directory read-only all the way down", function()
    local dir = env.tmpdir()
    env.must("mkdir -p " .. dir .. "/sub && mount -t tmpfs hcsshim-test " .. dir .. "/sub")
    local c, cleanup = env.container({
      MappedDirectories = { { HostPath = dir, ContainerPath = "/mnt/data", ReadOnly = true } } })
    finally(function()
      cleanup() -- the container holds the tmpfs until it is gone
      env.sh("umount " .. dir .. "/sub")
    end)
    assert(c:start())
    local _, err, code = env.run(c, "touch /mnt/data/sub/x")
    assert.not_equal(0, code)
    assert.matches("Read%-only", err)
  end)

  it("joins another container's network namespace with NetworkSharedContainerName", function()
    local a, cleanup_a, id_a = env.container()
    finally(cleanup_a)
    assert(a:start())
    local b, cleanup_b = env.container({ NetworkSharedContainerName = id_a })
    -- busted keeps only the last finally(): b first (it uses a's namespace), then a
    finally(function() cleanup_b(); cleanup_a() end)
    assert(b:start())
    local ns_a = env.run(a, "readlink /proc/self/ns/net")
    local ns_b = env.run(b, "readlink /proc/self/ns/net")
    assert.matches("^net:%[%d+%]\n$", ns_a)
    assert.equal(ns_a, ns_b)
    local c, err = hcsshim.create_container(env.unique("share"), { VolumePath = env.tmpdir(),
      NetworkSharedContainerName = "no-such-container" })
    assert.is_nil(c)
    assert.matches("NetworkSharedContainerName", tostring(err), 1, true)
  end)

  it("terminates on the last handle's close with TerminateOnLastHandleClosed", function()
    local c, cleanup, id = env.container({ TerminateOnLastHandleClosed = true })
    finally(cleanup)
    assert(c:start())
    local h2 = assert(hcsshim.open_container(id))
    c:close()
    -- one handle is still open: the system keeps running
    assert.is_nil((h2:wait(0.3)))
    h2:close()
    local gone = false
    for _ = 1, 200 do
      local h = hcsshim.open_container(id)
      if not h then gone = true break end
      h:close()
      os.execute("sleep 0.05")
    end
    assert.is_true(gone)
  end)

  it("refuses a HostName that is no host name", function()
    for _, bad in ipairs({ "a b", "x\nevil", string.rep("h", 64), "-x", "tab\t" }) do
      local c, err = hcsshim.create_container(env.unique("hn"), { VolumePath = env.tmpdir(), HostName = bad })
      assert.is_nil(c, bad)
      assert.matches("HostName", tostring(err), 1, true)
      assert.equal(0x80070057, err.hresult)
    end
  end)

  it("refuses Windows-only fields as not supported, naming them", function()
    for field, value in pairs({ HvPartition = true, Servicing = true, Credentials = "x",
      HvRuntime = { ImagePath = "C:\\uvm" }, IgnoreFlushesDuringBoot = true }) do
      local c, err = hcsshim.create_container(env.unique("win"), { VolumePath = env.tmpdir(), [field] = value })
      assert.is_nil(c)
      assert.is_true(hcsshim.is_not_supported(err), tostring(err))
      assert.matches(field, tostring(err), 1, true)
    end
  end)

  it("accepts MappedDir.CreateInUtilityVM=false (written only when set) and refuses true as not supported", function()
    local dir = env.tmpdir()
    local md = { HostPath = dir, ContainerPath = "/mnt/data", CreateInUtilityVM = false }
    local text = assert(hcsshim.schema.encode("ContainerConfig", { MappedDirectories = { md } }))
    assert.is_nil(text:find("CreateInUtilityVM", 1, true))
    local c, err = hcsshim.create_container(env.unique("uvm"),
      { VolumePath = env.tmpdir(), MappedDirectories = { md } })
    assert(c, tostring(err))
    assert(c:terminate())
    c:close()
    md.CreateInUtilityVM = true
    c, err = hcsshim.create_container(env.unique("uvm"), { VolumePath = env.tmpdir(), MappedDirectories = { md } })
    assert.is_nil(c)
    assert.is_true(hcsshim.is_not_supported(err), tostring(err))
    assert.matches("MappedDirectories[1].CreateInUtilityVM is not supported on this platform", tostring(err), 1, true)
  end)

  it("refuses a non-empty EndpointList clearly until HNS exists", function()
    local c, err = hcsshim.create_container(env.unique("ep"), { VolumePath = env.tmpdir(),
      EndpointList = { hcsshim.new_guid() } })
    assert.is_nil(c)
    assert.matches("EndpointList", tostring(err), 1, true)
  end)

  it("refuses the real Windows configs with a specific error", function()
    local names = { "02-config-process-isolated-isdummy-servicing.json", "04-config-k8s-pod-netshared.json" }
    for _, name in ipairs(names) do
      local f = assert(io.open("spec/fixtures/real-json/" .. name))
      local doc = hcsshim.json.decode(f:read("a"))
      f:close()
      local c, err = hcsshim.create_container(env.unique("real"), doc)
      assert.is_nil(c)
      assert.is_true(hcsshim.is_not_supported(err), tostring(err))
    end
  end)

  it("refuses ids that could escape their directory", function()
    local before = env.sh("ls -A " .. env.runtime_root .. "/systems 2>/dev/null")
    for _, bad in ipairs({ "../x", "a/b", "", ".hidden", "a\0b", string.rep("x", 200) }) do
      local c, err = hcsshim.create_container(bad, { VolumePath = env.tmpdir() })
      assert.is_nil(c, bad)
      assert.equal(0x80070057, err.hresult, tostring(err))
      assert.is_nil((hcsshim.open_container(bad)))
    end
    -- nothing new: a system an earlier test stopped may still be going away
    local after = env.sh("ls -A " .. env.runtime_root .. "/systems 2>/dev/null")
    for name in after:gmatch("[^\n]+") do
      assert.is_truthy(("\n" .. before):find("\n" .. name .. "\n", 1, true), name)
    end
  end)

  it("can be pointed at other state roots before first use, and only then", function()
    local dir = env.tmpdir()
    local code = ([[
      local h = require "hcsshim"
      assert(h.configure({ RuntimeRoot = %q }))
      assert(#assert(h.get_containers()) == 0)
      local ok, err = h.configure({ RuntimeRoot = "/elsewhere" })
      print(ok, h.is_operation_invalid_state(err))
    ]]):format(dir .. "/rt")
    local out = env.sh(("%s -e %q"):format(env.lua, code))
    assert.equal("nil\ttrue\n", out)
  end)

  it("reports a missing id as not found", function()
    local c, err = hcsshim.open_container("no-such-container-" .. hcsshim.new_guid())
    assert.is_nil(c)
    assert.is_true(hcsshim.is_not_exist(err))
    assert.equal(0xC037010E, err.hresult)
  end)

  it("refuses a VolumePath that does not exist, creating nothing", function()
    local id = env.unique("bad")
    local c, err = hcsshim.create_container(id, { VolumePath = "/nonexistent/rootfs" })
    assert.is_nil(c)
    assert.is_not_nil(err)
    assert.is_nil((hcsshim.open_container(id)))
    assert.equal(0, #assert(hcsshim.get_containers({ Ids = { id } })))
  end)
end)
