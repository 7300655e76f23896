-- Deleting layers: deep trees with few file descriptors, and the leftovers
-- of a crash swept by the layer store (issue 9, item 6).
local hcsshim = require "hcsshim"
local env = require "support.env"

local function entries(dir, prefix)
  local n = 0
  for name in env.must("ls -A " .. dir):gmatch("[^\n]+") do
    if name:sub(1, #prefix) == prefix then n = n + 1 end
  end
  return n
end

-- `levels` nested directories (levels a multiple of 500) in dir/t, a file
-- at every 500th: chunks of 500 levels, each new chunk taking the tree so
-- far at its bottom, so that no path a command sees exceeds PATH_MAX
local function deep_tree(dir, levels)
  local chunk = ("d/"):rep(500)
  env.must(("cd %s && mkdir -p t && for i in $(seq %d); do mkdir -p c/%s && echo $i > c/%sf && "
    .. "mv t c/%st && mv c t || exit 1; done"):format(dir, levels // 500, chunk, chunk, chunk))
end

-- runs `code` (with `home` and `id` set) in a child Lua of this build with
-- at most `nofile` open files
local function lua_with_nofile(nofile, code, home, id)
  local script = ("local hcsshim = require 'hcsshim'; local home, id = %q, %q; %s"):format(home, id, code)
  return env.sh(("ulimit -n %d && %s -e %q"):format(nofile, env.lua, script))
end

describe("layer deletion", function()
  local home

  before_each(function() home = env.tmpdir() .. "/layers" end)
  after_each(function() env.must("rm -rf --one-file-system " .. home:gsub("/layers$", "")) end)

  for _, levels in ipairs({ 1000, 5000 }) do
    it(("destroys a sandbox holding %d nested directories with 32 file descriptors"):format(levels), function()
      assert(hcsshim.create_sandbox_layer(home, "deep", "", {}))
      deep_tree(home .. "/deep/upper", levels)
      local out, ok = lua_with_nofile(32, "assert(hcsshim.destroy_layer(home, id))", home, "deep")
      assert(ok, out)
      assert.is_false(hcsshim.layer_exists(home, "deep"))
      assert.equal(0, entries(home, ".trash-"))
    end)
  end

  it("sweeps .trash-* and .staging-* folders that a crash left, and only those", function()
    assert(hcsshim.create_layer(home, "keep", ""))
    for _, name in ipairs({ ".trash-old-AAAAAA", ".staging-old-BBBBBB" }) do
      env.must(("mkdir -p %s/%s/rootfs/a/b && echo x > %s/%s/rootfs/a/b/f"):format(home, name, home, name))
    end
    deep_tree(home .. "/.trash-old-AAAAAA", 500)
    assert(hcsshim.create_layer(home, "next", ""))
    assert.equal(0, entries(home, ".trash-"))
    assert.equal(0, entries(home, ".staging-"))
    assert.is_true(hcsshim.layer_exists(home, "keep"))
    assert.is_true(hcsshim.layer_exists(home, "next"))
  end)

  it("sweeps them on the next call of any kind, so prune() finds a killed import's staging gone", function()
    assert(hcsshim.create_layer(home, "keep", ""))
    env.must(("mkdir -p %s/.staging-killed-DDDDDD/rootfs"):format(home))
    assert.is_true(hcsshim.layer_exists(home, "keep"))
    assert.equal(0, entries(home, ".staging-"))
    env.must(("mkdir -p %s/.trash-killed-EEEEEE/rootfs"):format(home))
    assert(hcsshim.prune({ home = home }))
    assert.equal(0, entries(home, ".trash-"))
  end)

  it("leaves a maker's .new-* folder alone a moment (not locked yet), then sweeps it", function()
    assert(hcsshim.create_layer(home, "keep", ""))
    env.must(("mkdir %s/.new-fresh-FFFFFF %s/.new-old-GGGGGG && touch -d '-10 seconds' %s/.new-old-GGGGGG")
      :format(home, home, home))
    assert.is_true(hcsshim.layer_exists(home, "keep"))
    assert.equal(1, entries(home, ".new-"))
    assert.equal(0, entries(home, ".new-old"))
    env.must("rmdir " .. home .. "/.new-fresh-FFFFFF")
  end)

  it("sweeps a .new-* folder at once when its maker is gone, never while it lives", function()
    assert(hcsshim.create_layer(home, "keep", ""))
    local dead, live = ".new-" .. env.maker_tag(true) .. "-x-AAAAAA", ".new-" .. env.maker_tag() .. "-y-BBBBBB"
    -- both fresh, neither locked; the live maker's is old too: age alone
    -- decides nothing once the maker can be told
    env.must(("mkdir %s/%s %s/%s && touch -d '-10 seconds' %s/%s"):format(home, dead, home, live, home, live))
    assert.is_true(hcsshim.layer_exists(home, "keep"))
    assert.equal(0, entries(home, dead))
    assert.equal(1, entries(home, live))
    env.must(("rmdir %s/%s"):format(home, live))
  end)

  it("leaves a staging folder alone while another process is still filling it", function()
    assert(hcsshim.create_layer(home, "keep", ""))
    local busy = home .. "/.staging-busy-CCCCCC"
    env.must("mkdir " .. busy)
    -- flock(1) holds the folder's lock, as an import in progress does
    local p = assert(io.popen(("flock %s sh -c 'echo locked; sleep 1'"):format(busy)))
    assert.equal("locked", p:read("l"))
    assert(hcsshim.create_layer(home, "next", ""))
    assert.equal(1, entries(home, ".staging-"))
    p:close()
    assert(hcsshim.destroy_layer(home, "next"))
    assert.equal(0, entries(home, ".staging-"))
  end)
end)
