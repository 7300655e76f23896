local hcsshim = require "hcsshim"
local schema, json = hcsshim.schema, hcsshim.json

describe("ContainerConfig encoding", function()
  it("follows hcsshim v0.5.2's field order and omit-if-empty rules", function()
    local text = assert(schema.encode("ContainerConfig", { SystemType = "Container", Name = "c" }))
    assert.equal('{"SystemType":"Container","Name":"c","Owner":"","IsDummy":false,"IgnoreFlushesDuringBoot":false,'
      .. '"Layers":null,"HostName":"","MappedDirectories":null,"HvPartition":false,"EndpointList":null,'
      .. '"Servicing":false,"AllowUnqualifiedDNSQuery":false}', text)
  end)

  it("matches keys case-insensitively and keeps HCS's spelling", function()
    local text = assert(schema.encode("ContainerConfig", {
      systemtype = "Container", name = "n", HOSTNAME = "h", memorymaximuminmb = 64,
      mappeddirectories = { { hostpath = "/a", containerpath = "/b", readonly = true } },
      Layers = { { ID = "d422512d-2bf2-4752-809d-7b82b5fcb1b4", Path = "/l" } } }))
    assert.equal('{"SystemType":"Container","Name":"n","Owner":"","IsDummy":false,'
      .. '"IgnoreFlushesDuringBoot":false,'
      .. '"Layers":[{"ID":"d422512d-2bf2-4752-809d-7b82b5fcb1b4","Path":"/l"}],'
      .. '"MemoryMaximumInMB":64,"HostName":"h","MappedDirectories":[{"HostPath":"/a",'
      .. '"ContainerPath":"/b","ReadOnly":true,'
      .. '"BandwidthMaximum":0,"IOPSMaximum":0}],"HvPartition":false,"EndpointList":null,'
      .. '"Servicing":false,"AllowUnqualifiedDNSQuery":false}', text)
  end)

  it("refuses unknown fields, wrong types and out-of-range numbers, naming them", function()
    local v, err = schema.encode("ContainerConfig", { Name = "x", Bogus = 1 })
    assert.is_nil(v)
    assert.matches("unknown ContainerConfig field 'Bogus'", err, 1, true)
    v, err = schema.encode("ContainerConfig", { Name = 5 })
    assert.is_nil(v)
    assert.matches("ContainerConfig.Name: string expected", err, 1, true)
    v, err = schema.encode("ContainerConfig", { ProcessorCount = -1 })
    assert.is_nil(v)
    assert.matches("ContainerConfig.ProcessorCount: uint32 out of range", err, 1, true)
    v, err = schema.encode("ContainerConfig", { MappedDirectories = { { HostPath = "/a", Nope = true } } })
    assert.is_nil(v)
    assert.matches("MappedDirectories[1]: unknown MappedDir field 'Nope'", err, 1, true)
    v, err = schema.encode("ContainerConfig", { Name = "a", name = "b" })
    assert.is_nil(v)
    assert.matches("given twice", err, 1, true)
    -- arrays must be sequences: nothing is dropped on the way
    v, err = schema.encode("ContainerConfig", { MappedDirectories = { HostPath = "/a", ContainerPath = "/b" } })
    assert.is_nil(v)
    assert.matches("MappedDirectories: array of MappedDir expected", err, 1, true)
    v, err = schema.encode("ContainerConfig", { EndpointList = { x = "ep" } })
    assert.is_nil(v)
    assert.matches("found key 'x'", err, 1, true)
    v, err = schema.encode("ProcessConfig", { CommandArgs = { "a", nil, "c" } })
    assert.is_nil(v)
    assert.matches("CommandArgs: array of strings expected (a sequence, keys 1..n), found a hole", err, 1, true)
  end)

  it("round-trips the real Windows configs", function()
    local names = { "02-config-process-isolated-isdummy-servicing.json", "04-config-k8s-pod-netshared.json" }
    for _, name in ipairs(names) do
      local f = assert(io.open("spec/fixtures/real-json/" .. name))
      local doc = json.decode(f:read("a"))
      f:close()
      local text = assert(schema.encode("ContainerConfig", doc))
      local back = json.decode(text)
      assert.equal(doc.Name, back.Name)
      assert.equal(#doc.Layers, #back.Layers)
      assert.equal(doc.HostName, back.HostName)
    end
  end)
end)

describe("ProcessConfig encoding", function()
  it("always emits every v0.5.2 key, and User only when given", function()
    local text = assert(schema.encode("ProcessConfig", { CommandLine = "ls" }))
    assert.equal('{"ApplicationName":"","CommandLine":"ls","WorkingDirectory":"","Environment":null,'
      .. '"EmulateConsole":false,"CreateStdInPipe":false,"CreateStdOutPipe":false,"CreateStdErrPipe":false,'
      .. '"ConsoleSize":[0,0]}', text)
  end)

  it("writes ConsoleSize as [height, width] and CommandArgs only when given", function()
    local text = assert(schema.encode("ProcessConfig", { EmulateConsole = true, ConsoleSize = { 24, 80 },
      CommandArgs = { "sh", "-c", "x" }, Environment = { A = "1" } }))
    assert.matches('"Environment":{"A":"1"}', text, 1, true)
    assert.matches('"CommandLine":"","CommandArgs":["sh","-c","x"],"WorkingDirectory"', text, 1, true)
    assert.matches('"ConsoleSize":[24,80]}', text, 1, true)
    text = assert(schema.encode("ProcessConfig", { ConsoleSize = { Height = 30, Width = 100 } }))
    assert.matches('"ConsoleSize":[30,100]', text, 1, true)
  end)

  it("decodes the real Windows process config", function()
    local f = assert(io.open("spec/fixtures/real-json/10-process-user-network-service.json"))
    local doc = json.decode(f:read("a"))
    f:close()
    local back = json.decode(assert(schema.encode("ProcessConfig", doc)))
    assert.equal("NT AUTHORITY\\NETWORK SERVICE", back.User)
    assert.same({ 0, 0 }, back.ConsoleSize)
  end)
end)
