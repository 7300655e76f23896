-- export_layer, copy_layer, the layer streams and the commit workflow on
-- Linux, against real overlay mounts and containers.
local hcsshim = require "hcsshim"
local env = require "support.env"

local slurp = env.slurp

-- Everything a merged tree shows, times of directories aside (a merged
-- directory's mtime is the upper one's): type, mode, owner, link count,
-- symlink target, file size, mtime and content, device numbers, xattrs.
local TREE = [[
cd "$1" || exit 1
find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
  line=$(stat -c '%n %F %a %u:%g %h' "$p")
  if [ -L "$p" ]; then line="$line -> $(readlink "$p")"
  elif [ -f "$p" ]; then line="$line $(stat -c '%s %Y' "$p") $(md5sum < "$p" | cut -c1-32)"
  elif [ -b "$p" ] || [ -c "$p" ]; then line="$line $(stat -c '%t:%T' "$p")"; fi
  echo "$line"
done
getfattr -h -R -d -m - . 2>/dev/null
]]

local function tree(root)
  return env.must("sh -c '" .. TREE:gsub("'", "'\\''") .. "' _ " .. root)
end

-- Some changes of every kind in a sandbox mounted at m.
local function change(m)
  env.must(("cd %s && rm etc/passwd && echo new > etc/new && ln etc/new etc/new-link && "
    .. "ln -s ../etc/new bin/new-sym && rm -rf home && mkdir -p home/x && echo y > home/x/y && "
    .. "chown 1000:50 home/x/y && chmod 4751 home/x/y && setfattr -n user.k -v 'v 1' etc/new && "
    .. "mkfifo tmp/fifo && mknod tmp/null c 1 3 && chmod 700 root && touch -d @1000000000 etc/new")
    :format(m))
end

