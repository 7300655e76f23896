-- Import an OCI or docker image archive and run a command from it.
-- Needs the hcsshim.image module; without it the example says so and
-- exits with 77 ("skipped").
--
--   lua5.4 examples/image_run.lua image.tar [name]
local hcsshim = require "hcsshim"
local found, image = pcall(require, "hcsshim.image")
if not found then
  print("skipped: hcsshim.image is not installed")
  os.exit(77)
end
local archive = assert(arg[1], "usage: image_run.lua IMAGE.tar [name]")
local imported = assert(image.import(archive))
local name = arg[2] or hcsshim.json.get(imported, "Name")
local r = assert(hcsshim.run{ image = name, command = "cat /etc/os-release", timeout = 60 })
io.write(r.stdout)
print("exit code", r.exit_code)
