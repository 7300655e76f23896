-- Import an OCI or docker image archive, run a command from it with the
-- image's own defaults (Env, WorkingDir, User), then remove the image.
--
--   lua5.4 examples/image_run.lua image.tar
local hcsshim = require "hcsshim"
local found, image = pcall(require, "hcsshim.image")
if not found then
  print("skipped: hcsshim.image is not installed")
  os.exit(77)
end
local archive = assert(arg[1], "usage: image_run.lua IMAGE.tar (oci-archive or docker-archive)")
local img = assert(image.import(archive))
print(("imported %s (%s, %d layers)"):format(img.name or img.id, img.format, #img.chain_ids))
local r, err = hcsshim.run{ image = img, command = "cat /etc/os-release", timeout = 60 }
assert(image.remove(img))
assert(r, err)
io.write(r.stdout)
print("exit code", r.exit_code)
