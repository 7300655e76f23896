-- Runs last (busted --sort-files): after the whole suite, nothing this run
-- made may be left on the host.
local env = require "support.env"
local hcsshim = require "hcsshim"
local leaks = require "support.leaks"

describe("after the suite", function()
  setup(function()
    -- the base layer is shared by every spec: remove it now
    if hcsshim.layer_exists(env.home, "busybox-base") then
      assert(hcsshim.destroy_layer(env.home, "busybox-base"))
    end
    -- run{rootfs=} keeps its imported rootfs layers for reuse: prune,
    -- the product's own clean-up, removes them (and anything else ours)
    assert(hcsshim.prune({ home = env.home }))
    -- the specs' own scratch files (tars, mapped folders) are not the
    -- product's to clean: remove them, then look at what the product left
    env.must("rm -rf --one-file-system " .. env.scratch)
  end)

  -- one test per kind of leftover (spec/support/leaks.lua, shared with
  -- the crash harness)
  for _, check in ipairs(leaks.checks) do
    it(check[1], function() assert.same({}, check[2]()) end)
  end
end)
