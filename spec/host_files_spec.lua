-- No container write can grow a tmpfs of the host (issue 9, item 7): the
-- files a container gets read-write (/etc/hostname, /etc/hosts,
-- /etc/resolv.conf) live on a small tmpfs of its own, not on the runtime
-- root (the host's /run).
local env = require "support.env"

-- KiB used on the filesystem that holds the runtime root
local function runtime_root_used()
  return tonumber((env.must("df -k --output=used " .. env.runtime_root .. " | tail -n 1"):match("%d+")))
end

describe("files a container may write", function()
  for _, file in ipairs({ "/etc/hosts", "/etc/hostname", "/etc/resolv.conf" }) do
    it(file .. " cannot grow the host's runtime root", function()
      local c, cleanup = env.container()
      finally(cleanup)
      assert(c:start())
      local before = runtime_root_used()
      -- 8 MiB, in a container without a memory limit
      local _, _, code = env.run(c, "dd if=/dev/zero of=" .. file .. " bs=64k count=128 conv=notrunc")
      local grown = runtime_root_used() - before
      assert.is_true(grown < 1024, ("the runtime root grew by %d KiB (dd exit %s)"):format(grown, tostring(code)))
      -- and the container still writes to it (within its small budget)
      local out, err, rc = env.run(c, "sh -c 'echo 10.9.9.9 extra > " .. file .. " && cat " .. file .. "'")
      assert.equal(0, rc, err)
      assert.equal("10.9.9.9 extra\n", out)
    end)
  end

  it("are on a filesystem other than the runtime root's, and gone with the system", function()
    local c, cleanup, id = env.container()
    finally(cleanup)
    assert(c:start())
    local inside = env.run(c, "stat -c %d /etc/hosts")
    local host = env.must("stat -c %d " .. env.runtime_root)
    assert.not_equal(host, inside)
    local files = env.runtime_root .. "/systems/" .. id .. "/etc"
    assert.equal(0, select(3, env.sh("mountpoint -q " .. files)))
    cleanup()
    assert.not_equal(0, select(3, env.sh("mountpoint -q " .. files)))
  end)
end)
