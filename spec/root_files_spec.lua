-- Files the host reads from inside a container's root (issue 10, item 9):
-- /etc/passwd, /etc/group (create_process) and /etc/resolv.conf
-- (create_container) are opened beneath the root, regular files only, of
-- bounded size; anything else is refused with an error naming the file,
-- and nothing blocks or allocates without bound.
local hcsshim = require "hcsshim"
local env = require "support.env"

-- What the container's root holds at `path` becomes `how` (a shell command
-- run with $f set to the file on the host).
local function plant(root, path, how)
  env.must(("f=%s%s; rm -f \"$f\"; %s"):format(root, path, how))
end

local plants = {
  { "a FIFO", "mkfifo \"$f\"", "not a regular file" },
  { "a symlink to a device node", "mknod \"${f%/etc/*}/dev/zero\" c 1 5; ln -s /dev/zero \"$f\"",
    "not a regular file" },
  -- resolved inside the root: what the root holds at /dev/zero decides
  { "a symlink out of the root to a device", "ln -s ../../../../../../../../dev/zero \"$f\"", nil },
  { "a directory", "mkdir \"$f\"", "not a regular file" },
  { "a file of 5 MiB", "head -c 5242880 /dev/zero | tr '\\0' x > \"$f\"", "file too large" },
}

describe("files read from a container's root", function()
  for _, file in ipairs({ "/etc/passwd", "/etc/group" }) do
    for _, p in ipairs(plants) do
      it(("%s as %s: create_process does not block and says why"):format(file, p[1]), function()
        local c, cleanup, id = env.container()
        local ok, err = pcall(function()
          assert(c:start())
          local root = assert(hcsshim.get_layer_mount_path(env.home, id .. "-sb"))
          plant(root, file, p[2])
          local t0 = os.time()
          local proc, perr = c:create_process({ CommandLine = "true", User = "app" })
          assert.is_true(os.time() - t0 < 20)
          if p[3] then
            assert.is_nil(proc)
            assert.matches(file, tostring(perr), 1, true)
            assert.matches(p[3], tostring(perr), 1, true)
          elseif proc then -- resolved inside the root: no such file there
            proc:close()
          else -- no such file there (no user app), or not a regular one
            local text = tostring(perr)
            local why = text:find("`app`", 1, true) or text:find(file .. ": not a regular file", 1, true)
            assert.is_not_nil(why, text)
          end
        end)
        cleanup()
        assert(ok, err)
      end)
    end
  end

  for _, p in ipairs(plants) do
    it(("/etc/resolv.conf as %s: create_container refuses it naming the file"):format(p[1]), function()
      local id = env.unique("rf")
      local mount, undo = env.sandbox(id .. "-sb")
      plant(mount, "/etc/resolv.conf", "mkdir -p \"$(dirname \"$f\")\"; " .. p[2])
      local c, err = hcsshim.create_container(id, {
        Name = id, VolumePath = mount, LayerFolderPath = env.home .. "/" .. id .. "-sb",
        Layers = { { ID = hcsshim.new_guid(), Path = env.base_layer().path } } })
      if c then
        c:terminate()
        c:wait(30)
        c:close()
        env.forget(id)
      end
      undo()
      if p[3] then
        assert.is_nil(c)
        assert.matches("/etc/resolv.conf", tostring(err), 1, true)
        assert.matches(p[3], tostring(err), 1, true)
      else
        assert.is_not_nil(c, tostring(err))
      end
    end)
  end
end)
