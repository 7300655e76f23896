-- Commit: a container changes its filesystem, its sandbox's changes are
-- exported as an OCI layer tar and imported as a new read-only layer
-- (`hcsshim.commit`), and a second container started on that layer sees
-- the change.
--
--   lua5.4 examples/commit.lua [rootfs.tar[.gz]]
--
-- Without an argument it uses the Debian bookworm minbase tarball of
-- scripts/make-rootfs.sh (cached after the first run).
local hcsshim = require "hcsshim"

local function step(fmt, ...) io.write(("== " .. fmt .. "\n"):format(...)) io.flush() end

local tarball = arg[1]
if not tarball or tarball == "" then
  local p = assert(io.popen("sh scripts/make-rootfs.sh"))
  tarball = p:read("l")
  assert(p:close() and tarball, "could not build the root filesystem tarball")
end

local home = (os.getenv("HCSSHIM_DATA_ROOT") or "/var/lib/hcsshim") .. "/layers"
local tag = hcsshim.new_guid():sub(1, 8)
local base_id, layer_id = "demo-commit-base-" .. tag, "demo-committed-" .. tag
local tar = os.tmpname()

local function main()
  step("importing %s as base layer %s", tarball, base_id)
  assert(hcsshim.import_layer(home, base_id, tarball))
  local h = assert(hcsshim.run { layers = { home .. "/" .. base_id }, detach = true,
    args = { "sh", "-c", "echo 'hello from the first container' > /etc/motd; rm /etc/issue" } })
  local ok, err = pcall(function()
    assert(h.process:wait(60))
    step("committing container %s as layer %s", h.id:sub(1, 8), layer_id)
    local c = assert(hcsshim.commit { container = h, layer = layer_id, tar = tar })
    step("the layer tar (%d bytes of file data):", c.size)
    io.write(assert(io.popen("tar -tvf " .. tar .. " | sed 's/^/   /'")):read("a"))
    h.stop()
    h = nil
    step("a second container on %s", table.concat(c.layers, " + "))
    local r = assert(hcsshim.run { layers = c.layers, timeout = 60,
      args = { "sh", "-c", "cat /etc/motd; ls /etc/issue 2>&1 || true" } })
    io.write(r.stdout)
  end)
  if h then h.stop() end
  if not ok then error(err, 0) end
end

local ok, err = pcall(main)
step("removing the layers")
hcsshim.destroy_layer(home, layer_id)
hcsshim.destroy_layer(home, base_id)
os.remove(tar)
if not ok then error(err, 0) end
