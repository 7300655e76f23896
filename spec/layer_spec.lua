local hcsshim = require "hcsshim"
local env = require "support.env"
local tar = require "support.tar"

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local slurp = env.slurp

describe("layers", function()
  local home

  before_each(function() home = env.tmpdir() .. "/layers" end)
  after_each(function() env.must("rm -rf --one-file-system " .. home:gsub("/layers$", "")) end)

  it("create, exist, activate, mount and destroy a sandbox over an imported base", function()
    local t = tar.write(env.tmpdir() .. "/base.tar", {
      { name = "etc/", type = "dir" },
      { name = "etc/hello", type = "file", data = "hi\n" },
      { name = "bin/", type = "dir" },
    })
    local size = assert(hcsshim.import_layer(home, "base", t))
    assert.equal(3, size)
    assert.is_true(hcsshim.layer_exists(home, "base"))
    assert(hcsshim.create_sandbox_layer(home, "sb", "base", { home .. "/base" }))
    assert.equal("", hcsshim.get_layer_mount_path(home, "sb"))
    assert(hcsshim.activate_layer(home, "sb"))
    assert(hcsshim.prepare_layer(home, "sb", { home .. "/base" }))
    local mount = assert(hcsshim.get_layer_mount_path(home, "sb"))
    assert.equal(home .. "/sb/mount", mount)
    assert.equal("hi\n", slurp(mount .. "/etc/hello"))
    local f = assert(io.open(mount .. "/etc/new", "w"))
    f:write("x")
    f:close()
    assert.is_true(exists(home .. "/sb/upper/etc/new"))
    assert.is_false(exists(home .. "/base/rootfs/etc/new"))
    local ok, err = hcsshim.destroy_layer(home, "sb")
    assert.is_nil(ok)
    assert.matches("hcsshim::DestroyLayer failed in the Linux host compute service", tostring(err), 1, true)
    assert(hcsshim.expand_sandbox_size(home, "sb", 20 * 1024 * 1024 * 1024))
    assert(hcsshim.unprepare_layer(home, "sb"))
    assert(hcsshim.deactivate_layer(home, "sb"))
    assert(hcsshim.destroy_layer(home, "sb"))
    assert(hcsshim.destroy_layer(home, "base"))
    assert.is_false(hcsshim.layer_exists(home, "base"))
    local gone, gerr = hcsshim.destroy_layer(home, "base")
    assert.is_nil(gone)
    assert.is_true(hcsshim.is_not_exist(gerr))
  end)

  it("keep modes, owners, links and xattrs of an OCI layer tar", function()
    local t = tar.write(env.tmpdir() .. "/x.tar", {
      { name = "app/", type = "dir", mode = tonumber("750", 8), uid = 1000, gid = 50 },
      { name = "app/run", type = "file", data = "#!/bin/sh\n", mode = tonumber("4755", 8), uid = 1000, gid = 1000,
        xattrs = { ["user.origin"] = "lua" } },
      { name = "app/link", type = "symlink", link = "run" },
      { name = "app/hard", type = "hardlink", link = "app/run" },
    })
    assert(hcsshim.import_layer(home, "l", t))
    local root = home .. "/l/rootfs"
    assert.equal("750 1000:50\n", env.must("stat -c '%a %u:%g' " .. root .. "/app"))
    assert.equal("4755 1000:1000 2\n", env.must("stat -c '%a %u:%g %h' " .. root .. "/app/run"))
    assert.equal("run\n", env.must("readlink " .. root .. "/app/link"))
    assert.matches("user.origin=\"lua\"", env.must("getfattr -d " .. root .. "/app/run 2>/dev/null"), 1, true)
  end)

  -- Layers b<sfx> (tar base) and t<sfx> (tar top, over it) and a sandbox
  -- s<sfx> over both, mounted while check(mount path) runs.
  local function over_two_layers(base, top, sfx, check)
    local b, t, sb = "b" .. sfx, "t" .. sfx, "s" .. sfx
    assert(hcsshim.import_layer(home, b, base))
    assert(hcsshim.import_layer(home, t, top, { home .. "/" .. b }))
    local parents = { home .. "/" .. t, home .. "/" .. b }
    assert(hcsshim.create_sandbox_layer(home, sb, t, parents))
    assert(hcsshim.activate_layer(home, sb))
    assert(hcsshim.prepare_layer(home, sb, parents))
    local ok, err = pcall(check, hcsshim.get_layer_mount_path(home, sb))
    assert(hcsshim.unprepare_layer(home, sb))
    assert(hcsshim.deactivate_layer(home, sb))
    assert(ok, err)
  end

  it("turn whiteouts and opaque directories into overlay whiteouts", function()
    local base = tar.write(env.tmpdir() .. "/b.tar", {
      { name = "keep", type = "file", data = "k" }, { name = "gone", type = "file", data = "g" },
      { name = "d/", type = "dir" }, { name = "d/old", type = "file", data = "o" },
    })
    local top = tar.write(env.tmpdir() .. "/t.tar", {
      { name = ".wh.gone", type = "file" }, { name = "d/", type = "dir" },
      { name = "d/.wh..wh..opq", type = "file" }, { name = "d/new", type = "file", data = "n" },
    })
    over_two_layers(base, top, "", function(m)
      assert.is_true(exists(m .. "/keep"))
      assert.is_false(exists(m .. "/gone"))
      assert.is_false(exists(m .. "/d/old"))
      assert.is_true(exists(m .. "/d/new"))
      assert.is_false(exists(home .. "/t/rootfs/.wh.gone"))
    end)
  end)

  it("let a whiteout hide only lower layers, whatever its place in the tar (OCI image spec)", function()
    local base = tar.write(env.tmpdir() .. "/b2.tar", {
      { name = "x", type = "file", data = "lower" }, { name = "z", type = "file", data = "lower" },
      { name = "gone", type = "file", data = "g" },
      { name = "e/", type = "dir" }, { name = "e/old", type = "file", data = "o" },
      { name = "y/", type = "dir" }, { name = "y/old", type = "file", data = "o" },
      { name = "d/", type = "dir" }, { name = "d/old", type = "file", data = "o" },
    })
    local top = tar.write(env.tmpdir() .. "/t2.tar", {
      { name = "x", type = "file", data = "mine" }, { name = ".wh.x", type = "file" },
      { name = "e/f", type = "file", data = "f" }, { name = ".wh.e", type = "file" },
      { name = ".wh.y", type = "file" }, { name = "y/g", type = "file", data = "g" },
      { name = ".wh.z", type = "file" }, { name = "z", type = "file", data = "mine" },
      { name = "d/new", type = "file", data = "n" }, { name = "d/.wh..wh..opq", type = "file" },
      { name = ".wh.gone", type = "file" },
    })
    over_two_layers(base, top, "2", function(m)
      assert.equal("mine", slurp(m .. "/x"))
      assert.equal("mine", slurp(m .. "/z"))
      assert.equal("f", slurp(m .. "/e/f"))
      assert.is_false(exists(m .. "/e/old"))
      assert.equal("g", slurp(m .. "/y/g"))
      assert.is_false(exists(m .. "/y/old"))
      assert.equal("n", slurp(m .. "/d/new"))
      assert.is_false(exists(m .. "/d/old"))
      assert.is_false(exists(m .. "/gone"))
    end)
  end)

  it("create missing parents of a first entry like a/b/file", function()
    local t = tar.write(env.tmpdir() .. "/p.tar", { { name = "a/b/file", type = "file", data = "x" } })
    assert(hcsshim.import_layer(home, "p", t))
    assert.equal("x", slurp(home .. "/p/rootfs/a/b/file"))
  end)

  describe("refuse hostile tars, naming the entry and leaving nothing behind", function()
    local outside
    before_each(function() outside = env.tmpdir() end)

    local cases = {
      { "dot-dot", function() return { { name = "../evil", type = "file", data = "x" } } end, "../evil" },
      { "absolute", function(o) return { { name = o .. "/abs", type = "file", data = "x" } } end, "/abs" },
      { "through a symlink", function(o)
          return { { name = "evil", type = "symlink", link = o }, { name = "evil/pwned", type = "file", data = "x" } }
        end, "evil/pwned" },
      { "hard link outside", function()
          return { { name = "h", type = "hardlink", link = "../../../../etc/passwd" } }
        end, "h" },
      { "absolute hard link", function()
          return { { name = "h2", type = "hardlink", link = "/etc/passwd" } }
        end, "h2" },
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        local t = tar.write(env.tmpdir() .. "/hostile.tar", case[2](outside))
        local size, err = hcsshim.import_layer(home, "evil-layer", t)
        assert.is_nil(size)
        assert.matches(case[3], tostring(err), 1, true)
        assert.is_false(hcsshim.layer_exists(home, "evil-layer"))
        assert.equal("", env.must("ls -A " .. outside))
        assert.equal("", env.must("ls -A " .. home))
      end)
    end
  end)

  it("refuse layer ids that could escape HomeDir", function()
    for _, bad in ipairs({ "../x", "a/b", "", "..", "a\0b" }) do
      local ok, err = hcsshim.create_layer(home, bad)
      assert.is_nil(ok, bad)
      assert.matches("CreateLayer failed in the Linux host compute service", tostring(err), 1, true)
    end
  end)

  it("refuse to destroy a layer that a prepared sandbox mounts, and any folder that is no layer", function()
    local t = tar.write(env.tmpdir() .. "/b.tar", { { name = "f", type = "file", data = "x" } })
    assert(hcsshim.import_layer(home, "lower", t))
    assert(hcsshim.create_sandbox_layer(home, "top", "lower", { home .. "/lower" }))
    assert(hcsshim.prepare_layer(home, "top", { home .. "/lower" }))
    local ok, err = hcsshim.destroy_layer(home, "lower")
    assert.is_nil(ok)
    assert.matches("uses it as a lower layer", tostring(err), 1, true)
    assert.equal("x", slurp(hcsshim.get_layer_mount_path(home, "top") .. "/f"))
    assert(hcsshim.unprepare_layer(home, "top"))
    assert(hcsshim.destroy_layer(home, "lower"))
    assert(hcsshim.destroy_layer(home, "top"))
    env.must("mkdir -p " .. home .. "/plain && touch " .. home .. "/plain/keep")
    assert.is_false(hcsshim.layer_exists(home, "plain"))
    ok, err = hcsshim.destroy_layer(home, "plain")
    assert.is_nil(ok)
    assert.matches("destroy layer plain", tostring(err), 1, true)
    assert.is_true(exists(home .. "/plain/keep"))
  end)

  it("report shared base images (none on Linux)", function()
    assert.same({}, assert(hcsshim.get_shared_base_images()).Images)
  end)
end)
