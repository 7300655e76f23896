-- Deleting layers: deep trees with few file descriptors, and the leftovers
-- of a crash swept by the layer store (issue 9, item 6).
local hcsshim = require "hcsshim"
local env = require "support.env"
local core = require "hcsshim.core"

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

  it("sweeps a .new-* folder at once when its maker is gone or a zombie, a live maker's only once very old", function()
    assert(hcsshim.create_layer(home, "keep", ""))
    -- a zombie: a `sleep 1` in the background of a shell that has become
    -- a `sleep 30` by the time it ends, and never reaps it (a child that
    -- ended before the exec would be reaped by the shell itself)
    local p = assert(io.popen("sh -c 'sleep 1 & echo $! $$; exec sleep 30'"))
    local zpid, sleeper = p:read("l"):match("^(%d+) (%d+)$")
    finally(function()
      env.sh("kill " .. sleeper)
      p:close()
    end)
    local deadline = core.monotime() + 20
    while env.sh("sed 's/.*) //' /proc/" .. zpid .. "/stat | cut -c1") ~= "Z\n" do
      assert(core.monotime() < deadline, "no zombie came")
      core.sleep(0.05)
    end
    local name = function(tag, label) return ".new-" .. tag .. "-" .. label .. "-AAAAAA" end
    local dead, zombie = name(env.maker_tag(true), "dead"), name(env.maker_tag(false, zpid), "zombie")
    local mine = env.maker_tag()
    local live, ancient = name(mine, "live"), name(mine, "ancient")
    -- all unlocked; the live maker's are old too: a few seconds decide
    -- nothing once the maker can be told, ten minutes do
    env.must(("cd %s && mkdir %s %s %s %s && touch -d '-10 seconds' %s && touch -d '-11 minutes' %s"):format(home,
      dead, zombie, live, ancient, live, ancient))
    assert.is_true(hcsshim.layer_exists(home, "keep"))
    assert.same({ live }, env.lines("ls -A " .. home .. " | grep '^[.]new-'"))
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
