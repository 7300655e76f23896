local env = require "support.env"

-- Runs a Lua snippet in a separate OS process whose bounding set lacks
-- CAP_SYS_ADMIN (so it runs as root without it), started as env.lua
-- starts every Lua child (this build, its programs, the sanitizer preload).
local function run_without_sys_admin(code)
  return env.sh(("setpriv --bounding-set=-sys_admin env %s -e %q"):format(env.lua, code))
end

describe("a caller without CAP_SYS_ADMIN", function()
  it("gets 'requires root (CAP_SYS_ADMIN)' from the compute calls, never an empty list", function()
    local id = env.unique("noroot")
    local out = run_without_sys_admin(([[
      local f = assert(io.open("/proc/self/status"))
      local eff = tonumber(f:read("a"):match("CapEff:%%s*(%%x+)"), 16)
      f:close()
      io.write("sys_admin ", tostring(eff & (1 << 21) ~= 0), "\n")
      local h = require "hcsshim"
      local list, err = h.get_containers()
      io.write("list ", list and #list or tostring(err), "\n")
      local c, err2 = h.open_container(%q)
      io.write("open ", c and "opened" or tostring(err2), "\n")
      local c2, err3 = h.create_container(%q, { VolumePath = "/nonexistent" })
      io.write("create ", c2 and "created" or tostring(err3), "\n")
    ]]):format(id, id))
    assert.matches("sys_admin false\n", out, 1, true)
    assert.matches("list [^\n]*requires root %(CAP_SYS_ADMIN%)", out)
    assert.matches("open [^\n]*requires root %(CAP_SYS_ADMIN%)", out)
    assert.matches("create [^\n]*requires root %(CAP_SYS_ADMIN%)", out)
  end)
end)
