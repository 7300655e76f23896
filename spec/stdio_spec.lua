-- hcsshim.stdio's writes to a process's stdin, on host pipes (io.popen):
-- bounded by their timeout whatever the reader does, a reader that is
-- gone is a broken pipe, and a NaN wait (which would wait for ever) is
-- refused.
local hcsshim = require "hcsshim"
local stdio = require "hcsshim.stdio"

describe("stdio.write_some", function()
  it("writes what the pipe takes and returns at its timeout when the reader never reads", function()
    local f = assert(io.popen("sleep 1", "w"))
    finally(function() f:close() end)
    local data = ("x"):rep(300000)
    local t0 = hcsshim.monotime()
    local i = assert(stdio.write_some(f, data, 1, 0.2))
    assert.is_true(i > 1 and i <= #data, tostring(i)) -- some, not all: the pipe holds 64 KiB
    local j = assert(stdio.write_some(f, data, i, 0.2)) -- full now: nothing more fits
    local took = hcsshim.monotime() - t0
    assert.equal(i, j)
    assert.is_true(took >= 0.15 and took < 2, ("took %.3f s"):format(took))
    assert.equal(#data + 1, stdio.write_some(f, data, #data + 1, 0)) -- nothing left to write
  end)

  it("says Broken pipe, 32 once the reader is gone", function()
    local f = assert(io.popen("exec true", "w"))
    finally(function() f:close() end)
    os.execute("sleep 0.2")
    local i, msg, code = stdio.write_some(f, "hello", 1, 1)
    assert.is_nil(i)
    assert.equal("Broken pipe", msg)
    assert.equal(32, code)
  end)

  it("refuses a NaN timeout and an index outside the data", function()
    local f = assert(io.popen("cat > /dev/null", "w"))
    finally(function() f:close() end)
    assert.has_error(function() stdio.write_some(f, "x", 1, 0 / 0) end)
    assert.has_error(function() stdio.write_some(f, "x", 3, 0) end)
    assert.has_error(function() stdio.write_some(f, "x", 0, 0) end)
  end)
end)

describe("stdio.read_ready", function()
  it("refuses a NaN timeout (it would wait for ever)", function()
    local f = assert(io.popen("sleep 1"))
    finally(function() f:close() end)
    assert.has_error(function() require("hcsshim.core").read_ready({ f }, 0 / 0) end)
  end)
end)
