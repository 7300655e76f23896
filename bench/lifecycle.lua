-- Overhead of the Lua API against the engine it stands on, measured side
-- by side in one run: create + start + exec `true` + wait + shutdown +
-- close through hcsshim, against the same steps through the raw crun CLI
-- on the same root filesystem.  Prints `NAME ratio X.XX` (median of the
-- Lua rounds / median of the crun rounds; target <= 1.3).
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

-- the raw crun bundle: crun's own default spec, pointed at the same root,
-- with the same init (catatonit -P) and no terminal
local bundle = root .. "/bundle"
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
f = assert(io.open(bundle .. "/config.json", "w"))
f:write(assert(json.encode(spec)))
f:close()

local function lua_round(i)
  local id = "bench-lua-" .. i
  local c = assert(hcsshim.create_container(id, { VolumePath = volume }))
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

local function crun_round(i)
  assert(os.execute(("sh %s %s %s %s"):format(round_sh, crun_root, "bench-raw-" .. i, bundle)))
end

local median = bench.median

local ok, err = pcall(function()
  lua_round(0) -- warm-up of both paths
  crun_round(0)
  local tl, tc = {}, {}
  for i = 1, ROUNDS do
    -- interleaved, so load on the machine hits both alike
    local t0 = clock(); lua_round(i); tl[#tl + 1] = clock() - t0
    t0 = clock(); crun_round(i); tc[#tc + 1] = clock() - t0
  end
  local ml, mc = median(tl), median(tc)
  io.stderr:write(("lifecycle: lua median %.1f ms, crun median %.1f ms over %d rounds\n")
    :format(ml * 1000, mc * 1000, ROUNDS))
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
