-- An interactive process in a running container: start a container that
-- waits, then talk to a shell in it line by line over its stdin/stdout.
--
--   lua5.4 examples/interactive_exec.lua rootfs.tar
local hcsshim = require "hcsshim"
local rootfs = assert(arg[1], "usage: interactive_exec.lua ROOTFS.tar")

local box = assert(hcsshim.run{ rootfs = rootfs, command = "sleep 600", detach = true })
local ok, err = pcall(function()
  local p <close> = assert(box.container:create_process{ CommandLine = "sh",
    CreateStdInPipe = true, CreateStdOutPipe = true })
  local stdin, stdout = p:stdio()
  for _, question in ipairs({ "echo $((6 * 7))", "hostname", "id -u" }) do
    stdin:write(question, "\n")
    stdin:flush()                            -- the shell sees it only after a flush
    print(question, "->", stdout:read("l"))  -- one line back per command
  end
  assert(p:close_stdin())                    -- end of input: the shell exits
  assert(p:wait(10))
  print("shell exit code", p:exit_code())
end)
box.stop()                                   -- terminate and remove everything
assert(ok, err)
