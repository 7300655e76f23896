local hcsshim = require "hcsshim"
local env = require "support.env"
local monitor_pid = require("support.procs").monitor_pid

-- Runs a Lua snippet in a separate OS process, its command line starting
-- with `prefix` (shell words ending in a command such as env, which gets
-- the variable assignments and the Lua command of env.lua, so the child
-- runs the suite's build), and returns its output.
local function run(prefix, code)
  return env.sh(("%s %s -e %q"):format(prefix, env.lua, code))
end

describe("children of the service", function()
  it("run a container's whole lifecycle while the host process ignores SIGCHLD and has NOTIFY_SOCKET", function()
    local id = env.unique("chld")
    local mount, undo = env.sandbox(id .. "-sb")
    local home = env.tmpdir()
    finally(function()
      env.forget(id)
      undo()
      env.sh("rm -rf " .. home)
    end)
    -- bash's `trap '' CHLD` ignores SIGCHLD (dash's does not), and an
    -- ignored signal stays ignored across exec; SigIgn bit 17 is SIGCHLD.
    -- (No comments inside the snippet: the shell joins its lines.)
    local out = run([[timeout 120 bash -c 'trap "" CHLD; exec "$@"' - env NOTIFY_SOCKET=/run/nowhere.sock]], ([[
      local f = assert(io.open("/proc/self/status"))
      local ign = tonumber(f:read("a"):match("SigIgn:%%s*(%%x+)"), 16)
      f:close()
      io.write("ignored ", tostring(ign & (1 << 16) ~= 0), "\n")
      local h = require "hcsshim"
      local c = assert(h.create_container(%q, { VolumePath = %q }))
      assert(c:start())
      local p = assert(c:create_process({ CommandLine = "sh -c 'exit 3'" }))
      assert(p:wait(30))
      io.write("exit ", tostring(p:exit_code()), "\n")
      p:close()
      assert(c:pause())
      io.write("state ", c:properties().State, "\n")
      assert(c:resume())
      assert(c:statistics())
      io.write("state ", c:properties().State, "\n")
      assert(h.import_layer(%q, "imported", %q))
      io.write("import ", tostring(h.layer_exists(%q, "imported")), "\n")
      assert(h.destroy_layer(%q, "imported"))
      assert(c:shutdown())
      assert(c:wait(30))
      io.write("state ", c:properties().State, "\n")
      c:close()
    ]]):format(id, mount, home, env.busybox_tar(), home, home))
    assert.matches("state Paused\nstate Running\n", out, 1, true)
    assert.matches("state Stopped\n", out, 1, true)
    assert.matches("ignored true\n", out, 1, true)
    assert.matches("exit 3\n", out, 1, true)
    assert.matches("import true\n", out, 1, true)
  end)

  it("never pass the caller's NOTIFY_SOCKET or LISTEN_* to the monitor", function()
    local id = env.unique("envc")
    local mount, undo = env.sandbox(id .. "-sb")
    finally(function()
      env.forget(id)
      undo()
    end)
    local c = assert(run("timeout 60 env NOTIFY_SOCKET=/run/nowhere LISTEN_FDS=3 LISTEN_PID=1", ([[
      local h = require "hcsshim"
      local c = assert(h.create_container(%q, { VolumePath = %q }))
      assert(c:start())
      c:close()
      print("created")
    ]]):format(id, mount)):match("created") and hcsshim.open_container(id))
    local pid = assert(monitor_pid(id), "no monitor found")
    local f = assert(io.open("/proc/" .. pid .. "/environ", "rb"))
    local environ = f:read("a")
    f:close()
    assert.is_nil(environ:find("NOTIFY_SOCKET=", 1, true))
    assert.is_nil(environ:find("LISTEN_", 1, true))
    assert.is_not_nil(environ:find("HCSSHIM_RUNTIME_ROOT=", 1, true))
    c:close()
  end)
end)
