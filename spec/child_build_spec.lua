-- Specs that start child Lua processes (HNS store concurrency, SIGKILL
-- mid-create, "hns loads on its own", ...) must test the very build the
-- suite runs: under `make sanitize`, the sanitized core and the sanitizer
-- runtime.  env.lua is the one way the suite starts a Lua child.
require "hcsshim"
local env = require "support.env"

-- The hcsshim core file and the sanitizer runtime mapped by a process
-- (from its /proc/<pid>/maps text).
local function build_of(maps)
  local core = maps:match("(%S+/hcsshim/core%.so)\n")
  return core, maps:find("/libasan%.so") ~= nil
end

describe("a child Lua process of the suite", function()
  it("loads the suite's own hcsshim.core, and its sanitizer runtime under make sanitize", function()
    local maps = assert(io.open("/proc/self/maps"))
    local core, asan = build_of(maps:read("a"))
    maps:close()
    assert.is_not_nil(core, "the suite has no hcsshim/core.so mapped")
    local out = env.must(env.lua .. [[ -e 'require "hcsshim.core"; ]]
      .. [[local f = io.open("/proc/self/maps"); io.write(f:read("a")); f:close()']])
    local child_core, child_asan = build_of(out)
    assert.equal(core, child_core)
    assert.equal(asan, child_asan)
    if os.getenv("HCSSHIM_TEST_SANITIZED") == "1" then
      assert.is_true(child_asan, "make sanitize: the child runs without libasan")
      assert.matches("/asan/", child_core)
    end
  end)
end)
