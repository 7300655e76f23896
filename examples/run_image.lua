-- Images: import a docker-archive made by `podman save` (of the Debian
-- bookworm minbase root filesystem; built and cached by
-- scripts/make-test-images.sh), run the image's own command and one of
-- ours in it, list the images, and remove it again.
--
--   lua5.4 examples/run_image.lua [image archive or OCI layout]
local hcsshim = require "hcsshim"
local image = require "hcsshim.image"

local function step(fmt, ...) io.write(("== " .. fmt .. "\n"):format(...)) io.flush() end

local function output(cmd)
  local p = assert(io.popen(cmd))
  local lines = {}
  for l in p:lines() do lines[#lines + 1] = l end
  assert(p:close(), "failed: " .. cmd)
  return lines[#lines]
end

local path = arg[1]
if not path or path == "" then
  local rootfs = output("sh scripts/make-rootfs.sh")
  path = output("sh scripts/make-test-images.sh " .. rootfs) .. "/base.docker.tar"
end

step("importing %s", path)
local t0, last = hcsshim.monotime(), ""
local function progress(_, _, stage) -- (bytes, entries, stage)
  if stage ~= last then io.write(("   %s ...\n"):format(stage)) last = stage end
end
local img = assert(image.import(path, { name = "demo/debian:12", progress = progress }))
step("image %s (%s), %d layer(s), %.1f MiB, in %.1f s", img.name, img.id:sub(1, 19), #img.chain_ids,
  img.size / 1048576, hcsshim.monotime() - t0)

local ok, err = pcall(function()
  step("running the image's own command (%s)",
    table.concat(assert(image.process_config(img)).CommandArgs, " "))
  local r = assert(hcsshim.run{ image = img, timeout = 60 })
  io.write(r.stdout)
  step("running `head -n 2 /etc/os-release` in it")
  r = assert(hcsshim.run{ image = "demo/debian:12", args = { "head", "-n", "2", "/etc/os-release" },
                         timeout = 60 })
  io.write(r.stdout)
  for _, rec in ipairs(image.list()) do
    step("listed: %s %s", rec.name or "(untagged)", rec.id:sub(1, 19))
  end
end)
step("removing the image: %d layer(s) removed", #assert(image.remove(img)))
if not ok then error(err, 0) end
