local hcsshim = require "hcsshim"
local env = require "support.env"

-- Starts a Lua snippet in the background, in a separate OS process running
-- the suite's build (env.lua, with environment `vars` if given); returns
-- its pid.  Output goes to dir/out.
local function spawn(code, dir, vars)
  local script = env.write_script(code, dir)
  return (env.must(("%s %s >%s/out 2>&1 & echo $!"):format(env.lua_with(vars or {}), script, dir)):gsub("%s+$", ""))
end

describe("lifetimes", function()
  it("let a second process open a container and process after SIGKILL of the creator", function()
    local id = env.unique("life")
    local mount, undo = env.sandbox(id .. "-sb")
    local creator
    finally(function()
      if creator then env.sh("kill -9 " .. creator) end
      env.forget(id)
      undo()
    end)
    local dir = env.tmpdir()
    creator = spawn(([[
      local hcsshim = require "hcsshim"
      local c = assert(hcsshim.create_container(%q, { VolumePath = %q }))
      assert(c:start())
      local p = assert(c:create_process({ CommandLine = "sh -c 'sleep 1; exit 7'" }))
      local f = assert(io.open(%q, "w"))
      f:write(p:pid())
      f:close()
      while true do os.execute("sleep 10") end
    ]]):format(id, mount, dir .. "/pid"), dir)
    local ppid
    local deadline = hcsshim.monotime() + 30
    while hcsshim.monotime() < deadline and not ppid do
      local f = io.open(dir .. "/pid")
      if f then ppid = tonumber(f:read("a")); f:close() end
      if not ppid then os.execute("sleep 0.05") end
    end
    assert.is_not_nil(ppid, "creator did not start: " .. env.sh("cat " .. dir .. "/out"))
    env.must("kill -9 " .. creator)
    creator = nil
    local c = assert(hcsshim.open_container(id))
    local p = assert(c:open_process(ppid))
    assert(p:wait(30))
    assert.equal(7, p:exit_code())
    p:close()
    assert(c:shutdown())
    assert(c:wait(30))
    c:close()
  end)

  it("report 'unexpected container exit' to a wait for another notification, and keep the exit", function()
    local c, cleanup = env.container()
    assert(c:start())
    local h2 = assert(hcsshim.open_container(c:id()))
    assert(h2:terminate())
    -- a wait for a notification that will never come sees the exit instead
    local ok, reason = c:_wait(hcsshim.notification.START_COMPLETED, 30)
    assert.is_false(ok)
    assert.equal("exited", reason)
    local okc, err = c:_complete("Start", hcsshim.notification.START_COMPLETED, 30)
    assert.is_nil(okc)
    assert.equal("ErrUnexpectedContainerExit", err.name)
    assert.matches("unexpected container exit", tostring(err), 1, true)
    assert(c:wait(0))
    -- every handle has its own delivery: h2's may land a moment later
    assert(h2:wait(10))
    assert(h2:wait(0))
    h2:close()
    cleanup()
  end)
end)

describe("waiters in other processes", function()
  it("all see one exit at the same time", function()
    local c, cleanup, id = env.container()
    finally(cleanup)
    assert(c:start())
    local dir = env.tmpdir()
    for i = 1, 2 do
      spawn(([[
        local hcsshim = require "hcsshim"
        local c = assert(hcsshim.open_container(%q))
        io.open(%q, "w"):close()
        local ok, err = c:wait(60)
        local done = %q
        local f = io.open(done .. ".tmp", "w")
        f:write(tostring(ok), " ", tostring(err))
        f:close()
        os.rename(done .. ".tmp", done) -- the reader never sees it half written
      ]]):format(id, dir .. "/ready" .. i, dir .. "/done" .. i), env.tmpdir())
    end
    local exists = env.exists
    local deadline = hcsshim.monotime() + 30
    while not (exists(dir .. "/ready1") and exists(dir .. "/ready2")) and hcsshim.monotime() < deadline do
      os.execute("sleep 0.02")
    end
    assert.is_true(exists(dir .. "/ready1") and exists(dir .. "/ready2"), "the waiters did not start")
    -- both are blocked in wait now: neither has finished before the shutdown
    assert.is_false(exists(dir .. "/done1") or exists(dir .. "/done2"))
    assert(c:shutdown())
    assert(c:wait(30))
    deadline = hcsshim.monotime() + 30
    while not (exists(dir .. "/done1") and exists(dir .. "/done2")) and hcsshim.monotime() < deadline do
      os.execute("sleep 0.02")
    end
    for i = 1, 2 do
      local f = assert(io.open(dir .. "/done" .. i))
      assert.equal("true nil", f:read("a"))
      f:close()
    end
  end)
end)

