-- "Commit": change files in a container, then export its sandbox layer
-- (the container's changes) as a layer folder of its own.  Exporting a
-- layer needs ExportLayer, which the Linux host compute service does not
-- offer yet; there the example says so and exits with 77 ("skipped").
--
--   lua5.4 examples/commit.lua rootfs.tar
local hcsshim = require "hcsshim"
local rootfs = assert(arg[1], "usage: commit.lua ROOTFS.tar")

local home = (os.getenv("HCSSHIM_DATA_ROOT") or "/var/lib/hcsshim") .. "/layers"
local box = assert(hcsshim.run{ rootfs = rootfs, command = "sh -c 'echo committed > /greeting; sleep 600'",
  detach = true })
local sandbox = box.id .. "-sandbox"
local out = os.tmpname()
os.remove(out)
local ok, err = hcsshim.export_layer(home, sandbox, out, {})
box.stop()
if not ok and hcsshim.is_not_supported(err) then
  print("skipped: export_layer is not supported here: " .. tostring(err))
  os.exit(77)
end
assert(ok, err)
print("exported the container's changes to " .. out)
os.execute("rm -rf " .. out)
