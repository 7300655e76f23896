-- Shared test environment: a busybox root filesystem imported once as a
-- base layer, and helpers that make (and always tear down) containers.
local hcsshim = require "hcsshim"
local core = require "hcsshim.core"

local M = {}

-- Shell commands run without the sanitizer preload of `make sanitize`
-- (procps' ps deadlocks with libasan preloaded).
function M.sh(cmd)
  local p = assert(io.popen("unset LD_PRELOAD; { " .. cmd .. "\n} 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok, code
end

function M.must(cmd)
  local out, ok, code = M.sh(cmd)
  if not ok then error(("command failed (%s): %s\n%s"):format(tostring(code), cmd, out), 2) end
  return out
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- What a child Lua process needs to run this very build: the suite's
-- package paths (so that it loads the same hcsshim.core), its programs
-- (monitor, helper, extract, tty) and, under `make sanitize`, the sanitizer
-- preload (which M.sh drops for other commands) and options.  Every spec
-- that starts a Lua child takes them from here: M.lua as a shell command,
-- M.child_env for other launchers (systemd-run).
M.lua_bin = os.getenv("HCSSHIM_TEST_LUA") or "lua5.4"
M.child_env = { LUA_PATH = package.path, LUA_CPATH = package.cpath, LD_PRELOAD = os.getenv("LD_PRELOAD") or "" }
for _, k in ipairs({ "HCSSHIM_MONITOR", "HCSSHIM_HELPER", "HCSSHIM_EXTRACT", "HCSSHIM_TTY", "ASAN_OPTIONS",
  "UBSAN_OPTIONS" }) do
  M.child_env[k] = os.getenv(k)
end
-- M.lua with `vars` (a table of environment variables) set as well; they
-- win over the suite's own.
function M.lua_with(vars)
  local all, words = {}, {}
  for k, v in pairs(M.child_env) do all[k] = v end
  for k, v in pairs(vars) do all[k] = v end
  for k, v in pairs(all) do words[#words + 1] = k .. "=" .. shell_quote(v) end
  table.sort(words)
  return table.concat(words, " ") .. " " .. M.lua_bin
end
M.lua = M.lua_with({})

-- Writes a Lua snippet to dir/child.lua (dir: a new tmpdir when nil);
-- returns its path and dir.
function M.write_script(code, dir)
  dir = dir or M.tmpdir()
  local script = dir .. "/child.lua"
  local f = assert(io.open(script, "w"))
  f:write(code)
  f:close()
  return script, dir
end

-- Writes an executable script (a stand-in for one of the service's
-- programs) at path from its text pieces; returns path.
function M.write_program(path, ...)
  local f = assert(io.open(path, "w"))
  f:write(...)
  f:close()
  M.must("chmod 755 " .. path)
  return path
end

-- The bytes of file path; `missing` (when given) if there is none.
function M.slurp(path, missing)
  local f, err = io.open(path, "rb")
  if not f then
    if missing ~= nil then return missing end
    error(err, 2)
  end
  local s = f:read("a")
  f:close()
  return s
end

-- Whether path can be opened (a file that exists and may be read).
function M.exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local counter = 0
function M.unique(prefix)
  counter = counter + 1
  return ("%s-%d-%d"):format(prefix or "t", os.time() % 100000, counter)
end

-- The maker part of a pending folder's name (common/pending.c):
-- "<pid ns>.<time ns>.<pid>.<start time>" of process pid (default: this
-- Lua process); with `gone`, of a process that had its pid and is gone
-- (another start time).
function M.maker_tag(gone, pid)
  local out = M.sh(([[pid=%s; start=$(sed 's/.*) //' /proc/$pid/stat | cut -d' ' -f20)
    t=$(stat -Lc %%i /proc/self/ns/time 2>/dev/null || echo 0)
    echo "$(stat -Lc %%i /proc/self/ns/pid).$t.$pid.$start"]]):format(pid or "$PPID"))
  local ns, pid_, start = out:match("^(%d+%.%d+)%.(%d+)%.(%d+)\n$")
  assert(ns, "cannot read the identity of a process: " .. out)
  return ("%s.%s.%d"):format(ns, pid_, tonumber(start) + (gone and 1 or 0))
end

M.data_root = os.getenv("HCSSHIM_DATA_ROOT") or "/var/lib/hcsshim"
M.runtime_root = os.getenv("HCSSHIM_RUNTIME_ROOT") or "/run/hcsshim"
M.cgroup_parent = os.getenv("HCSSHIM_CGROUP_PARENT") or "/hcsshim"
M.home = M.data_root .. "/layers"
-- the unified (v2) hierarchy, or v1/hybrid (one tree per controller)
M.cgroup_v2 = M.sh("stat -fc %T /sys/fs/cgroup"):match("cgroup2fs") ~= nil

-- The text of a file of compute system id's cgroup, read on the host: on
-- v1 file v1 of controller ctl's tree, on v2 file v2 of the one tree.
function M.cgroup_read(id, ctl, v1, v2)
  local path = M.cgroup_v2 and ("/sys/fs/cgroup%s/%s/%s"):format(M.cgroup_parent, id, v2)
    or ("/sys/fs/cgroup/%s%s/%s/%s"):format(ctl, M.cgroup_parent, id, v1)
  return (M.sh("cat " .. path))
end

-- The cgroup directories of this run's parent, on either layout.
M.cgroup_globs = "/sys/fs/cgroup/*" .. M.cgroup_parent .. " /sys/fs/cgroup" .. M.cgroup_parent
M.scratch = M.data_root .. "/scratch"

function M.tmpdir()
  M.must("mkdir -p " .. M.scratch)
  return (M.must("mktemp -d " .. M.scratch .. "/tmp.XXXXXX"):gsub("%s+$", ""))
end

-- A busybox root filesystem as a tar, with users for the User tests.
function M.busybox_tar()
  if M._busybox_tar then return M._busybox_tar end
  local d = M.tmpdir()
  local root = d .. "/root"
  M.must(("mkdir -p %s/bin %s/etc %s/tmp %s/root %s/home/app %s/proc %s/sys %s/dev %s/data")
    :format(root, root, root, root, root, root, root, root, root))
  M.must(("cp /bin/busybox %s/bin/busybox"):format(root))
  M.must(("cd %s/bin && for a in $(./busybox --list); do [ \"$a\" = busybox ] || ln -s busybox \"$a\"; done")
    :format(root))
  local f = assert(io.open(root .. "/etc/passwd", "w"))
  f:write("root:x:0:0:root:/root:/bin/sh\n",
    "app:x:1000:1000:app:/home/app:/bin/sh\n",
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
  f:close()
  f = assert(io.open(root .. "/etc/group", "w"))
  f:write("root:x:0:\n", "staff:x:50:app\n", "app:x:1000:\n", "nogroup:x:65534:\n")
  f:close()
  M.must(("echo busybox-test > %s/etc/os-release && chown 1000:1000 %s/home/app && chmod 1777 %s/tmp")
    :format(root, root, root))
  M._busybox_tar = d .. "/busybox.tar"
  -- the same bytes every run: images built from it are cached by content
  M.must(("tar --numeric-owner --sort=name --mtime=@0 -C %s -cf %s ."):format(root, M._busybox_tar))
  M.must("rm -rf " .. root)
  return M._busybox_tar
end

-- The base layer, imported once per test run.
function M.base_layer()
  if M._base then return M._base end
  local id = "busybox-base"
  if not hcsshim.layer_exists(M.home, id) then
    assert(hcsshim.import_layer(M.home, id, M.busybox_tar()))
  end
  M._base = { id = id, path = M.home .. "/" .. id }
  return M._base
end

-- A prepared sandbox over the base layer: returns its mount path and a
-- function that undoes it all.
function M.sandbox(id)
  local base = M.base_layer()
  assert(hcsshim.create_sandbox_layer(M.home, id, base.id, { base.path }))
  assert(hcsshim.activate_layer(M.home, id))
  assert(hcsshim.prepare_layer(M.home, id, { base.path }))
  local mount = assert(hcsshim.get_layer_mount_path(M.home, id))
  return mount, function()
    assert(hcsshim.unprepare_layer(M.home, id))
    assert(hcsshim.deactivate_layer(M.home, id))
    assert(hcsshim.destroy_layer(M.home, id))
  end
end

-- A monitor that ended its system goes on removing the system's folder
-- for a moment after it stopped answering (an open then finds nothing):
-- the id is free, and the folder gone, only after that.
function M.folder_gone(id, deadline)
  local dir = M.runtime_root .. "/systems/" .. id
  while M.exists(dir) and hcsshim.monotime() < deadline do core.sleep(0.02) end
end

-- Stops compute system `id` through fresh handles and waits until the
-- service has forgotten it (a created or running system outlives its
-- handles; a stopped one goes once its last handle closes).
-- A stopped system stays known while any handle to it (or to one of its
-- processes) is open: handles a failed spec dropped are collected first.
-- That is watched without a handle (hcsshim.wait_forgotten), as every
-- handle opened meanwhile is a new reason for it to stay (opening again
-- every 50 ms kept a slow monitor alive for ever).
function M.forget(id)
  local deadline = hcsshim.monotime() + 30
  collectgarbage()
  collectgarbage()
  repeat
    local h = hcsshim.open_container(id)
    if not h then return M.folder_gone(id, deadline) end
    h:terminate()
    h:wait(30)
    h:close()
    if hcsshim.wait_forgotten(id, 5) then return M.folder_gone(id, deadline) end
  until hcsshim.monotime() > deadline
  error("compute system " .. id .. " is still known after 30 s", 2)
end

-- A created (not started) container over a fresh sandbox.  cleanup()
-- terminates, waits, closes, and removes the sandbox; safe to call twice.
function M.container(extra, id)
  id = id or M.unique("c")
  local mount, undo = M.sandbox(id .. "-sb")
  local cfg = { Name = id, VolumePath = mount, LayerFolderPath = M.home .. "/" .. id .. "-sb",
                Layers = { { ID = hcsshim.new_guid(), Path = M.base_layer().path } } }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  local c, err = hcsshim.create_container(id, cfg)
  if not c then
    undo()
    error(tostring(err), 2)
  end
  local done = false
  local function cleanup()
    if done then return end
    done = true
    if c:is_open() then
      c:terminate()
      c:wait(30)
      c:close()
    end
    M.forget(id)
    undo()
  end
  return c, cleanup, id
end

-- Run a command to completion in a started container; returns stdout,
-- stderr, exit code.
function M.run(c, cmd, opts)
  opts = opts or {}
  local cfg = { CommandLine = cmd, CreateStdOutPipe = true, CreateStdErrPipe = true,
                CreateStdInPipe = opts.stdin ~= nil }
  for k, v in pairs(opts.config or {}) do cfg[k] = v end
  local p = assert(c:create_process(cfg))
  local stdin, stdout, stderr = p:stdio()
  if opts.stdin then
    stdin:write(opts.stdin)
    assert(p:close_stdin())
  end
  local out = stdout and stdout:read("a") or ""
  local err = stderr and stderr:read("a") or ""
  assert(p:wait(opts.timeout or 60))
  local code, sig = p:exit_code()
  p:close()
  return out, err, code, sig
end

-- The stdout lines of a command, in order (its stderr dropped).
function M.lines(cmd)
  local out = {}
  local p = io.popen("unset LD_PRELOAD; " .. cmd .. " 2>/dev/null")
  if p then
    for l in p:lines() do out[#out + 1] = l end
    p:close()
  end
  return out
end

-- Host network state before the first spec ran (the leak spec compares):
-- veths, iptables nat chains; as sets of lines.
local function lines_of(cmd)
  local out = {}
  for _, l in ipairs(M.lines(cmd)) do out[l] = true end
  return out
end
M.net_lines = lines_of
if not M.net_baseline then
  M.net_baseline = {
    veths = lines_of("ip -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1"),
    bridges = lines_of("ip -o link show type bridge | awk -F': ' '{print $2}' | grep '^hns'"),
    chains = lines_of("iptables -w -t nat -S | grep '^-N'"),
    -- rules the CNI plugins tagged with an HNS network's name (hns-<id>)
    hns_rules = lines_of("{ iptables -w -t nat -S; iptables -w -t filter -S; } | grep -F 'hns-'"),
    -- ifb devices (the bandwidth plugin makes one per QOS endpoint) and tc qdiscs
    ifbs = lines_of("ip -o link show type ifb | awk -F': ' '{print $2}' | cut -d@ -f1"),
    qdiscs = lines_of("tc qdisc show | grep -vE '^qdisc (noqueue|pfifo_fast|fq_codel|mq|noop) '"),
  }
end

return M