describe("a create that fails inside the runtime", function()
  it("is rolled back completely", function()
    local id = env.unique("rollback")
    local mount, undo = env.sandbox(id .. "-sb")
    finally(undo)
    local dir = env.tmpdir()
    local fake = env.write_program(dir .. "/crun",
      "#!/bin/sh\nfor a; do [ \"$a\" = create ] && { echo 'injected create failure' >&2; exit 1; }; done\n",
      "exec crun \"$@\"\n")
    local out = env.sh(("HCSSHIM_CRUN=%q %s -e %q"):format(fake, env.lua, ([[
        local h = require "hcsshim"
        local c, err = h.create_container(%q, { VolumePath = %q })
        print(c, err and err.hresult)
      ]]):format(id, mount)))
    assert.matches("^nil\t%d+\n$", out)
    assert.is_nil((hcsshim.open_container(id)))
    assert.equal("", env.sh("ls -d " .. env.runtime_root .. "/systems/" .. id .. " /sys/fs/cgroup/*"
      .. env.cgroup_parent .. "/" .. id .. " 2>/dev/null"))
    assert.equal("", env.sh("crun --root " .. env.runtime_root .. "/crun list -q | grep -x " .. id))
  end)
end)

-- Issue 9, item 11: a system's folder is made pending, its lock put in,
-- then renamed into place; a public folder without a lock file is one a
-- teardown is removing (or a killed one left).  A moment after, it is
-- nobody's: the next look at that id (or an enumeration) removes it, and
-- the id can be created again; a fresh one is left alone.
describe("a system folder without its lock file", function()
  it("is reaped once it is old, left alone while fresh", function()
    local old, fresh = env.unique("nolock"), env.unique("nolock")
    local root = env.runtime_root .. "/systems/"
    env.must(("mkdir -p %s%s %s%s && touch -d '-10 seconds' %s%s"):format(root, old, root, fresh, root, old))
    finally(function() env.sh("rm -rf " .. root .. fresh .. " " .. root .. old) end)
    assert.is_nil((hcsshim.open_container(old)))
    assert.equal("", env.sh("ls -d " .. root .. old .. " 2>/dev/null"))
    assert.is_nil((hcsshim.open_container(fresh)))
    assert.equal(root .. fresh .. "\n", env.sh("ls -d " .. root .. fresh .. " 2>/dev/null"))
    -- an enumeration reaps it too, once it is old
    env.must(("touch -d '-10 seconds' %s%s"):format(root, fresh))
    assert(hcsshim.get_containers())
    assert.equal("", env.sh("ls -d " .. root .. fresh .. " 2>/dev/null"))
  end)
end)

-- Issue 9, item 11: a creator SIGKILLed before its rename leaves a
-- pending folder (".new-<maker>-<id>-XXXXXX", with or without its lock
-- file).  Once its maker is gone the next enumeration removes it, at once;
-- a live maker's stays, however old.
describe("a pending system folder", function()
  it("goes with its maker, and stays while the maker lives", function()
    local root = env.runtime_root .. "/systems/"
    local gone = env.maker_tag(true)
    local nolock, unheld = ".new-" .. gone .. "-a-AAAAAA", ".new-" .. gone .. "-b-BBBBBB"
    local live = ".new-" .. env.maker_tag() .. "-c-CCCCCC"
    env.must(("mkdir %s%s %s%s %s%s && touch %s%s/lock && touch -d '-10 seconds' %s%s"):format(root, nolock, root,
      unheld, root, live, root, unheld, root, live))
    finally(function() env.sh(("rm -rf %s%s %s%s %s%s"):format(root, nolock, root, unheld, root, live)) end)
    assert(hcsshim.get_containers())
    assert.equal(root .. live .. "\n", env.sh(("ls -d %s.new-*-[abc]-* 2>/dev/null"):format(root)))
  end)
end)

