local hcsshim = require "hcsshim"
local errors = hcsshim.error

local function e(hr) return errors.new({ hresult = hr }) end

describe("error predicates", function()
  it("follow the HRESULT table", function()
    local cases = {
      -- hresult, not_exist, already_stopped, pending
      { 0x8007007F, false, false, false },
      { 0xC0370110, false, true, false },
      { 0x8037011F, false, true, false },
      { 0x80070490, true, true, false },
      { 0xC037010E, true, false, false },
      { 0xC0370103, false, false, true },
    }
    for _, c in ipairs(cases) do
      local err = e(c[1])
      assert.equal(c[2], hcsshim.is_not_exist(err), string.format("not_exist 0x%x", c[1]))
      assert.equal(c[3], hcsshim.is_already_stopped(err), string.format("already_stopped 0x%x", c[1]))
      assert.equal(c[4], hcsshim.is_pending(err), string.format("pending 0x%x", c[1]))
    end
  end)

  it("accept signed HRESULTs", function()
    assert.is_true(hcsshim.is_not_exist(e(0xC037010E - 0x100000000)))
    assert.equal(0xC037010E, e(-1070137074).hresult)
  end)

  it("walk the cause chain", function()
    local inner = e(0xC0370105)
    local outer = errors.new({ kind = "plain", message = "outer", cause = inner })
    assert.is_true(hcsshim.is_operation_invalid_state(outer))
    assert.is_false(hcsshim.is_not_exist(outer))
  end)

  it("cover the other predicates", function()
    assert.is_true(hcsshim.is_timeout(errors.new({ name = "ErrTimeout" })))
    assert.is_true(hcsshim.is_already_closed(errors.new({ name = "ErrAlreadyClosed" })))
    assert.is_true(hcsshim.is_not_supported(e(0x80070032)))
    assert.is_true(hcsshim.is_not_supported(e(0xC037010D)))
    assert.is_true(hcsshim.is_access_is_denied(e(0x80070005)))
    assert.is_false(hcsshim.is_timeout(e(0x80070005)))
    assert.is_false(hcsshim.is_not_exist(nil))
    assert.is_false(hcsshim.is_not_exist("a string"))
  end)
end)

-- Messages name the service: hcsshim's words on Windows (checked by the
-- Wine suite), the Linux host compute service here.
local linux = require("hcsshim.core").platform == "linux"
local FAILURE = linux and "failure in the Linux host compute service" or "failure in a Windows system call"
local FAILED_IN = linux and "failed in the Linux host compute service" or "failed in Win32"

describe("error strings", function()
  it("format container errors as hcsshim does", function()
    local err = errors.from_core({ kind = "container", op = "Start", id = "c1" }, 0xC0370105, nil)
    assert.equal("container c1 encountered an error during Start: " .. FAILURE .. ": "
      .. "The requested virtual machine or container operation is not valid in the current state. (0xc0370105)",
      tostring(err))
  end)

  it("keep the configuration in err.extra, in the message only on Windows and for containers", function()
    local c = errors.from_core({ kind = "container", op = "CreateContainer", id = "c1", extra = "{}" }, 0x80070057)
    assert.equal("{}", c.extra)
    if linux then
      assert.is_nil(tostring(c):find("extra info", 1, true))
    else
      assert.matches(" extra info: {}$", tostring(c))
    end
    local p = errors.from_core({ kind = "process", op = "Kill", id = "c1", pid = 7, extra = "{}" }, 0x8037011F)
    assert.equal("process 7 in container c1 encountered an error during Kill: " .. FAILURE .. ": "
      .. "The process has already exited. (0x8037011f)", tostring(p))
  end)

  it("use win32FromHresult for the code", function()
    local err = errors.from_core({ kind = "hcs", op = "hcsshim::ActivateLayer", rest = "id=abc flavour=1" }, 0x80070005)
    assert.equal("hcsshim::ActivateLayer " .. FAILED_IN .. ": Access is denied. (0x5) id=abc flavour=1", tostring(err))
    assert.equal(0x490, errors.win32_from_hresult(0x80070490))
    assert.equal(0xC0370103, errors.win32_from_hresult(0xC0370103))
  end)

  it("print string errors plainly inside their context", function()
    local err = errors.new({ kind = "container", op = "WaitTimeout", id = "c9", name = "ErrTimeout" })
    assert.equal("container c9 encountered an error during WaitTimeout: hcsshim: timeout waiting for notification",
      tostring(err))
  end)

  it("carry the service's message and ErrorEvents", function()
    local result = '{"Error":-2147023728,"ErrorMessage":"no such thing",'
      .. '"ErrorEvents":[{"Message":"boom","Provider":"p1","EventId":12}]}'
    local err = errors.from_core({ kind = "container", op = "OpenContainer", id = "x" }, 0x80070490, result)
    assert.equal(1, #err.events)
    assert.equal("boom", err.events[1].Message)
    local s = tostring(err)
    assert.matches("no such thing", s, 1, true)
    assert.matches("\n[Event Detail: boom Provider: p1 EventID: 12]", s, 1, true)
  end)

  it("never say 'failed failed'", function()
    for code in pairs(errors.codes) do
      for _, kind in ipairs({ "container", "process", "hcs", "hns" }) do
        local s = tostring(errors.from_core({ kind = kind, op = "hcsshim::X failed", id = "i", pid = 1 }, code))
        assert.is_nil(s:find("failed failed", 1, true), s)
      end
    end
  end)

  it("decode the real signed-HRESULT result document", function()
    local f = assert(io.open("spec/fixtures/real-json/14-result-error-signed-hresult.json"))
    local text = f:read("a")
    f:close()
    local msg, events, code = errors.parse_result(text)
    assert.equal(0x80070490, errors.u32(code))
    local err = errors.from_core({ kind = "container", op = "Start", id = "x" }, code, text)
    assert.is_true(hcsshim.is_not_exist(err))
    assert.is_true(hcsshim.is_already_stopped(err))
    assert.same({}, events)
    assert.equal("Element not found.", msg)
  end)
end)

describe("process status decoding", function()
  local json = hcsshim.json
  it("gives the exit code of a normal exit", function()
    local status = json.decode('{"ProcessId":42,"Exited":true,"ExitCode":3,"LastWaitResult":0}')
    assert.equal(3, hcsshim.decode_process_status(status))
  end)

  it("turns a failed wait into an error, never exit code 0", function()
    local code, err = hcsshim.decode_process_status(
      json.decode('{"ProcessId":42,"Exited":true,"ExitCode":0,"LastWaitResult":-2147023436}'))
    assert.is_nil(code)
    assert.equal(0x800705B4, err.hresult)
    assert.equal("ERROR_TIMEOUT", err.name)
    -- hcsshim's IsTimeout means its own wait timeout, not this Win32 code
    assert.is_false(hcsshim.is_timeout(err))
  end)

  it("refuses a process that has not exited", function()
    local code, err = hcsshim.decode_process_status(json.decode('{"ProcessId":42,"Exited":false,"ExitCode":0}'))
    assert.is_nil(code)
    assert.equal("ErrInvalidProcessState", err.name)
  end)

  it("names the signal of a death by signal", function()
    local status = json.decode('{"ProcessId":1,"Exited":true,"ExitCode":137,"Signal":9,"LastWaitResult":0}')
    local code, sig = hcsshim.decode_process_status(status)
    assert.equal(137, code)
    assert.equal("SIGKILL", sig)
  end)
end)
