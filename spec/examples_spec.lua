-- Every script in examples/ runs here, against the busybox root
-- filesystem; exit code 77 means "skipped" (a part that is not there yet)
-- and becomes a pending test with the script's reason.  The README's
-- example runs twice in a row.
local env = require "support.env"

local lua = env.lua -- the suite's build, sanitizer preload included

local function run_script(path, ...)
  local args = {}
  for i, a in ipairs({ ... }) do args[i] = "'" .. a .. "'" end
  -- image_run keeps its image store (<data root>/layers/.images) in a
  -- data root of its own, removed with the specs' scratch files
  local prefix = path:find("image_run", 1, true) and ("HCSSHIM_DATA_ROOT=" .. env.tmpdir() .. " ") or ""
  return env.sh(("%s%s %s %s"):format(prefix, lua, path, table.concat(args, " ")))
end

-- The argument of an example: the busybox root filesystem, or for
-- image_run an oci-archive of it (scripts/make-test-images.sh, as the
-- image specs make it).
local function argument(name)
  if name ~= "image_run" then return env.busybox_tar() end
  local dir = env.must("sh scripts/make-test-images.sh " .. env.busybox_tar()):match("([^\n]+)%s*$")
  return dir .. "/base.oci.tar"
end

-- `make sanitize` reruns the suite for the C core; the examples (whole
-- image imports under ASan take minutes) run in `make test` only.
local sanitized = os.getenv("HCSSHIM_TEST_SANITIZED") == "1"

local function example(name, expect)
  it(name, function()
    if sanitized then
      pending("examples run in make test, not under the sanitizers")
      return
    end
    local out, _, code = run_script("examples/" .. name .. ".lua", argument(name))
    if code == 77 then
      pending(out:gsub("%s+$", ""))
      return
    end
    assert.equal(0, code, out)
    assert.matches(expect, out)
  end)
end

describe("examples", function()
  example("run_capture", "hello example from /tmp")
  example("interactive_exec", "echo %$%(%(6 %* 7%)%)\t%->\t42")
  example("network_ports", "GET / %-> hello from the container")
  example("image_run", "exit code")
  example("commit", "hello from the first container\n.*No such file")
  example("event_loop_cqueues", "3 containers driven together")
  example("event_loop_luv", "3 containers driven together")

  it("the README's example runs twice in a row", function()
    if sanitized then
      pending("examples run in make test, not under the sanitizers")
      return
    end
    local f = assert(io.open("README.md"))
    local text = f:read("a")
    f:close()
    local code = assert(text:match("## Example\n.-```lua\n(.-)```"), "no example in README.md")
    local path = env.tmpdir() .. "/readme_example.lua"
    f = assert(io.open(path, "w"))
    f:write(code)
    f:close()
    for _ = 1, 2 do
      local out, _, rc = run_script(path, env.busybox_tar())
      assert.equal(0, rc, out)
      assert.matches("busybox%-test", out)
    end
  end)
end)
