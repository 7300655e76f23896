-- Faults (issue 9): stuck steps, SIGPIPE, paused systems, stale process
-- handles, stopped processes at shutdown, out of memory.
local hcsshim = require "hcsshim"
local env = require "support.env"

local lua = os.getenv("HCSSHIM_TEST_LUA") or "lua5.4"

-- Runs a Lua snippet in a separate OS process with this package path;
-- returns its output and its exit status as the shell saw it.
local function child_lua(code)
  local dir = env.tmpdir()
  local script = dir .. "/child.lua"
  local f = assert(io.open(script, "w"))
  f:write(code)
  f:close()
  local cmd = ("LD_PRELOAD=%q LUA_PATH=%q LUA_CPATH=%q %s %s 2>&1; echo \"status=$?\""):format(
    os.getenv("LD_PRELOAD") or "", package.path, package.cpath, lua, script)
  local out = env.sh(cmd)
  env.sh("rm -rf " .. dir)
  return out
end

describe("faults", function()
  it("a write to the stdin of an exited process fails with EPIPE, never kills the host", function()
    local base = env.base_layer()
    local id = env.unique("pipe")
    local cleanup
    finally(function() -- and what a run killed by SIGPIPE leaves
      if cleanup then cleanup() end
      env.forget(id)
      local sb = id .. "-sandbox"
      if hcsshim.layer_exists(env.home, sb) then
        hcsshim.unprepare_layer(env.home, sb)
        hcsshim.deactivate_layer(env.home, sb)
        hcsshim.destroy_layer(env.home, sb)
      end
    end)
    local out = child_lua(([[
      local hcsshim = require "hcsshim"
      local r = assert(hcsshim.run({ id = %q, layers = { %q }, command = "true",
                                     stdin = ("x"):rep(200000) }))
      print("run", r.exit_code)
    ]]):format(id, base.path))
    assert.matches("run\t0\nstatus=0", out, 1, true)
    local c
    c, cleanup = env.container()
    assert(c:start())
    out = child_lua(([[
      local hcsshim = require "hcsshim"
      local c = assert(hcsshim.open_container(%q))
      local p = assert(c:create_process({ CommandLine = "true", CreateStdInPipe = true }))
      assert(p:wait(30))
      local stdin = p:stdio()
      print("write", stdin:write(("x"):rep(200000)))
      print("flush", stdin:flush())
      p:close()
      c:close()
    ]]):format(c:id()))
    assert.matches("write\tnil\tBroken pipe\t32", out, 1, true)
    assert.matches("status=0", out, 1, true)
  end)

  it("refuses kill and signal in a paused system instead of a false success", function()
    local c, cleanup = env.container()
    assert(c:start())
    local p = assert(c:create_process({ CommandLine = "sleep 100" }))
    finally(function() p:close() cleanup() end)
    assert(c:pause())
    local ok, err = p:kill()
    assert.is_nil(ok)
    assert.is_true(hcsshim.is_operation_invalid_state(err), tostring(err))
    assert.matches("Paused", tostring(err))
    ok, err = p:signal(15)
    assert.is_nil(ok)
    assert.is_true(hcsshim.is_operation_invalid_state(err), tostring(err))
    assert(c:resume())
    -- nothing was queued behind the freezer: it is still running
    assert.is_nil((p:wait(0.3)))
    assert(p:kill())
    assert(p:wait(10))
    assert.equal(137, (p:exit_code()))
  end)

  it("shuts down a system holding a stopped process without waiting for a timeout", function()
    local c, cleanup = env.container()
    assert(c:start())
    -- TERM has a handler, so only a running process can act on it
    local p = assert(c:create_process({ CommandLine = [[sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done']] }))
    finally(function() p:close() cleanup() end)
    os.execute("sleep 0.3")
    assert(p:signal(19)) -- SIGSTOP
    local t0 = hcsshim.monotime()
    assert(c:shutdown())
    assert(c:wait(10))
    assert.is_true(hcsshim.monotime() - t0 < 8)
    assert.equal(7, (p:exit_code()))
  end)
end)

describe("out of memory", function()
  it("is reported in the exit, the process and system properties, and statistics", function()
    local c, cleanup = env.container({ MemoryMaximumInMB = 16 })
    local p
    finally(function() if p then p:close() end cleanup() end)
    assert(c:start())
    local s0 = assert(c:statistics())
    assert.equal(0, s0.Memory.OOMKillCount)
    assert.is_nil(assert(c:properties()).OOMKilled)
    -- the shell keeps 64 MiB in a variable: four times the limit
    p = assert(c:create_process({ CommandLine = [[sh -c 'x=$(head -c 67108864 /dev/zero | tr "\0" x); echo ${#x}']] }))
    assert(p:wait(60))
    local code, sig, oom = p:exit_code()
    assert.equal(137, code)
    assert.equal("SIGKILL", sig)
    assert.is_true(oom)
    assert.is_true(assert(p:properties()).OOMKilled)
    assert.is_true(assert(c:properties()).OOMKilled)
    assert.is_true(assert(c:statistics()).Memory.OOMKillCount >= 1)
    -- a SIGKILL that is not the OOM killer's is not reported as one
    local q = assert(c:create_process({ CommandLine = "sleep 100" }))
    assert(q:kill())
    assert(q:wait(10))
    local _, qsig, qoom = q:exit_code()
    q:close()
    assert.equal("SIGKILL", qsig)
    assert.is_nil(qoom)
  end)
end)

-- Process identity (pid + start time) is checked in spec/c/hcs_linux_test.c
-- with a handle whose start time no longer matches: reusing a host pid for
-- real takes a full cycle of pid_max, too long and too racy for the suite.
