local hcsshim = require "hcsshim"
local env = require "support.env"

local lua = os.getenv("HCSSHIM_TEST_LUA") or "lua5.4"

-- Starts a Lua snippet in the background, in a separate OS process with
-- this package path; returns its pid.  Output goes to dir/out.
local function spawn(code, dir)
  local script = dir .. "/child.lua"
  local f = assert(io.open(script, "w"))
  f:write(code)
  f:close()
  local cmd = ("LUA_PATH=%q LUA_CPATH=%q %s %s"):format(package.path, package.cpath, lua, script)
  return (env.must(cmd .. " >" .. dir .. "/out 2>&1 & echo $!"):gsub("%s+$", ""))
end

describe("lifetimes", function()
  it("let a second process open a container and process after SIGKILL of the creator", function()
    local mount, undo = env.sandbox(env.unique("life") .. "-sb")
    local id = env.unique("life")
    local dir = env.tmpdir()
    local pid = spawn(([[
      local hcsshim = require "hcsshim"
      local c = assert(hcsshim.create_container(%q, { VolumePath = %q }))
      assert(c:start())
      local p = assert(c:create_process({ CommandLine = "sh -c 'sleep 1; exit 7'" }))
      local f = assert(io.open(%q, "w"))
      f:write(p:pid())
      f:close()
      while true do os.execute("sleep 10") end
    ]]):format(id, mount, dir .. "/pid"), dir)
    local pidfile = dir .. "/pid"
    local deadline = hcsshim.monotime() + 30
    local ppid
    while hcsshim.monotime() < deadline do
      local f = io.open(pidfile)
      if f then ppid = tonumber(f:read("a")); f:close() end
      if ppid then break end
      os.execute("sleep 0.05")
    end
    assert.is_not_nil(ppid, "creator did not start: " .. env.sh("cat " .. dir .. "/out"))
    env.must("kill -9 " .. pid)
    local c = assert(hcsshim.open_container(id))
    local p = assert(c:open_process(ppid))
    assert(p:wait(30))
    assert.equal(7, p:exit_code())
    p:close()
    assert(c:shutdown())
    assert(c:wait(30))
    c:close()
    for _ = 1, 100 do
      if not hcsshim.open_container(id) then break end
      os.execute("sleep 0.05")
    end
    undo()
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
