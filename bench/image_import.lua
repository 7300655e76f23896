-- Importing an image through the Lua API against the engine users load
-- images with, side by side in one run: `hcsshim.image.import` of a
-- docker-archive of the Debian minbase root filesystem image (podman
-- import + podman save, cached by scripts/make-test-images.sh), against
-- `podman load` of the same archive into a fresh private storage root
-- (overlay driver, as podman's default on a root host).  Both verify the
-- layer digest and unpack the layer once.  Prints `image_import ratio X.XX`
-- (median of the Lua rounds / median of the podman rounds; target <= 1.0).
local hcsshim = require "hcsshim"
local image = require "hcsshim.image"

local bench = require "bench.support"
local ROUNDS = tonumber(os.getenv("IMAGE_BENCH_ROUNDS") or "") or math.min(bench.rounds, 5)
local clock = hcsshim.monotime
local sh = bench.sh

local rootfs = sh("sh scripts/make-rootfs.sh"):match("([^\n]+)%s*$")
local images = sh("sh scripts/make-test-images.sh " .. rootfs):match("([^\n]+)%s*$")
local archive = images .. "/base.docker.tar"
local root = sh("mktemp -d /var/tmp/hcsshim-bench-image.XXXXXX"):gsub("%s+$", "")

local function podman(dir)
  return ("podman --root %s/storage --runroot %s/run --tmpdir %s/tmp --storage-driver overlay "
    .. "--cgroup-manager cgroupfs --events-backend file"):format(dir, dir, dir)
end

-- everything under dir goes, mounts first (podman's overlay driver may
-- leave its storage root bind-mounted)
local function wipe(dir)
  os.execute(("findmnt -rn -o TARGET | grep -F '%s' | sort -r | xargs -r umount -l; "
    .. "rm -rf --one-file-system '%s'"):format(dir, dir))
end

local function lua_round(i)
  local home = ("%s/lua-%d/layers"):format(root, i)
  local t0 = clock()
  assert(image.import(archive, { home = home }))
  local t = clock() - t0
  wipe(root .. "/lua-" .. i)
  return t
end

local function podman_round(i)
  local dir = ("%s/podman-%d"):format(root, i)
  sh("mkdir -p " .. dir .. "/tmp")
  local t0 = clock()
  sh(podman(dir) .. " load -q -i " .. archive)
  local t = clock() - t0
  sh(podman(dir) .. " rmi -a -f >/dev/null")
  wipe(dir)
  return t
end

local ok, err = pcall(function()
  local ml, mp = bench.paired(lua_round, podman_round, ROUNDS)
  io.stderr:write(("image_import: lua median %.0f ms, podman load median %.0f ms over %d rounds\n")
    :format(ml * 1000, mp * 1000, ROUNDS))
  print(("image_import ratio %.2f"):format(ml / mp))
end)

wipe(root)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
