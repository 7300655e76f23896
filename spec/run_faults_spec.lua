-- run{} when things go wrong (issue 9, item 10): a raised error, an
-- interrupt (SIGINT to a `lua` running it) and a timeout remove all the
-- run made; what a killed run left is recognised and removed by prune().
-- Subnet 172.29.91.0/24.
local env = require "support.env"
local hcsshim = require "hcsshim"
local hns = require "hcsshim.hns"
local run = require "hcsshim.run"

-- A nat network on 172.29.<n>.0/24 named after prefix.
local function nat_net(prefix, n)
  return assert(hns.create_network({ Name = env.unique(prefix), Type = "nat",
    Subnets = { { AddressPrefix = ("172.29.%d.0/24"):format(n), GatewayAddress = ("172.29.%d.1"):format(n) } } }))
end

-- What run{} made for compute system id and is still there.
local function leftovers(id)
  local left = {}
  local c = hcsshim.open_container(id)
  if c then
    left[#left + 1] = "system"
    c:close()
  end
  if hcsshim.layer_exists(env.home, id .. "-sandbox") then left[#left + 1] = "sandbox layer" end
  for _, ep in ipairs(assert(hns.list_endpoints())) do
    if ep.Name == id then left[#left + 1] = "endpoint " .. ep.ID end
  end
  for m in env.sh("findmnt -rn -o TARGET"):gmatch("[^\n]+") do
    if m:find(id, 1, true) then left[#left + 1] = "mount " .. m end
  end
  return left
end

-- The cached rootfs layer of the busybox tar is held by no sandbox: it
-- can be destroyed (the next run imports it again).
local function rootfs_unheld()
  local digest = assert(require("hcsshim.core").sha256_file(env.busybox_tar()))
  local id = "rootfs-" .. digest:sub(8)
  if not hcsshim.layer_exists(env.home, id) then return true end
  return hcsshim.destroy_layer(env.home, id)
end

-- A Lua child running `code` (with the suite's build), its pid first on
-- stdout; returns the pipe and the pid.
local function spawn_lua(code)
  local script, dir = env.write_script(code)
  local p = assert(io.popen(("echo $$; exec env %s %s 2>&1"):format(env.lua, script)))
  return p, assert(tonumber(p:read("l"))), dir
end

-- Lines of p until one matching pattern (nil at the end).
local function read_until(p, pattern)
  for l in p:lines() do
    if l:find(pattern) then return l end
  end
  return nil
end

describe("run{} on errors and interrupts", function()
  local tar, net
  setup(function()
    tar = env.busybox_tar()
    net = nat_net("hns-runf", 91)
  end)
  teardown(function() assert(hns.delete_network(net.ID)) end)

  it("removes everything, endpoint included, when a callback raises; the error goes on unchanged", function()
    local id = env.unique("rf-raise")
    local boom = setmetatable({}, { __tostring = function() return "boom" end })
    local ok, err = pcall(hcsshim.run, { rootfs = tar, home = env.home, id = id, network = net.Name,
      command = "sh -c 'echo one; sleep 30'", timeout = 60, on_stdout = function() error(boom) end })
    assert.is_false(ok)
    assert.is_true(rawequal(boom, err))
    assert.same({}, leftovers(id))
    assert.is_truthy(rootfs_unheld())
  end)

  it("removes everything when the lua running it gets SIGINT (Ctrl-C)", function()
    local id = env.unique("rf-int")
    local p, pid, dir = spawn_lua(([[
      local hcsshim = require "hcsshim"
      hcsshim.run{ rootfs = %q, home = %q, id = %q, network = %q, command = "sh -c 'echo up; sleep 30'",
        on_stdout = function(chunk) io.stdout:write(chunk) io.stdout:flush() end }
      print("returned")
    ]]):format(tar, env.home, id, net.Name))
    finally(function() env.sh("rm -rf " .. dir) end)
    assert.is_not_nil(read_until(p, "^up$"))
    local t0 = hcsshim.monotime()
    env.must("kill -INT " .. pid)
    local rest = p:read("a")
    local _, _, code = p:close()
    assert.is_true(hcsshim.monotime() - t0 < 10, "the interrupt waited for the process")
    assert.matches("interrupted!", rest, 1, true)
    assert.not_matches("returned", rest, 1, true)
    assert.equal(1, code)
    assert.same({}, leftovers(id))
    assert.is_truthy(rootfs_unheld())
  end)
end)

describe("run{} timeout", function()
  local tar
  setup(function() tar = env.busybox_tar() end)

  it("bounds the whole run, create and start included", function()
    -- `true` exits at once: only the steps before it can take 50 ms
    local id = env.unique("rf-short")
    local r, err = hcsshim.run{ rootfs = tar, home = env.home, id = id, command = "true", timeout = 0.05 }
    assert.is_nil(r, "the timeout did not cover create and start")
    assert.is_true(hcsshim.is_timeout(err), tostring(err))
    assert.same({}, leftovers(id))
  end)

  it("terminates a long command at the timeout and leaves nothing", function()
    local id = env.unique("rf-long")
    local t0 = hcsshim.monotime()
    local r, err = hcsshim.run{ rootfs = tar, home = env.home, id = id, command = "sleep 30", timeout = 1 }
    local took = hcsshim.monotime() - t0
    assert.is_nil(r)
    assert.is_true(hcsshim.is_timeout(err), tostring(err))
    assert.is_true(took < 4, ("took %.1f s"):format(took))
    assert.same({}, leftovers(id))
  end)
end)

-- stdin is fed as the process takes it, while its output is read: a
-- blocking write of all of it first never returned for a process that
-- answers as it reads (its stdout filled, so it stopped reading), nor for
-- one that never reads, whatever the timeout.  In a child that is killed
-- after 60 s, so that the old behaviour fails instead of hanging.
describe("run{} stdin", function()
  local tar
  setup(function() tar = env.busybox_tar() end)

  -- run{} in a child: "<ok or error name> <bytes of stdout> <seconds>"
  local function child_run(id, fields)
    local out = env.sh(("timeout -s KILL 60 env %s %s"):format(env.lua, env.write_script(([[
      local h = require "hcsshim"
      local t0 = h.monotime()
      local r, err = h.run{ rootfs = %q, home = %q, id = %q, %s }
      io.write(("%%s %%d %%.1f\n"):format(r and "ok" or tostring(err and err.name), r and #r.stdout or -1,
        h.monotime() - t0))
    ]]):format(tar, env.home, id, fields))))
    return out
  end

  it("reaches a process that echoes it back, 300 KB through 64 KB pipes", function()
    local id = env.unique("rf-cat")
    local out = child_run(id, [[command = "cat", stdin = ("x"):rep(300000), timeout = 30]])
    assert.matches("^ok 300000 ", out)
    assert.same({}, leftovers(id))
  end)

  it("gives ErrTimeout at the timeout to a process that never reads it", function()
    local id = env.unique("rf-noread")
    local out = child_run(id, [[command = "sleep 30", stdin = ("x"):rep(300000), timeout = 2]])
    local secs = tonumber(out:match("^ErrTimeout %-1 ([%d.]+)\n"))
    assert.is_truthy(secs, out)
    assert.is_true(secs < 5, out)
    assert.same({}, leftovers(id))
  end)

  it("of a detached run gives ErrTimeout at the timeout when the process never reads it", function()
    local id = env.unique("rf-detach")
    local out = child_run(id, [[command = "sleep 30", stdin = ("x"):rep(300000), timeout = 2, detach = true]])
    assert.matches("^ErrTimeout %-1 ", out)
    assert.same({}, leftovers(id))
  end)
end)

describe("what a killed run leaves", function()
  local tar, net
  setup(function()
    tar = env.busybox_tar()
    net = nat_net("hns-runk", 92)
  end)
  teardown(function() assert(hns.delete_network(net.ID)) end)

  -- TerminateOnLastHandleClosed = false: the system outlives its killed
  -- creator, and only the creator in its Owner tells prune() it is abandoned
  it("names its creator, and goes with prune() once the creator is dead; a detached run stays", function()
    local id, kept = env.unique("rf-kill"), env.unique("rf-kept")
    local box = assert(hcsshim.run{ rootfs = tar, home = env.home, id = kept, command = "sleep 60", detach = true })
    local p, pid, dir
    finally(function() -- busted keeps one finally per test
      box.stop()
      if dir then env.sh("rm -rf " .. dir) end
    end)
    p, pid, dir = spawn_lua(([[
      local hcsshim = require "hcsshim"
      hcsshim.run{ rootfs = %q, home = %q, id = %q, network = %q, command = "sh -c 'echo up; sleep 30'",
        config = { TerminateOnLastHandleClosed = false },
        on_stdout = function(chunk) io.stdout:write(chunk) io.stdout:flush() end }
    ]]):format(tar, env.home, id, net.Name))
    assert.is_not_nil(read_until(p, "^up$"))
    local c = assert(hcsshim.open_container(id))
    local owner = assert(c:properties()).Owner
    c:close()
    assert.matches("^hcsshim%-lua;creator=[%x%-]+/" .. pid .. "/%d+$", owner)
    assert.is_false(run.creator_gone(owner))
    env.must("kill -KILL " .. pid)
    p:close()
    assert.is_true(run.creator_gone(owner))
    local props = assert(box.container:properties())
    assert.equal("hcsshim-lua", props.Owner) -- detached: no creator, it outlives it
    c = assert(hcsshim.open_container(id)) -- still running: nobody terminated it
    assert.is_true(c:is_running())
    c:close()
    local pruned = assert(hcsshim.prune({ home = env.home }))
    assert.same({}, leftovers(id))
    assert.is_true(box.container:is_running())
    for _, l in ipairs(pruned.Layers) do assert.not_equal(kept .. "-sandbox", l) end
  end)

  it("prune() spares the sandbox of a run a live creator is still setting up", function()
    local id, real, pruned = env.unique("rf-setup"), hns.create_endpoint, nil
    -- prune runs between the run's sandbox layer and its endpoint
    hns.create_endpoint = function(ep)
      pruned = hcsshim.prune({ home = env.home })
      return real(ep)
    end
    local ok, r, err = pcall(hcsshim.run, { rootfs = tar, home = env.home, id = id, network = net.Name,
      command = "echo ok", timeout = 60 })
    hns.create_endpoint = real
    assert.is_true(ok, tostring(r))
    assert.is_truthy(r, tostring(err))
    assert.equal("ok\n", r.stdout)
    for _, l in ipairs(assert(pruned).Layers) do assert.not_equal(id .. "-sandbox", l) end
    assert.same({}, leftovers(id))
  end)
end)
