-- Issue 9, item 2: calls that outlive their timeout.  A runtime step that
-- really hangs: crun run through a wrapper that stops itself (SIGSTOP)
-- before it execs the real crun for one verb, so the step is a stopped
-- process of the monitor's, as a crun blocked on something that never
-- comes would be.  No call may block past its timeout (plus slack), and
-- terminate, from this or another process, always works and kills the step.
local hcsshim = require "hcsshim"
local env = require "support.env"
local core = require "hcsshim.core"
local monitor_pid = require("support.procs").monitor_pid

local SLACK = 1.5 -- seconds a call may take beyond its timeout

-- A crun that hangs at verb $HCSSHIM_TEST_HANG (passed to the monitor's
-- children like every HCSSHIM_* variable), or, for verb
-- $HCSSHIM_TEST_HANG_AFTER, once the real crun has done it.
local function hanging_crun(dir)
  return env.write_program(dir .. "/crun", "#!/bin/sh\n",
    "for a; do [ \"$a\" = \"$HCSSHIM_TEST_HANG\" ] && kill -STOP $$\n",
    "  [ \"$a\" = \"$HCSSHIM_TEST_HANG_AFTER\" ] && { crun \"$@\"; rc=$?; kill -STOP $$; exit $rc; }; done\n",
    "exec crun \"$@\"\n")
end

-- Hooks that give each test of a describe a fresh folder with the
-- wrapper in it, set(dir, crun) before it; the folder goes after it.
local function each_hanging_crun(set)
  local dir
  before_each(function()
    dir = env.tmpdir()
    set(dir, hanging_crun(dir))
  end)
  after_each(function() env.sh("rm -rf " .. dir) end)
end

