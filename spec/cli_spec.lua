-- The `hcsshim` command, installed with LuaRocks into a temporary tree and
-- driven as a user would: through its own wrapper, with the tree's paths.
local env = require "support.env"
local json = require "hcsshim.json"

local lua = os.getenv("HCSSHIM_TEST_LUA") or "lua5.4"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("the hcsshim command", function()
  local tree, paths, tar, errfile

  -- stdout, stderr and exit code of `hcsshim <args>`
  local function hcs(args, stdin)
    local cmd = ("%s %s/bin/hcsshim %s 2>%s"):format(paths, tree, args, errfile)
    if stdin then cmd = ("printf %%s %s | %s"):format(q(stdin), cmd) end
    local out, _, code = env.sh(cmd)
    return out, env.slurp(errfile), code
  end

  -- `--json` right after the (sub)command: after a command line it would
  -- be the command's own argument
  local grouped = { network = true, endpoint = true, layer = true, image = true }
  local function ok_json(args)
    local first, rest = args:match("^(%S+)(.*)$")
    if grouped[first] then
      local second, tail = rest:match("^%s*(%S+)(.*)$")
      first, rest = first .. " " .. second, tail
    end
    local out, err, code = hcs(first .. " --json" .. rest)
    assert.equal(0, code, err)
    return assert(json.decode(out))
  end

  local function ids(list, key)
    local t = {}
    for _, x in ipairs(list) do t[json.get(x, key or "ID")] = true end
    return t
  end

  setup(function()
    tree = env.tmpdir()
    errfile = tree .. "/stderr"
    tar = env.busybox_tar()
    env.must(("luarocks --lua-version 5.4 make --tree %s --deps-mode none hcsshim-scm-1.rockspec"):format(tree))
    paths = ("LUA_PATH=%s LUA_CPATH=%s"):format(
      q(tree .. "/share/lua/5.4/?.lua;" .. tree .. "/share/lua/5.4/?/init.lua;;"),
      q(tree .. "/lib/lua/5.4/?.so;;"))
  end)

  it("is installed as a command by the rock, with the library beside it", function()
    local out, err, code = hcs("--help")
    assert.equal(0, code, err)
    assert.matches("Usage: hcsshim", out)
    assert.is_true(env.sh("test -x " .. tree .. "/lib/lua/5.4/hcsshim/monitor") ~= nil)
  end)

  it("is installed by make install into DESTDIR", function()
    local dest = env.tmpdir()
    env.must(("make --no-print-directory install-lib install-bin DESTDIR=%s LIBDIR=/lib LUADIR=/share"
      .. " BINDIR=/bin >/dev/null"):format(dest))
    local out = env.must(("LUA_PATH=%s LUA_CPATH=%s %s %s/bin/hcsshim layer ls --json --home %s"):format(
      q(dest .. "/share/?.lua;" .. dest .. "/share/?/init.lua;;"), q(dest .. "/lib/?.so;;"), lua, dest,
      env.home))
    assert.equal("table", type(json.decode(out)))
  end)

  it("runs a command: env, workdir, both streams, the process's exit code", function()
    local out, err, code = hcs(("run --rootfs %s -e A=1 -w /tmp sh -c 'echo $A; pwd; echo oops >&2; exit 3'")
      :format(tar))
    assert.equal(3, code)
    assert.equal("1\n/tmp\n", out)
    assert.equal("oops\n", err)
    local doc = ok_json(("run --rootfs %s echo hi"):format(tar))
    assert.equal(0, doc.ExitCode)
    assert.equal("hi\n", doc.Stdout)
  end)

  it("exits as docker does: 127 not found, 126 cannot be run, 125 for its own errors", function()
    local _, err, code = hcs(("run --rootfs %s no-such-command"):format(tar))
    assert.equal(127, code, err)
    _, err, code = hcs(("run --rootfs %s /etc/passwd"):format(tar))
    assert.equal(126, code, err)
    assert.matches("not executable", err, 1, true)
    _, err, code = hcs(("run --rootfs %s /etc"):format(tar))
    assert.equal(126, code, err)
    assert.matches("is a directory", err, 1, true)
    _, _, code = hcs("run --no-such-flag x")
    assert.equal(125, code)
    _, _, code = hcs("stop no-such-container-" .. env.unique())
    assert.equal(125, code)
    local err2
    _, err2, code = hcs(("run --network no-such-net --rootfs %s true"):format(tar))
    assert.equal(125, code)
    assert.matches('Network name "no-such-net" not found', err2, 1, true)
  end)

  it("drives a detached container on a network: run -d, ps, exec, stop", function()
    local net, id = env.unique("clinet"), env.unique("clic")
    local n = ok_json(("network create --subnet 172.31.250.0/24 --gateway 172.31.250.1 %s"):format(net))
    assert.is_true(ids(ok_json("network ls"))[n.ID])
    finally(function() hcs("rm -f " .. id) hcs("network rm -f " .. net) end)

    local r = ok_json(("run -d --rm --name %s --network %s -p 18099:80 --rootfs %s sleep 300"):format(id, net, tar))
    assert.equal(id, r.Id)
    assert.is_true(ids(ok_json("ps"), "Id")[id])
    local out = hcs("ps")
    assert.matches(id:gsub("%p", "%%%0") .. "%s+Running", out)
    assert.is_true(ids(ok_json("endpoint ls"), "Name")[id])

    local echoed, err, code = hcs("exec -i " .. id .. " cat", "through stdin\n")
    assert.equal(0, code, err)
    assert.equal("through stdin\n", echoed)
    -- more than the pipes hold, through a process that answers as it reads
    -- with more than it read (200000 lines of 11 bytes, printed 4 times over)
    local big = env.sh(("yes 0123456789 2>/dev/null | head -c 2200000 | timeout -s KILL 60 env %s %s/bin/hcsshim "
      .. "exec -i %s awk '{ print $0 $0 $0 $0 }' | wc -c"):format(paths, tree, id))
    assert.equal("8200000", (big:gsub("%s", "")))
    local _
    _, _, code = hcs("exec " .. id .. " sh -c 'exit 7'")
    assert.equal(7, code)
    local top = ok_json("top " .. id)
    assert.is_true(#top >= 2)

    _, err, code = hcs("stop -t 5 " .. id)
    assert.equal(0, code, err)
    assert.is_nil(ids(ok_json("ps -a"), "Id")[id])
    assert.is_nil(ids(ok_json("endpoint ls"), "Name")[id])        -- --rm: removed on stop
    assert.is_nil(ids(ok_json("layer ls --home " .. env.home))[id .. "-sandbox"])

    _, err, code = hcs("network rm " .. net)
    assert.equal(0, code, err)
    assert.is_nil(ids(ok_json("network ls"))[n.ID])
  end)

  it("imports a layer with progress lines off a terminal", function()
    local id = env.unique("clilayer")
    local pid = id:gsub("%p", "%%%0")
    local out, err, code = hcs(("layer import --home %s %s %s"):format(env.home, tar, id))
    assert.equal(0, code, err)
    assert.equal(id .. "\n", out)
    assert.matches("layer import " .. pid .. ": 0%% %(0 B of [%d.]+ MiB", err)
    assert.matches("layer import " .. pid .. ": 100%% %(", err)
    assert.matches("layer import " .. pid .. ": done, [%d.]+ MiB in [%d.]+ s", err)
    assert.is_true(ids(ok_json("layer ls --home " .. env.home))[id])
    local _
    _, err, code = hcs(("layer rm --home %s %s"):format(env.home, id))
    assert.equal(0, code, err)
    assert.is_nil(ids(ok_json("layer ls --home " .. env.home))[id])
  end)

  it("prunes what a killed detached run left behind", function()
    local id = env.unique("cliprune")
    local _, err, code = hcs(("run -d --name %s --rootfs %s sleep 300"):format(id, tar))
    assert.equal(0, code, err)
    _, err, code = hcs("kill " .. id)
    assert.equal(0, code, err)
    local sandbox = id .. "-sandbox"
    assert.is_true(ids(ok_json("layer ls --home " .. env.home))[sandbox])
    local pruned = ok_json("prune --home " .. env.home)
    local removed = {}
    for _, l in ipairs(pruned.Layers) do removed[l] = true end
    assert.is_true(removed[sandbox])
    assert.is_nil(ids(ok_json("layer ls --home " .. env.home))[sandbox])
    assert.same({}, ok_json("prune --home " .. env.home).Containers)
  end)

  it("imports, lists, runs and removes images (hcsshim.image)", function()
    if not pcall(require, "hcsshim.image") then
      pending("hcsshim.image is not installed: image import|ls|rm and run --image wait for it")
      return
    end
    local dir = env.must("sh scripts/make-test-images.sh " .. tar):match("([^\n]+)%s*$")
    local home = env.tmpdir() .. "/layers"       -- its image store goes with the scratch files
    local out, err, code = hcs(("image import --home %s %s/base.oci.tar"):format(home, dir))
    assert.equal(0, code, err)
    assert.matches("image read ", err, 1, true)   -- progress lines per step
    assert.matches("image import ", err, 1, true)
    local name = out:gsub("%s+$", "")
    local listed = ok_json("image ls --home " .. home)
    assert.equal(name, listed[1].name)
    out, err, code = hcs(("run --home %s --image %s"):format(home, name))   -- the image's own command
    assert.equal(0, code, err)
    assert.equal("busybox-test\n", out)
    local _
    _, err, code = hcs(("image rm --home %s %s"):format(home, name))
    assert.equal(0, code, err)
    assert.same({}, ok_json("image ls --home " .. home))
  end)
end)
