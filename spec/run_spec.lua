-- hcsshim.run{} as people use it: env, cwd and user; unknown options
-- refused; both output streams read together (no 64 KiB deadlock);
-- callbacks; a rootfs tar imported once and reused by content digest.
local env = require "support.env"
local hcsshim = require "hcsshim"

describe("run{}", function()
  local tar

  setup(function() tar = env.busybox_tar() end)

  it("passes env, cwd and user to the process", function()
    local r = assert(hcsshim.run{ rootfs = tar, home = env.home, args = { "sh", "-c", "echo $A $B; pwd; id -u" },
      env = { A = "1", "B=two" }, cwd = "/tmp", user = "1000", timeout = 30 })
    assert.equal(0, r.exit_code)
    assert.equal("1 two\n/tmp\n1000\n", r.stdout)
  end)

  it("refuses an unknown option and a bad one before making anything", function()
    local before = #assert(hcsshim.list_layers(env.home))
    assert.has_error(function() hcsshim.run{ rootfs = tar, command = "true", comand = "typo" } end,
      "run: unknown option `comand`")
    assert.has_error(function() hcsshim.run{ rootfs = tar, command = "true", env = { "NOEQUALS" } } end)
    assert.has_error(function() hcsshim.run{ rootfs = tar, command = "true", cwd = 1 } end)
    assert.equal(before, #assert(hcsshim.list_layers(env.home)))
  end)

  it("reads stdout and stderr together: megabytes on each, in any order", function()
    local script = "head -c 1000000 /dev/zero | tr '\\0' e >&2; head -c 1000000 /dev/zero | tr '\\0' o"
    local r = assert(hcsshim.run{ rootfs = tar, home = env.home, args = { "sh", "-c", script }, timeout = 60 })
    assert.equal(0, r.exit_code)
    assert.equal(1000000, #r.stderr)
    assert.equal(1000000, #r.stdout)
  end)

  it("hands output to callbacks as it arrives, and keeps only the rest", function()
    local got = {}
    local r = assert(hcsshim.run{ rootfs = tar, home = env.home, timeout = 30,
      args = { "sh", "-c", "echo one; sleep 0.2; echo two; echo err >&2" },
      on_stdout = function(chunk) got[#got + 1] = chunk end })
    assert.equal("one\ntwo\n", table.concat(got))
    assert.is_true(#got >= 2)             -- two writes 0.2 s apart: two chunks
    assert.equal("", r.stdout)
    assert.equal("err\n", r.stderr)
  end)

  it("bounds output and exit together with timeout", function()
    local t0 = hcsshim.monotime()
    local r, err = hcsshim.run{ rootfs = tar, home = env.home, command = "sleep 30", timeout = 1 }
    assert.is_nil(r)
    assert.is_true(hcsshim.is_timeout(err))
    assert.is_true(hcsshim.monotime() - t0 < 10)
  end)

  it("imports a rootfs tar once and reuses its layer by sha256", function()
    local digest = assert(require("hcsshim.core").sha256_file(tar))
    local id = "rootfs-" .. digest:sub(8)
    assert(hcsshim.run{ rootfs = tar, home = env.home, command = "true" })
    assert.is_true(hcsshim.layer_exists(env.home, id))
    local marker = env.home .. "/" .. id .. "/rootfs/etc/reused"
    env.must("touch " .. marker)           -- a reimport would lose it
    local r = assert(hcsshim.run{ rootfs = tar, home = env.home, command = "cat /etc/reused" })
    assert.equal(0, r.exit_code)
    local pruned = assert(hcsshim.prune({ home = env.home }))
    local removed = {}
    for _, l in ipairs(pruned.Layers) do removed[l] = true end
    assert.is_true(removed[id])
    assert.is_false(hcsshim.layer_exists(env.home, id))
  end)

  it("tells whether a system and a process still run, without an error", function()
    local box = assert(hcsshim.run{ rootfs = tar, home = env.home, command = "sleep 60", detach = true })
    finally(function() box.stop() end)
    assert.is_true(box.container:is_running())
    assert.is_true(box.process:is_running())
    assert.is_true(box.process:pollfd() >= 0)
    assert(box.process:kill())
    assert(box.process:wait(10))
    assert.is_false(box.process:is_running())
    assert(box.container:terminate())
    assert(box.container:wait(10))
    assert.is_false(box.container:is_running())
  end)
end)