-- pids of stopped processes running the wrapper at `path`
local function stuck(path)
  local out = env.sh(("for p in /proc/[0-9]*; do "
    .. "grep -qs '^State:.*T (stopped)' $p/status && tr '\\0' ' ' < $p/cmdline 2>/dev/null "
    .. "| grep -qF %q && echo ${p#/proc/}; done"):format(path))
  local pids = {}
  for pid in out:gmatch("%d+") do pids[#pids + 1] = pid end
  return pids
end

local function wait_for(what, fn, seconds, step)
  local deadline = hcsshim.monotime() + (seconds or 10)
  repeat
    local v = fn()
    if v then return v end
    core.sleep(step or 0.05)
  until hcsshim.monotime() > deadline
  error("timed out waiting for " .. what, 2)
end

-- A Lua child with the wrapper as its crun; its monitor and the monitor's
-- crun steps inherit both variables.  Bounded: before the fix it hung.
-- verb "after:<verb>": hang once crun did it.
local function child_cmd(crun, verb, code, dir)
  local after = verb:match("^after:(.*)$")
  return ("timeout -s KILL 30 env %s %s"):format(env.lua_with({ HCSSHIM_CRUN = crun,
    HCSSHIM_TEST_HANG = after and "" or verb, HCSSHIM_TEST_HANG_AFTER = after or "" }), env.write_script(code, dir))
end

local function config(id, mount)
  return ([[{ VolumePath = %q, LayerFolderPath = %q,
    Layers = { { ID = %q, Path = %q } } }]]):format(mount, env.home .. "/" .. id .. "-sb",
    hcsshim.new_guid(), env.base_layer().path)
end

-- A fresh system id and sandbox (its mount path), both gone after the test.
local function fresh()
  local id = env.unique("stuck")
  local mount, undo = env.sandbox(id .. "-sb")
  finally(function()
    env.forget(id)
    undo()
  end)
  return id, mount
end

-- Nothing of system id is left: no crun state, cgroup, system folder.
local function assert_gone(id)
  assert.is_nil((hcsshim.open_container(id)))
  assert.equal("", env.sh("crun --root " .. env.runtime_root .. "/crun list -q | grep -x " .. id))
  assert.equal("", env.sh("ls -d " .. env.runtime_root .. "/systems/" .. id .. " /sys/fs/cgroup/*"
    .. env.cgroup_parent .. "/" .. id .. " /sys/fs/cgroup" .. env.cgroup_parent .. "/" .. id
    .. " 2>/dev/null"))
end

describe("a create whose deadline passed before its monitor listened", function()
  it("gives ErrTimeout within a few seconds and leaves nothing", function()
    local id, mount = fresh()
    local t0 = hcsshim.monotime()
    local c, err = hcsshim.create_container(id, { VolumePath = mount, LayerFolderPath = env.home .. "/" .. id .. "-sb",
      Layers = { { ID = hcsshim.new_guid(), Path = env.base_layer().path } } }, 1e-6)
    local took = hcsshim.monotime() - t0
    assert.is_nil(c)
    assert.is_true(hcsshim.is_timeout(err), tostring(err))
    print(("create_container(..., 1e-6) returned after %.3f s"):format(took))
    assert.is_true(took < 10, ("took %.1f s"):format(took)) -- 30 s and a system left before
    assert_gone(id)
  end)
end)

describe("a runtime step that hangs", function()
  local dir, crun
  each_hanging_crun(function(d, c) dir, crun = d, c end)

  -- c's system stopped, no step left stopped, and nothing of it left
  local function ends_clean(c, id)
    assert(c:wait(10))
    assert.same({}, stuck(crun))
    c:close()
    env.forget(id)
    assert_gone(id)
  end

  -- In a child whose crun hangs at `verb`: `setup`, then `call` (an
  -- expression giving value, err), timed.  Returns the value as text, the
  -- seconds, is_timeout(err) as text, the error's text and all the output.
  local function timed_child(verb, setup, call)
    local out = env.sh(child_cmd(crun, verb, ([[
      local h = require "hcsshim"
      %s
      local t0 = h.monotime()
      local v, err = %s
      io.write(("%%s %%.3f %%s\n%%s\n"):format(tostring(v), h.monotime() - t0,
        tostring(h.is_timeout(err)), tostring(err)))
    ]]):format(setup, call), dir))
    local v, secs, timeout, msg = out:match("^(%S+) ([%d.]+) (%S+)\n(.*)$")
    return v, tonumber(secs), timeout, msg, out
  end

  it("start(2) gives up with ErrTimeout in about 2 s; terminate(5) from another process kills the step",
    function()
      local id, mount = fresh()
      local ok, secs, timeout, msg, out = timed_child("start",
        ("local c = assert(h.create_container(%q, %s))"):format(id, config(id, mount)), "c:start(2)")
      assert.equal("nil", ok, out)
      assert.equal("true", timeout, out)
      assert.matches("0x5b4", msg, 1, true)
      print(("stuck start(2) returned after %.3f s"):format(secs))
      assert.is_true(secs >= 1.9 and secs < 2 + SLACK, out)

      local steps = stuck(crun)
      assert.equal(1, #steps, "the start step is a stopped process")
      local c = assert(hcsshim.open_container(id))
      local t0 = hcsshim.monotime()
      assert(c:terminate(5))
      local took = hcsshim.monotime() - t0
      print(("terminate(5) of a system stuck in start returned after %.3f s"):format(took))
      assert.is_true(took < 5)
      assert(c:wait(10))
      assert.same({}, stuck(crun))
      assert.equal("", env.sh("kill -0 " .. steps[1] .. " 2>/dev/null && echo alive"))
      c:close()
      env.forget(id)
      assert_gone(id)
    end)

  it("create_process(cfg, 2) whose crun exec hangs gives up with ErrTimeout; terminate(5) still works", function()
    local id, mount = fresh()
    local p, secs, timeout, msg, out = timed_child("exec",
      ("local c = assert(h.create_container(%q, %s)) assert(c:start(20))"):format(id, config(id, mount)),
      [[c:create_process({ CommandLine = "true" }, 2)]])
    assert.equal("nil", p, out)
    assert.equal("true", timeout, out)
    assert.matches("0x5b4", msg, 1, true)
    print(("stuck create_process(2) returned after %.3f s"):format(secs))
    assert.is_true(secs >= 1.9 and secs < 2 + SLACK, out)
    local c = assert(hcsshim.open_container(id))
    assert(c:terminate(5))
    ends_clean(c, id)
  end)

  it("create_container(id, cfg, 2) of a system whose crun create hangs gives up in time and leaves nothing",
    function()
      local id, mount = fresh()
      local c, secs, timeout, msg, out = timed_child("create", "",
        ("h.create_container(%q, %s, 2)"):format(id, config(id, mount)))
      assert.equal("nil", c, out)
      assert.equal("true", timeout, out)
      assert.matches("cut short", msg, 1, true)
      print(("stuck create(2) returned after %.3f s"):format(secs))
      -- the deadline, then the cut short create's teardown
      assert.is_true(secs >= 1.9 and secs < 2 + SLACK + 3, out)
      assert.same({}, stuck(crun))
      assert_gone(id)
    end)

  it("a caller blocked in start hears 'terminated' as soon as another process terminates", function()
    local id, mount = fresh()
    local cmd = child_cmd(crun, "start", ([[
      local h = require "hcsshim"
      local c = assert(h.create_container(%q, %s))
      io.stdout:write("created\n")
      io.stdout:flush()
      local t0 = h.monotime()
      local ok, err = c:start(60)
      io.write(("%%s %%.3f %%s\n"):format(tostring(ok), h.monotime() - t0, err and err.name))
      c:close()
    ]]):format(id, config(id, mount)), dir)
    local outf = dir .. "/out"
    env.must(("(%s) > %s 2>&1 &"):format(cmd, outf))
    local function output() return env.slurp(outf, "") end
    wait_for("the stuck start", function() return #stuck(crun) == 1 end, 20)
    local c = assert(hcsshim.open_container(id))
    local t0 = hcsshim.monotime()
    assert(c:terminate(5))
    local line = wait_for("the child's answer", function() return (output() or ""):match("\n(nil .-)\n") end)
    local answered = hcsshim.monotime() - t0
    print(("a caller blocked in start(60) answered %.3f s after terminate"):format(answered))
    assert.matches("^nil [%d.]+ ErrVmcomputeTerminated$", line)
    assert.is_true(answered < 5)
    ends_clean(c, id)
  end)

  it("pause(1) gives up in time; terminate(5) on the same handle then works", function()
    local id, mount = fresh()
    local out = env.sh(child_cmd(crun, "pause", ([[
      local h = require "hcsshim"
      local c = assert(h.create_container(%q, %s))
      assert(c:start(30))
      local t0 = h.monotime()
      local ok, err = c:pause(1)
      io.write(("pause %%s %%.3f %%s\n"):format(tostring(ok), h.monotime() - t0, tostring(h.is_timeout(err))))
      t0 = h.monotime()
      ok, err = c:terminate(5)
      io.write(("terminate %%s %%.3f %%s\n"):format(tostring(ok), h.monotime() - t0, tostring(err)))
      io.write(("wait %%s\n"):format(tostring(c:wait(10))))
      -- the handle still answers: the late reply of the pause was dropped
      local props, perr = c:properties()
      io.write(("state %%s\n"):format(props and props.State or tostring(perr)))
      c:close()
    ]]):format(id, config(id, mount)), dir))
    local secs = tonumber(out:match("pause nil ([%d.]+) true\n"))
    assert.is_truthy(secs, out)
    print(("stuck pause(1) returned after %.3f s"):format(secs))
    assert.is_true(secs < 1 + SLACK, out)
    local tsecs = tonumber(out:match("terminate true ([%d.]+) nil\n"))
    assert.is_truthy(tsecs, out)
    assert.is_true(tsecs < 5, out)
    assert.matches("wait true\nstate Stopped\n", out, 1, true)
    assert.same({}, stuck(crun))
    env.forget(id)
    assert_gone(id)
  end)
end)

-- A started system's init takes a moment to handle SIGTERM (a TERM sent
-- before is lost), so a start's outcome waits for that, up to 1 s; an
-- exec's for its process to run its own image, up to 5 s.  The monitor
-- serves every other request meanwhile (before, it sat in the wait: a
-- terminate from another process waited it out, a terminate(0.5) timed
-- out), and a shutdown that comes meanwhile holds the init's TERM until
-- the init can take it.
describe("a start whose init is slow to take SIGTERM", function()
  -- A system whose init (the container's own /bin/sh, bind-mounted where
  -- catatonit would be) sets up its TERM handler only after `delay` s,
  -- created and started by a child: our handle on it, the child (which
  -- prints the start's outcome and when it returned), once the start is
  -- past crun's part and waits for the init.
  local function slurp(path) return env.slurp(path, "") end

  local function slow_start(delay)
    local dir = env.tmpdir()
    finally(function() env.sh("rm -rf " .. dir) end)
    local init, crun = dir .. "/slowinit", dir .. "/crun"
    -- (it waits in builtin reads: no child of its own that a shutdown's
    -- TERM would end early, or that would keep its drain from ever
    -- finding the system empty)
    env.write_program(init, "#!/bin/sh\nmkfifo /dev/shm/slowinit\nexec 3<>/dev/shm/slowinit\n",
      "read -t ", delay, " x <&3\ntrap 'exit 0' TERM\nwhile :; do read x <&3; done\n")
    env.write_program(crun, "#!/bin/sh\n", "for a; do [ \"$a\" = create ] && ",
      "sed -i 's#\"source\": *\"/usr/bin/catatonit\"#\"source\": \"", init, "\"#' config.json; done\n",
      "exec crun \"$@\"\n")
    local id, mount = fresh()
    local child = assert(io.popen(("env %s %s"):format(env.lua_with({ HCSSHIM_CRUN = crun }), env.write_script(([[
      local h = require "hcsshim"
      local c = assert(h.create_container(%q, %s))
      print("created") io.stdout:flush()
      local ok = c:start(20)
      print(tostring(ok) .. " " .. h.monotime())
    ]]):format(id, config(id, mount)), dir))))
    assert.equal("created", child:read("l"))
    -- our handle first: an open waits like any request
    local c = assert(hcsshim.open_container(id))
    -- read here, no shell started: the wait the start is in is 1 s at
    -- most, and the test must come well inside it even in an emulator
    local sys = env.runtime_root .. "/systems/" .. id
    local initpid = slurp(sys .. "/init.pid"):match("%d+")
    wait_for("the slow init to run", function()
      return slurp("/proc/" .. initpid .. "/cmdline"):find("/.hcsshim-init", 1, true)
        and not env.exists(sys .. "/step.pid")
    end, 10, 0.002)
    return c, child, sys
  end

  -- The child's start said true, and was still waiting at t0.
  local function started_after(child, t0)
    local started, at = child:read("l"):match("^(%S+) ([%d.]+)$")
    child:close()
    assert.equal("true", started)
    assert.is_true(tonumber(at) >= t0, "the start had returned before the stop came")
  end

  it("keeps the monitor serving: a terminate from another process meanwhile works at once", function()
    local c, child, sys = slow_start(3)
    local t0 = hcsshim.monotime()
    local ok, err = c:terminate(5)
    print(("terminate(5) while a start waited for its init: %s after %.3f s"):format(tostring(ok),
      hcsshim.monotime() - t0))
    assert.is_true(ok, tostring(err))
    -- it was served while the start waited: the wait never ran out
    local log = slurp(sys .. "/monitor.log")
    assert.is_nil(log:find("did not set up SIGTERM handling", 1, true), log)
    assert(c:wait(10))
    c:close()
    started_after(child, t0)
  end)

  it("a shutdown meanwhile still ends the system: the init's TERM waits until the init takes it", function()
    local c, child = slow_start(0.6)
    local t0 = hcsshim.monotime()
    assert(c:shutdown(5))
    assert(c:wait(10))
    local took = hcsshim.monotime() - t0
    print(("shutdown while a start waited for its init: stopped after %.3f s"):format(took))
    -- a lost TERM: nothing stops it until the shutdown's 5 s are over
    assert.is_true(took < 4, ("stopped after %.1f s"):format(took))
    c:close()
    started_after(child, t0)
  end)
end)

-- Issue 9, item 11: the monitor SIGKILLed in the middle of a step.  What
-- the step had made (crun create's init waiting on its exec fifo, crun's
-- state, the cgroup) must go with the system, and the step must not go
-- on after its monitor (it would make a container after the teardown).
describe("a monitor killed in the middle of crun create", function()
  local dir, crun
  each_hanging_crun(function(d, c) dir, crun = d, c end)

  -- A child creating system id whose crun hangs at `verb`; once the step
  -- is stopped, the monitor is killed.  Returns the child's output.
  local function kill_monitor_during(verb, id, mount)
    local outf = dir .. "/out"
    env.must(("(%s) > %s 2>&1 &"):format(child_cmd(crun, verb, ([[
      local h = require "hcsshim"
      local c, err = h.create_container(%q, %s, 20)
      io.write(("create %%s %%s\n"):format(tostring(c), tostring(err)))
    ]]):format(id, config(id, mount)), dir), outf))
    wait_for("the stuck create", function() return #stuck(crun) == 1 end, 20)
    local mpid = assert(monitor_pid(id), "no monitor found")
    local init = env.sh(("cat %s/systems/%s/init.pid 2>/dev/null"):format(env.runtime_root, id))
    env.must("kill -KILL " .. mpid)
    return init, wait_for("the child's answer", function() return env.slurp(outf, ""):match("create .-\n") end, 25)
  end

  it("after crun made the init: the init, crun state and cgroup go, nothing is left", function()
    local id, mount = fresh()
    local init, out = kill_monitor_during("after:create", id, mount)
    assert.matches("^%d+$", init) -- crun made it
    assert.matches("^create nil ", out)
    -- gone, or a zombie its new parent has not reaped yet
    assert.equal("", env.sh("grep -s '^State:' /proc/" .. init .. "/status | grep -v zombie"), out)
    assert.same({}, stuck(crun)) -- the step died with its monitor
    assert.is_nil((hcsshim.open_container(id)))
    assert_gone(id)
  end)

  it("while crun create itself runs: the step dies with its monitor and nothing is left", function()
    local id, mount = fresh()
    local _, out = kill_monitor_during("create", id, mount)
    assert.matches("^create nil ", out)
    assert.same({}, stuck(crun))
    assert.is_nil((hcsshim.open_container(id)))
    assert_gone(id)
  end)
end)
