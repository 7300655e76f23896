-- Confinement by default (issue 10, item 13): containers run under the
-- containers project's default seccomp profile, translated into the OCI
-- spec, plus the keyring and unshare refusals; SeccompProfile =
-- "unconfined" turns it off for containers created afterwards.
local hcsshim = require "hcsshim"
local env = require "support.env"

local function with_profile(profile, fn)
  assert(hcsshim.configure({ SeccompProfile = profile }))
  local c, cleanup, id = env.container()
  local ok, err = pcall(fn, c, id)
  cleanup()
  assert(hcsshim.configure({ SeccompProfile = "/usr/share/containers/seccomp.json" }))
  assert(ok, err)
end

local function bundle(id)
  return assert(hcsshim.json.decode(env.slurp(env.runtime_root .. "/systems/" .. id .. "/config.json")))
end

describe("seccomp", function()
  it("by default: a filter is on, root cannot unshare a user namespace nor reach the keyring", function()
    with_profile("/usr/share/containers/seccomp.json", function(c, id)
      assert(c:start())
      assert.matches("Seccomp:%s+2", (env.run(c, "cat /proc/self/status")))
      local _, _, code = env.run(c, "unshare -U true")
      assert.are_not.equal(0, code)
      local sc = bundle(id).linux.seccomp
      assert.equal("SCMP_ACT_ERRNO", sc.defaultAction)
      assert.equal("SCMP_ARCH_X86_64", sc.architectures[1])
      local denied, allowed = {}, {}
      for _, r in ipairs(sc.syscalls) do
        for _, n in ipairs(r.names) do
          if r.action == "SCMP_ACT_ALLOW" and not r.args then allowed[n] = true end
          if r.action == "SCMP_ACT_ERRNO" then denied[n] = true end
        end
      end
      for _, n in ipairs({ "keyctl", "add_key", "request_key", "unshare" }) do
        assert.is_true(denied[n], n)
        assert.is_nil(allowed[n], n)
      end
      -- conditions: no CAP_SYS_ADMIN, so bpf is refused, not allowed;
      -- arch_prctl only for amd64; chroot allowed (CAP_SYS_CHROOT is held)
      assert.is_true(denied.bpf)
      assert.is_nil(allowed.bpf)
      assert.is_true(allowed.arch_prctl)
      assert.is_nil(allowed.s390_pci_mmio_read)
      assert.is_true(allowed.chroot)
      assert.is_nil(denied.chroot)
    end)
  end)

  it("SeccompProfile = 'unconfined' turns it off", function()
    with_profile("unconfined", function(c, id)
      assert(c:start())
      assert.matches("Seccomp:%s+0", (env.run(c, "cat /proc/self/status")))
      local _, _, code = env.run(c, "unshare -U true")
      assert.equal(0, code)
      assert.is_nil(bundle(id).linux.seccomp)
    end)
  end)

  it("a profile that is missing or not a profile is refused, naming it", function()
    local dir = env.tmpdir()
    for _, case in ipairs({ { dir .. "/none.json", "none.json" }, { dir, "not a regular file" } }) do
      assert(hcsshim.configure({ SeccompProfile = case[1] }))
      local ok, err = pcall(env.container)
      assert(hcsshim.configure({ SeccompProfile = "/usr/share/containers/seccomp.json" }))
      assert.is_false(ok)
      assert.matches(case[2], tostring(err), 1, true)
    end
    local bad = dir .. "/bad.json"
    local f = assert(io.open(bad, "w"))
    f:write('{"defaultAction":1}')
    f:close()
    assert(hcsshim.configure({ SeccompProfile = bad }))
    local ok, err = pcall(env.container)
    assert(hcsshim.configure({ SeccompProfile = "/usr/share/containers/seccomp.json" }))
    assert.is_false(ok)
    assert.matches("not a containers seccomp profile", tostring(err), 1, true)
    assert.is_nil(hcsshim.configure({ SeccompProfile = "relative.json" }))
  end)
end)
