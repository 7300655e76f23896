-- Overhead of the Lua API against the engine it stands on, measured side
-- by side in one run: create + start + exec `true` + wait + shutdown +
-- close through hcsshim, against the same steps through the raw crun CLI
-- on the same root filesystem, with the same init and the same seccomp
-- filter (the service's default confinement, read from the OCI spec it
-- wrote: crun compiles the filter at every create unless its filter cache
-- is built in, and applies it at every exec, which is the engine's work,
-- not the API's).  Prints `NAME ratio X.XX` (median of the Lua rounds /
-- median of the crun rounds; target <= 1.3); the stderr line also gives
-- the crun rounds without the filter, the price of the confinement.
local hcsshim = require "hcsshim"
local json = hcsshim.json

local bench = require "bench.support"
local ROUNDS = bench.rounds
local clock = hcsshim.monotime

local sh = bench.sh

local root = sh("mktemp -d /var/tmp/hcsshim-bench.XXXXXX"):gsub("%s+$", "")
local crun_root = root .. "/crun-raw"
local home = root .. "/layers"

-- a busybox base layer and one prepared sandbox shared by both paths
local rootfs = root .. "/bb"
sh(("mkdir -p %s/bin %s/etc %s/proc %s/sys %s/dev %s/tmp && cp /bin/busybox %s/bin/ && cd %s/bin && "
  .. "for a in $(./busybox --list); do [ \"$a\" = busybox ] || ln -s busybox $a; done")
  :format(rootfs, rootfs, rootfs, rootfs, rootfs, rootfs, rootfs, rootfs))
sh(("echo 'root:x:0:0:root:/root:/bin/sh' > %s/etc/passwd && tar -C %s -cf %s/bb.tar ."):format(rootfs, rootfs, root))
assert(hcsshim.import_layer(home, "base", root .. "/bb.tar"))
assert(hcsshim.create_sandbox_layer(home, "sb", "base", { home .. "/base" }))
assert(hcsshim.activate_layer(home, "sb"))
assert(hcsshim.prepare_layer(home, "sb", { home .. "/base" }))
local volume = assert(hcsshim.get_layer_mount_path(home, "sb"))

-- the OCI spec the service wrote for system `id` (its own file in the
-- system's folder)
local function service_spec(id)
  local f = assert(io.open((os.getenv("HCSSHIM_RUNTIME_ROOT") or "/run/hcsshim") .. "/systems/" .. id
    .. "/config.json"))
  local oci = json.decode(f:read("a"))
  f:close()
  return oci
end

-- a raw crun bundle: crun's own default spec, pointed at the same root,
-- with the same init (catatonit -P), no terminal, and `seccomp` (nil: none)
local function raw_bundle(name, seccomp)
  local bundle = root .. "/" .. name
  sh("mkdir -p " .. bundle .. " && cd " .. bundle .. " && crun spec")
  local f = assert(io.open(bundle .. "/config.json"))
  local spec = json.decode(f:read("a"))
  f:close()
  spec.root = { path = volume, readonly = false }
  spec.process.terminal = false
  spec.process.args = { "/.init", "-P" }
  spec.mounts[#spec.mounts + 1] = { destination = "/.init", type = "bind", source = "/usr/bin/catatonit",
    options = { "bind", "ro" } }
  spec.linux.cgroupsPath = "/hcsshim-bench-raw/c"
  spec.linux.seccomp = seccomp
  f = assert(io.open(bundle .. "/config.json", "w"))
  f:write(assert(json.encode(spec)))
  f:close()
  return bundle
end

local function lua_round(i, look)
  local id = "bench-lua-" .. i
  local c = assert(hcsshim.create_container(id, { VolumePath = volume }))
  if look then look(id) end
  assert(c:start())
  local p = assert(c:create_process({ CommandLine = "true" }))
  assert(p:wait(30))
  assert(p:exit_code() == 0)
  p:close()
  assert(c:shutdown())
  assert(c:wait(30))
  c:close()
end

-- the raw round is one shell script, so that it pays for one shell start,
-- not one per step; crun has no "wait", so the exit is polled with state
local round_sh = root .. "/round.sh"
do
  local out = assert(io.open(round_sh, "w"))
  out:write([[
set -e
R="crun --root $1"
$R create --bundle "$3" "$2" </dev/null >/dev/null
$R start "$2"
$R exec "$2" true
$R kill --all "$2" 15
until $R state "$2" | grep -q '"stopped"'; do :; done
$R delete --force "$2"
]])
  out:close()
end

local function crun_round(bundle, id)
  local t0 = clock()
  assert(os.execute(("sh %s %s %s %s"):format(round_sh, crun_root, id, bundle)))
  return clock() - t0
end

local function lua_timed(i)
  local t0 = clock()
  lua_round(i)
  return clock() - t0
end

local median = bench.median

local ok, err = pcall(function()
  local seccomp
  lua_round(0, function(id) seccomp = service_spec(id).linux.seccomp end) -- warm-up
  local same, plain = raw_bundle("bundle", seccomp), raw_bundle("bundle-plain", nil)
  local tl, tc, tp = {}, {}, {}
  crun_round(same, "bench-raw-0")
  crun_round(plain, "bench-plain-0")
  for i = 1, ROUNDS do
    -- interleaved, so load on the machine hits every path alike
    tl[i] = lua_timed(i)
    tc[i] = crun_round(same, "bench-raw-" .. i)
    tp[i] = crun_round(plain, "bench-plain-" .. i)
  end
  local ml, mc = median(tl), median(tc)
  io.stderr:write(("lifecycle: lua median %.1f ms, crun median %.1f ms (%.1f ms without the seccomp filter)"
    .. " over %d rounds\n"):format(ml * 1000, mc * 1000, median(tp) * 1000, ROUNDS))
  print(("lifecycle ratio %.2f"):format(ml / mc))
end)

-- clean up whatever the rounds left
os.execute("for c in $(crun --root " .. crun_root .. " list -q 2>/dev/null); do crun --root " .. crun_root
  .. " delete --force $c; done")
os.execute("rmdir /sys/fs/cgroup/*/hcsshim-bench-raw/c /sys/fs/cgroup/*/hcsshim-bench-raw 2>/dev/null")
hcsshim.unprepare_layer(home, "sb")
hcsshim.deactivate_layer(home, "sb")
hcsshim.destroy_layer(home, "sb")
hcsshim.destroy_layer(home, "base")
os.execute("rm -rf --one-file-system " .. root)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
