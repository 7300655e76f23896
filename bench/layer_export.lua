-- Exporting a sandbox's changes through the Lua API against the engine we
-- stand on, side by side in one run: `hcsshim.export_layer` of a sandbox
-- with a few thousand changed files (3000 files of 1-16 KiB in 30
-- directories, 20 deletions) against `bsdtar -c` of the same upper
-- directory.  Both read every file, its xattrs and write one tar to the
-- same filesystem.  Prints `layer_export ratio X.XX` (median of the Lua
-- rounds / median of the bsdtar rounds; target <= 1.2).
local hcsshim = require "hcsshim"

local bench = require "bench.support"
local ROUNDS = tonumber(os.getenv("EXPORT_BENCH_ROUNDS") or "") or math.min(bench.rounds, 9)
local DIRS, FILES = 30, 100
local clock = hcsshim.monotime
local sh = bench.sh

local root = sh("mktemp -d /var/tmp/hcsshim-bench-export.XXXXXX"):gsub("%s+$", "")
local home = root .. "/layers"
local base, sb = home .. "/base", "sb"

-- A base layer with files to delete, and a sandbox over it with the changes.
local function setup()
  sh(("mkdir -p %s/base/old && cd %s/base && for i in $(seq 20); do echo $i > old/f$i; done && "
    .. "tar -cf ../base.tar ."):format(root, root))
  assert(hcsshim.import_layer(home, "base", root .. "/base.tar"))
  assert(hcsshim.create_sandbox_layer(home, sb, "base", { base }))
  assert(hcsshim.activate_layer(home, sb))
  assert(hcsshim.prepare_layer(home, sb, { base }))
  local m = assert(hcsshim.get_layer_mount_path(home, sb))
  local chunk = string.rep("0123456789abcdef", 1024)
  for d = 1, DIRS do
    assert(os.execute(("mkdir -p %s/data/d%02d"):format(m, d)))
    for f = 1, FILES do
      local fh = assert(io.open(("%s/data/d%02d/f%03d"):format(m, d, f), "wb"))
      fh:write(chunk:sub(1, 1024 * (1 + (d * FILES + f) % 16)))
      fh:close()
    end
  end
  sh(("rm -f %s/old/f*"):format(m))
  assert(hcsshim.unprepare_layer(home, sb))
end

local function lua_round(i)
  local out = ("%s/lua-%d.tar"):format(root, i)
  local t0 = clock()
  assert(hcsshim.export_layer(home, sb, out, { base }))
  local t = clock() - t0
  os.remove(out)
  return t
end

local function bsdtar_round(i)
  local out = ("%s/bsdtar-%d.tar"):format(root, i)
  local t0 = clock()
  sh(("bsdtar -c -f %s -C %s/%s/upper ."):format(out, home, sb))
  local t = clock() - t0
  os.remove(out)
  return t
end

local ok, err = pcall(function()
  setup()
  local ml, mb = bench.paired(lua_round, bsdtar_round, ROUNDS)
  print(("layer_export: hcsshim.export_layer %.1f ms, bsdtar -c %.1f ms (%d files, median of %d)")
    :format(ml * 1000, mb * 1000, DIRS * FILES, ROUNDS))
  print(("layer_export ratio %.2f"):format(ml / mb))
end)
hcsshim.unprepare_layer(home, sb)
hcsshim.deactivate_layer(home, sb)
hcsshim.destroy_layer(home, sb)
hcsshim.destroy_layer(home, "base")
os.execute("rm -rf --one-file-system " .. root)
if not ok then error(err, 0) end