-- Issue 9, item 11 (the crash harness, under load): a creator SIGKILLed
-- after it started the monitor and before that monitor listened.  The
-- monitor-to-be held the system's lock with no socket yet, so an open
-- from another process said "not found" and prune() could not remove the
-- system (nor could an endpoint it held be deleted).  A monitor that takes
-- 2 s to start stands for the load here: it marks dir/started first.
local function slow_monitor(dir)
  -- the monitor this build runs (compute's default: next to the core)
  local real = os.getenv("HCSSHIM_MONITOR")
    or package.searchpath("hcsshim.core", package.cpath):gsub("core%.so$", "monitor")
  real = env.must("readlink -f " .. real):gsub("%s+$", "")
  return env.write_program(dir .. "/monitor",
    ("#!/bin/sh\n: >%s/started\nsleep 2\nexec %s \"$@\"\n"):format(dir, real))
end

-- A crun whose create takes 2 s more: it marks dir/started first.
local function slow_crun(dir)
  return env.write_program(dir .. "/crun", "#!/bin/sh\n",
    ("for a; do [ \"$a\" = create ] && { : >%s/started; sleep 2; }; done\n"):format(dir), "exec crun \"$@\"\n")
end

local core = require "hcsshim.core"

-- Runs a Lua snippet in the background with environment `vars` (the slow
-- monitor or crun); returns its pid once dir/started is there.
local function create_slowly(code, dir, vars)
  local pid = spawn(code, dir, vars)
  local deadline = hcsshim.monotime() + 30
  while not env.exists(dir .. "/started") and hcsshim.monotime() < deadline do core.sleep(0.01) end
  assert.is_true(env.exists(dir .. "/started"), env.sh("cat " .. dir .. "/out"))
  return pid
end

-- The first line the snippet printed (dir/out), waiting for it.
local function first_line(dir)
  local deadline, out = hcsshim.monotime() + 30, ""
  while not out:find("\n") and hcsshim.monotime() < deadline do
    core.sleep(0.05)
    out = env.slurp(dir .. "/out")
  end
  return out
end

-- A creator that prints the State of the system it made (TerminateOnLast-
-- HandleClosed), or the create's error.
local CREATE_AND_TELL = [[
  local h = require "hcsshim"
  local c, err = h.create_container(%q, { VolumePath = %q, TerminateOnLastHandleClosed = true })
  if c then
    require("hcsshim.core").sleep(0.5)
    local props = c:properties()
    print(props and props.State)
    c:terminate()
    c:wait(10)
    c:close()
  else
    print(err)
  end
]]

describe("a creator killed while its monitor starts", function()
  -- each test: a system id, its sandbox, a folder, and the processes it
  -- started that may still run (killed after it)
  local id, mount, undo, dir, pids
  before_each(function()
    id = env.unique("slowmon")
    mount, undo = env.sandbox(id .. "-sb")
    dir, pids = env.tmpdir(), {}
  end)
  after_each(function()
    for _, pid in pairs(pids) do env.sh("kill -9 " .. pid) end
    env.forget(id)
    undo()
  end)

  it("leaves a system that another process opens, and prune() removes", function()
    pids.creator = create_slowly(([[
      local h, run = require "hcsshim", require "hcsshim.run"
      h.create_container(%q, { VolumePath = %q, Owner = run.OWNER .. ";" .. run.creator() })
      os.execute("sleep 60")
    ]]):format(id, mount), dir, { HCSSHIM_MONITOR = slow_monitor(dir) })
    env.must("kill -9 " .. pids.creator)
    pids.creator = nil
    local c, err = hcsshim.open_container(id)
    assert.is_not_nil(c, tostring(err))
    c:close()
    local removed = assert(hcsshim.prune({ home = env.home }))
    assert.is_truthy(table.concat(removed.Containers, " "):find(id, 1, true))
    assert.is_nil((hcsshim.open_container(id)))
    -- a monitor that ended removes its folder a moment after it stopped answering
    env.folder_gone(id, hcsshim.monotime() + 10)
    assert.equal("", env.sh("ls -d " .. env.runtime_root .. "/systems/" .. id .. " 2>/dev/null"))
  end)

  -- An open that waits in the backlog of a monitor still starting, from a
  -- caller killed meanwhile, was no handle: its hang-up must not count as
  -- the last handle closing (TerminateOnLastHandleClosed would stop the
  -- system under its live creator).
  it("counts no handle for an open whose caller left before it was answered", function()
    create_slowly(CREATE_AND_TELL:format(id, mount), dir, { HCSSHIM_MONITOR = slow_monitor(dir) })
    pids.opener = env.must(("%s -e %q >/dev/null 2>&1 & echo $!"):format(env.lua,
      ("require('hcsshim').open_container(%q)"):format(id))):gsub("%s+$", "")
    -- its open waits in the backlog once its socket is connected (the
    -- monitor starts 2 s after the mark)
    local deadline, queued = hcsshim.monotime() + 10, false
    while not queued and hcsshim.monotime() < deadline do
      queued = ("\n" .. env.sh("ss -xpH")):find("\nu_seq[^\n]*pid=" .. pids.opener .. ",") ~= nil
      if not queued then core.sleep(0.02) end
    end
    assert.is_true(queued, "the open never connected")
    env.must("kill -9 " .. pids.opener)
    pids.opener = nil
    assert.equal("Created\n", first_line(dir))
  end)
end)

-- Issue 9 (a cold review of the fix above): the creator's handle exists
-- from the create on, as HcsCreateComputeSystem's does.  Another process's
-- open and close while the create ran left no handle, and stopped a
-- TerminateOnLastHandleClosed system under its live creator; a creator
-- killed during the create took no handle with it, and its system stayed.
describe("the creator's handle during a create", function()
  local id, mount, undo, dir, creator
  before_each(function()
    id = env.unique("crhandle")
    mount, undo = env.sandbox(id .. "-sb")
    dir = env.tmpdir()
  end)
  after_each(function()
    if creator then env.sh("kill -9 " .. creator) end
    creator = nil
    env.forget(id)
    undo()
  end)

  it("outlives another process's open and close while crun create runs", function()
    creator = create_slowly(CREATE_AND_TELL:format(id, mount), dir, { HCSSHIM_CRUN = slow_crun(dir) })
    local c, err = hcsshim.open_container(id)
    assert.is_not_nil(c, tostring(err))
    c:close()
    assert.equal("Created\n", first_line(dir))
    creator = nil
  end)

  it("closes with a creator killed while crun create runs: the system ends on its own", function()
    creator = create_slowly(CREATE_AND_TELL:format(id, mount), dir, { HCSSHIM_CRUN = slow_crun(dir) })
    env.must("kill -9 " .. creator)
    creator = nil
    -- the create ends 2 s after the mark; then the system goes, no prune()
    local deadline = hcsshim.monotime() + 20
    while env.exists(env.runtime_root .. "/systems/" .. id) and hcsshim.monotime() < deadline do core.sleep(0.05) end
    assert.is_false(env.exists(env.runtime_root .. "/systems/" .. id))
    assert.is_nil((hcsshim.open_container(id)))
  end)
end)

-- Issue 12, item 3: the monitor's log goes with the system directory when
-- creation rolls back, so the message carries the log's last lines instead
-- of a path that no longer exists.
describe("a monitor that fails before reporting", function()
  it("is reported with its own words, naming no deleted log", function()
    local id = env.unique("monfail")
    local mount, undo = env.sandbox(id .. "-sb")
    finally(undo)
    local fake = env.write_program(env.tmpdir() .. "/monitor",
      "#!/bin/sh\necho 'monitor: starting'\necho 'injected monitor failure: no cgroup' >&2\nexit 1\n")
    -- the override goes last, after any the suite's own child environment sets
    local lua = env.lua_with({ HCSSHIM_MONITOR = fake })
    local out = env.sh(("%s -e %q"):format(lua, ([[
        local h = require "hcsshim"
        local c, err = h.create_container(%q, { VolumePath = %q })
        io.write(tostring(c), "\n", err and err.hresult or "", "\n", tostring(err))
      ]]):format(id, mount)))
    local c, hr, msg = out:match("^(%S+)\n(%d*)\n(.*)$")
    assert.equal("nil", c, out)
    assert.is_true(#hr > 0, out)
    assert.matches("injected monitor failure: no cgroup", msg, 1, true)
    assert.matches("monitor: starting", msg, 1, true)
    assert.is_nil(msg:find("monitor.log", 1, true), msg)
    assert.is_nil(msg:find(env.runtime_root .. "/systems/", 1, true), msg)
    assert.is_nil((hcsshim.open_container(id)))
    assert.equal("", env.sh("ls -d " .. env.runtime_root .. "/systems/" .. id .. " 2>/dev/null"))
  end)
end)

-- systemd hosts (PID 1 is systemd): containers outlive the unit that made them
local systemd = select(2, env.sh("test -d /run/systemd/system && command -v systemd-run"))
local it_systemd = systemd and it or pending

-- Runs a Lua snippet as transient service `unit` (systemd-run), with the
-- suite's build (env.child_env), working directory and the service's roots.
local function start_unit(code, dir, unit)
  local script = env.write_script(code, dir)
  local cmd = { "systemd-run --quiet --collect --unit=" .. unit,
                ("--working-directory=%q"):format((env.must("pwd"):gsub("%s+$", ""))) }
  for k, v in pairs(env.child_env) do cmd[#cmd + 1] = ("--setenv=%s=%q"):format(k, v) end
  for _, k in ipairs({ "HCSSHIM_RUNTIME_ROOT", "HCSSHIM_DATA_ROOT", "HCSSHIM_CGROUP_PARENT", "HCSSHIM_CRUN" }) do
    if os.getenv(k) then cmd[#cmd + 1] = ("--setenv=%s=%q"):format(k, os.getenv(k)) end
  end
  cmd[#cmd + 1] = ("-p StandardOutput=file:%s/out -p StandardError=file:%s/out %s %s"):format(dir, dir,
    env.lua_bin, script)
  env.must(table.concat(cmd, " "))
end

describe("a container a systemd service created", function()
  it_systemd("keeps running after `systemctl stop` of that service; another process execs in it"
    .. " and stops it", function()
    local id = env.unique("unit")
    local unit = "hcsshim-test-" .. id .. ".service"
    local mount, undo = env.sandbox(id .. "-sb")
    finally(function()
      env.sh("systemctl stop " .. unit .. "; systemctl reset-failed " .. unit)
      env.forget(id)
      undo()
    end)
    local dir = env.tmpdir()
    start_unit(([[
      local hcsshim = require "hcsshim"
      local c = assert(hcsshim.create_container(%q, { VolumePath = %q }))
      assert(c:start())
      local f = assert(io.open(%q, "w"))
      f:write("started")
      f:close()
      assert(c:wait()) -- a service that lives as long as its container
    ]]):format(id, mount, dir .. "/started"), dir, unit)
    local started
    local deadline = hcsshim.monotime() + 60
    while hcsshim.monotime() < deadline and not started do
      local f = io.open(dir .. "/started")
      if f then started = true; f:close() else os.execute("sleep 0.1") end
    end
    assert.is_true(started, "the service did not start the container: " .. env.sh("cat " .. dir .. "/out"))
    env.must("systemctl stop " .. unit)
    assert.is_nil(env.sh("systemctl is-active " .. unit):find("^active"))
    local c = assert(hcsshim.open_container(id))
    local out, _, code = env.run(c, "echo still here")
    assert.equal("still here\n", out)
    assert.equal(0, code)
    assert(c:shutdown())
    assert(c:wait(30))
    c:close()
  end)
end)