describe("layer export (Linux)", function()
  local base, made, tmp

  before_each(function()
    base = env.base_layer()
    made = {}
    tmp = env.tmpdir()
  end)
  after_each(function()
    for i = #made, 1, -1 do made[i]() end
    env.must("rm -rf " .. tmp)
  end)

  local function sandbox(id, parents)
    assert(hcsshim.create_sandbox_layer(env.home, id, parents[1]:match("[^/]+$"), parents))
    made[#made + 1] = function() assert(hcsshim.destroy_layer(env.home, id)) end
    assert(hcsshim.activate_layer(env.home, id))
    assert(hcsshim.prepare_layer(env.home, id, parents))
    made[#made + 1] = function()
      assert(hcsshim.unprepare_layer(env.home, id))
      assert(hcsshim.deactivate_layer(env.home, id))
    end
    return assert(hcsshim.get_layer_mount_path(env.home, id))
  end

  local function layer(id)
    made[#made + 1] = function() assert(hcsshim.destroy_layer(env.home, id)) end
  end

  it("writes a deterministic OCI tar whose import gives the same merged tree", function()
    local sb, copy = env.unique("exp"), env.unique("exp-import")
    local m = sandbox(sb, { base.path })
    change(m)
    local t1, t2 = tmp .. "/1.tar", tmp .. "/2.tar"
    assert(hcsshim.export_layer(env.home, sb, t1, { base.path }))
    assert(hcsshim.export_layer(env.home, sb, t2, { base.path }))
    assert.equal(slurp(t1), slurp(t2))
    local list = env.must("tar -tf " .. t1)
    assert.matches("etc/.wh.passwd\n", list, 1, true)
    assert.matches("home/.wh..wh..opq\n", list, 1, true)
    assert.matches("SCHILY.xattr.user.k=v 1", slurp(t1), 1, true)
    assert.not_matches("overlay", slurp(t1), 1, true)
    assert(hcsshim.import_layer(env.home, copy, t1, { base.path }))
    layer(copy)
    local m2 = sandbox(env.unique("exp-check"), { env.home .. "/" .. copy, base.path })
    local want = tree(m)
    assert.matches("./etc/new regular file 644 0:0 2 4 1000000000", want, 1, true)
    assert.matches("./home/x/y regular file 4751 1000:50", want, 1, true)
    assert.matches("./tmp/null character special file 644 0:0 1 1:3", want, 1, true)
    assert.matches("./bin/new-sym symbolic link 777 0:0 1 -> ../etc/new", want, 1, true)
    assert.matches('user.k="v 1"', want, 1, true)
    assert.not_matches("./etc/passwd ", want, 1, true)
    assert.equal(want, tree(m2))
  end)

  it("refuses a missing layer and leaves an existing tar as it was", function()
    local t = tmp .. "/keep.tar"
    env.must("echo keep > " .. t)
    local ok, err = hcsshim.export_layer(env.home, env.unique("nope"), t, {})
    assert.is_nil(ok)
    assert.is_true(hcsshim.is_not_exist(err))
    assert.equal("keep\n", slurp(t))
    assert.equal("keep.tar\n", env.must("ls -A " .. tmp))
  end)

  it("streams a sandbox through a reader into a writer, and copy_layer does the same", function()
    local sb, streamed, copied = env.unique("st"), env.unique("st-w"), env.unique("st-c")
    change(sandbox(sb, { base.path }))
    local r = assert(hcsshim.new_layer_reader(env.home, sb, { base.path }))
    local w = assert(hcsshim.new_layer_writer(env.home, streamed, { base.path }))
    local seen = {}
    while true do
      local name, size, fi = r:next()
      assert(name ~= nil, size)
      if not name then break end
      seen[name] = fi or "deleted"
      if not fi then
        assert(w:remove(name))
      elseif fi.Hardlink then
        assert(w:add_link(name, fi.Hardlink))
      else
        assert(w:add(name, fi))
        local n = 0
        repeat
          local d = assert(r:read(3))
          n = n + #d
          if d ~= "" then assert(w:write(d)) end
        until d == ""
        assert.equal(size, n)
      end
    end
    r:close()
    assert.is_false(hcsshim.layer_exists(env.home, streamed))
    assert(w:close())
    layer(streamed)
    assert.equal("deleted", seen["etc/passwd"])
    assert.is_true(seen.home.Opaque)
    assert.equal(0x10, seen.home.FileAttributes & 0x10)
    assert.equal("../etc/new", seen["bin/new-sym"].Linkname)
    assert.equal("v 1", seen["etc/new"].Xattrs["user.k"])
    assert.equal((1000000000 + 11644473600) * 10000000, seen["etc/new"].LastWriteTime)
    assert.equal(0x89E9, seen["home/x/y"].Mode)
    assert(hcsshim.copy_layer(env.home, sb, copied, { base.path }))
    layer(copied)
    local a, b, c = tmp .. "/a.tar", tmp .. "/b.tar", tmp .. "/c.tar"
    assert(hcsshim.export_layer(env.home, sb, a, { base.path }))
    assert(hcsshim.export_layer(env.home, streamed, b, { base.path }))
    assert(hcsshim.export_layer(env.home, copied, c, { base.path }))
    assert.equal(slurp(a), slurp(b))
    assert.equal(slurp(a), slurp(c))
  end)

  it("leaves nothing behind from a writer that fails or is dropped", function()
    local id = env.unique("bad-w")
    local before = env.must("ls -A " .. env.home)
    local w = assert(hcsshim.new_layer_writer(env.home, id, { base.path }))
    assert(w:add("../escape", { Mode = 0x81A4 }))
    local ok, err = w:close()
    assert.is_nil(ok)
    assert.matches("..", tostring(err), 1, true)
    w = assert(hcsshim.new_layer_writer(env.home, id, { base.path }))
    assert(w:add("f", { FileAttributes = 0x80 }))
    assert(w:write("data"))
    w = nil -- luacheck: ignore
    collectgarbage()
    assert.is_false(hcsshim.layer_exists(env.home, id))
    assert.equal(before, env.must("ls -A " .. env.home))
    local dup = env.unique("dup")
    local wd = assert(hcsshim.new_layer_writer(env.home, dup, {}))
    assert(wd:close())
    layer(dup)
    local again, aerr = hcsshim.new_layer_writer(env.home, dup, {})
    assert.is_nil(again)
    assert.matches("already exists", tostring(aerr), 1, true)
  end)

  it("commits a container's changes as a layer that a second container sees", function()
    local h = assert(hcsshim.run { layers = { base.path }, detach = true, timeout = 60,
      args = { "sh", "-c", "echo committed > /etc/note && rm /etc/os-release" } })
    local done = false
    finally(function() if not done then h.stop() end end)
    local p = h.process
    assert(p:wait(30))
    local c, err = hcsshim.commit { container = h, layer = env.unique("commit") }
    h.stop()
    done = true
    assert(c, err)
    layer(c.id)
    assert.same({ env.home .. "/" .. c.id, base.path }, c.layers)
    local r = assert(hcsshim.run { layers = c.layers, timeout = 60,
      args = { "sh", "-c", "cat /etc/note; ls /etc/os-release 2>&1 || true" } })
    assert.equal(0, r.exit_code)
    assert.matches("^committed\n", r.stdout)
    assert.matches("No such file", r.stdout, 1, true)
  end)

  it("leaves the runtime's mount stubs out of a commit, and keeps the container's own empty files", function()
    local target = "/data-" .. env.unique("m"):gsub("[^%w]", "")
    local deep = "/top-" .. env.unique("m"):gsub("[^%w]", "") -- its parents are missing too
    local h = assert(hcsshim.run { layers = { base.path }, detach = true, timeout = 60,
      config = { MappedDirectories = { { HostPath = tmp, ContainerPath = target },
        { HostPath = tmp, ContainerPath = deep .. "/a//./b/" } } },
      args = { "sh", "-c", "echo x > /etc/note && touch /etc/empty && mkdir /emptydir" } })
    local done = false
    finally(function() if not done then h.stop() end end)
    assert(h.process:wait(30))
    -- the base lacks these: the runtime made them to mount over
    for _, p in ipairs({ "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.hcsshim-init", target }) do
      assert.is_nil(io.open(base.path .. "/rootfs" .. p), p .. " is in the base")
    end
    local t = tmp .. "/commit.tar"
    local c = assert(hcsshim.commit { container = h, layer = env.unique("stubs"), tar = t })
    h.stop()
    done = true
    layer(c.id)
    local list = "\n" .. env.must("tar -tf " .. t)
    for _, stub in ipairs({ "etc/hosts", "etc/hostname", "etc/resolv.conf", ".hcsshim-init", target:sub(2),
      deep:sub(2), deep:sub(2) .. "/a", deep:sub(2) .. "/a/b" }) do
      assert.is_nil(list:find("\n" .. stub .. "/?\n"), stub .. " is in the commit:" .. list)
    end
    for _, own in ipairs({ "etc/note", "etc/empty", "emptydir/" }) do
      assert.truthy(list:find("\n" .. own .. "\n", 1, true), own .. " is not in the commit:" .. list)
    end
  end)

  describe("progress", function()
    -- a sandbox with n files of 20 KiB each, exported to tar; returns the tar
    local function many(n)
      local sb = env.unique("prog")
      local m = sandbox(sb, { base.path })
      env.must(("mkdir %s/many && cd %s/many && for i in $(seq %d); do head -c 20480 /dev/urandom > f$i; done")
        :format(m, m, n))
      return sb
    end

    local function recorder()
      local calls = {}
      return calls, function(bytes, entries)
        assert.equal("integer", math.type(bytes))
        assert.equal("integer", math.type(entries))
        calls[#calls + 1] = { bytes, entries }
      end
    end

    local function assert_rising(calls)
      for i = 2, #calls do
        assert.is_true(calls[i][1] >= calls[i - 1][1], "bytes went back")
        assert.is_true(calls[i][2] >= calls[i - 1][2], "entries went back")
      end
    end

    it("export and import report bytes and entries as they go, and the totals at the end", function()
      local sb = many(300)
      local t = tmp .. "/p.tar"
      local calls, cb = recorder()
      assert(hcsshim.export_layer(env.home, sb, t, { base.path }, cb))
      local size = tonumber(env.must("stat -c %s " .. t))
      local entries = #env.must("tar -tf " .. t):gsub("[^\n]", "")
      assert.is_true(#calls >= 4, "only " .. #calls .. " reports")
      assert_rising(calls)
      assert.same({ size, entries }, calls[#calls])

      local imp = env.unique("prog-import")
      local icalls, icb = recorder()
      assert(hcsshim.import_layer(env.home, imp, t, { base.path }, icb))
      layer(imp)
      assert.is_true(#icalls >= 4, "only " .. #icalls .. " reports")
      assert_rising(icalls)
      assert.same({ size, entries }, icalls[#icalls])
      assert.is_true(icalls[1][1] < size)
    end)

    it("an error raised by the callback cancels, rolls back and is raised again", function()
      local sb = many(200)
      local t = tmp .. "/c.tar"
      local function stop_at(k)
        local n = 0
        return function()
          n = n + 1
          if n == k then error({ stop = k }) end
        end
      end
      local ok, e = pcall(hcsshim.export_layer, env.home, sb, t, { base.path }, stop_at(2))
      assert.is_false(ok)
      assert.same({ stop = 2 }, e)
      assert.equal("", env.must("ls -A " .. tmp))
      -- an old tar stays as it was
      env.must("echo old > " .. t)
      assert.is_false(pcall(hcsshim.export_layer, env.home, sb, t, { base.path }, stop_at(1)))
      assert.equal("old\n", slurp(t))
      assert(hcsshim.export_layer(env.home, sb, t, { base.path }))

      local imp = env.unique("prog-cancel")
      local before = env.must("ls -A " .. env.home)
      ok, e = pcall(hcsshim.import_layer, env.home, imp, t, { base.path }, stop_at(2))
      assert.is_false(ok)
      assert.same({ stop = 2 }, e)
      assert.is_false(hcsshim.layer_exists(env.home, imp))
      assert.equal(before, env.must("ls -A " .. env.home))
      -- and the same id imports afterwards
      assert(hcsshim.import_layer(env.home, imp, t, { base.path }))
      layer(imp)
    end)

    it("a cancel at the last report of a small import leaves no layer", function()
      local sb = many(3)
      local t = tmp .. "/small.tar"
      assert(hcsshim.export_layer(env.home, sb, t, { base.path }))
      local imp, n = env.unique("prog-small"), 0
      local ok, e = pcall(hcsshim.import_layer, env.home, imp, t, { base.path }, function()
        n = n + 1
        error("stop")
      end)
      assert.is_false(ok)
      assert.matches("stop", tostring(e), 1, true)
      assert.equal(1, n)
      assert.is_false(hcsshim.layer_exists(env.home, imp))
      assert(hcsshim.import_layer(env.home, imp, t, { base.path }))
      layer(imp)
    end)

    it("a layer call from the callback on the layer it reports on fails at once, never waits for itself", function()
      local sb = many(3)
      local code = ([[
        local hcsshim = require "hcsshim"
        local got
        assert(hcsshim.export_layer(%q, %q, %q, { %q }, function()
          got = got or select(2, hcsshim.get_layer_mount_path(%q, %q))
        end))
        print(got and got.name, got and tostring(got):find("cannot use the layer it reports on", 1, true) ~= nil)
      ]]):format(env.home, sb, tmp .. "/re.tar", base.path, env.home, sb)
      assert.equal("ERROR_BUSY\ttrue\n", env.sh(("timeout 60 env %s -e %q"):format(env.lua, code)))
    end)

    it("refuses a progress that is not a function", function()
      assert.has_error(function() hcsshim.import_layer(env.home, "x", "/nonexistent.tar", nil, 5) end,
        "bad argument #5 to 'import_layer' (function expected, got number)")
      assert.has_error(function() hcsshim.export_layer(env.home, "x", "/nonexistent.tar", nil, {}) end,
        "bad argument #5 to 'export_layer' (function expected, got table)")
    end)
  end)
end)
