--- HCS schema v1 documents: field names, order, types and hcsshim's
-- omit-if-empty rules (hcs-api.md section 4).  `schema.encode(name, t)`
-- checks a caller's table and returns JSON text exactly as hcsshim would
-- marshal it; keys are matched case-insensitively, unknown keys and
-- wrong types are refused with a message naming the field.
-- @module hcsshim.schema
local json = require "hcsshim.json"

local M = {}

-- Each field: { name, type, omit = omitempty? }.  Types: "string", "bool",
-- "uint16", "uint32", "uint64", "int64", "strings" (array of string),
-- "smap" (object string->string), "raw" (any JSON value), "<Schema>" or
-- "[]<Schema>" for nested documents.
local S = {}
M.schemas = S

S.Layer = { { "ID", "string" }, { "Path", "string" } }

S.MappedDir = {
  { "HostPath", "string" }, { "ContainerPath", "string" }, { "ReadOnly", "bool" },
  { "BandwidthMaximum", "uint64" }, { "IOPSMaximum", "uint64" },
  -- later hcsshim: CreateInUtilityVM always emitted, LinuxMetadata omitempty
  { "CreateInUtilityVM", "bool" }, { "LinuxMetadata", "bool", omit = true },
}

S.HvRuntime = {
  { "ImagePath", "string", omit = true }, { "SkipTemplate", "bool", omit = true },
  { "LinuxInitrdFile", "string", omit = true }, { "LinuxKernelFile", "string", omit = true },
  { "LinuxBootParameters", "string", omit = true }, { "BootSource", "string", omit = true },
  { "WritableBootSource", "bool", omit = true },
}

S.MappedVirtualDisk = {
  { "HostPath", "string", omit = true }, { "ContainerPath", "string", omit = true },
  { "CreateInUtilityVM", "bool", omit = true }, { "ReadOnly", "bool", omit = true },
  { "Cache", "string", omit = true }, { "AttachOnly", "bool", omit = true },
}

S.MappedPipe = { { "HostPath", "string" }, { "ContainerPipeName", "string" } }

S.ContainerConfig = {
  { "SystemType", "string" },
  { "Name", "string" },
  { "Owner", "string", omit = true },
  { "IsDummy", "bool", omit = true },
  { "VolumePath", "string", omit = true },
  { "IgnoreFlushesDuringBoot", "bool", omit = true },
  { "LayerFolderPath", "string", omit = true },
  { "Layers", "[]Layer", null_if_empty = true },
  { "Credentials", "string", omit = true },
  { "ProcessorCount", "uint32", omit = true },
  { "ProcessorWeight", "uint64", omit = true },
  { "ProcessorMaximum", "int64", omit = true },
  { "StorageIOPSMaximum", "uint64", omit = true },
  { "StorageBandwidthMaximum", "uint64", omit = true },
  { "StorageSandboxSize", "uint64", omit = true },
  { "MemoryMaximumInMB", "int64", omit = true },
  { "HostName", "string", omit = true },
  { "MappedDirectories", "[]MappedDir", omit = true },
  { "SandboxPath", "string", omit = true },
  { "HvPartition", "bool" },
  { "EndpointList", "strings", omit = true },
  { "HvRuntime", "HvRuntime", omit = true },
  { "Servicing", "bool", omit = true },
  { "AllowUnqualifiedDNSQuery", "bool", omit = true },
  { "DNSSearchList", "string", omit = true },
  { "NetworkSharedContainerName", "string", omit = true },
  { "ContainerType", "string", omit = true },
  { "TerminateOnLastHandleClosed", "bool", omit = true },
  { "MappedVirtualDisks", "[]MappedVirtualDisk", omit = true },
  { "MappedPipes", "[]MappedPipe", omit = true },
  { "AssignedDevices", "raw", omit = true },
  { "RegistryChanges", "raw", omit = true },
}

-- v0.5.2 marshals every ProcessConfig key (no omitempty); CommandArgs is
-- the LCOW addition and only appears when given.
S.ProcessConfig = {
  { "ApplicationName", "string" },
  { "CommandLine", "string" },
  { "User", "string" },
  { "WorkingDirectory", "string" },
  { "Environment", "smap", null_if_empty = true },
  { "EmulateConsole", "bool" },
  { "CreateStdInPipe", "bool" },
  { "CreateStdOutPipe", "bool" },
  { "CreateStdErrPipe", "bool" },
  { "ConsoleSize", "console" },
  { "CommandArgs", "strings", omit = true },
}

S.PropertyQuery = { { "PropertyTypes", "strings", omit = true } }

S.ComputeSystemQuery = {
  { "Ids", "strings", omit = true }, { "Types", "strings", omit = true },
  { "Names", "strings", omit = true }, { "Owners", "strings", omit = true },
}

S.ConsoleSizeSettings = { { "Height", "uint16" }, { "Width", "uint16" } }
S.CloseHandleSettings = { { "Handle", "string" } }
S.ProcessModifyRequest = {
  { "Operation", "string" },
  { "ConsoleSize", "ConsoleSizeSettings", omit = true },
  { "CloseHandle", "CloseHandleSettings", omit = true },
}

S.ResourceModificationRequest = {
  { "ResourceType", "string" }, { "RequestType", "string", omit = true },
  { "Settings", "raw", omit = true },
}

-- HNS (hcs-api.md section 5): HNSNetwork and HNSEndpoint with hcsshim's
-- omitempty tags (every field omitted when empty; "ID" as from v0.5.5),
-- plus the endpoint fields of later versions that Linux honours
-- (DNSDomain, SharedContainers).  Policies are "raw" here: hcsshim.hns
-- encodes each through the policy schema of its Type first.
S.MacPool = { { "StartMacAddress", "string", omit = true }, { "EndMacAddress", "string", omit = true } }
S.Subnet = {
  { "AddressPrefix", "string", omit = true }, { "GatewayAddress", "string", omit = true },
  { "Policies", "raw", omit = true },
}
S.HNSNetwork = {
  { "ID", "string", omit = true }, { "Name", "string", omit = true }, { "Type", "string", omit = true },
  { "NetworkAdapterName", "string", omit = true }, { "SourceMac", "string", omit = true },
  { "Policies", "raw", omit = true }, { "MacPools", "[]MacPool", omit = true },
  { "Subnets", "[]Subnet", omit = true }, { "DNSSuffix", "string", omit = true },
  { "DNSServerList", "string", omit = true }, { "DNSServerCompartment", "uint32", omit = true },
  { "ManagementIP", "string", omit = true }, { "AutomaticDNS", "bool", omit = true },
}
S.HNSEndpoint = {
  { "ID", "string", omit = true }, { "Name", "string", omit = true },
  { "VirtualNetwork", "string", omit = true }, { "VirtualNetworkName", "string", omit = true },
  { "Policies", "raw", omit = true }, { "MacAddress", "string", omit = true },
  { "IPAddress", "string", omit = true }, { "DNSSuffix", "string", omit = true },
  { "DNSServerList", "string", omit = true }, { "DNSDomain", "string", omit = true },
  { "GatewayAddress", "string", omit = true }, { "EnableInternalDNS", "bool", omit = true },
  { "PrefixLength", "uint8", omit = true }, { "IsRemoteEndpoint", "bool", omit = true },
  { "SharedContainers", "strings", omit = true },
}
-- Policy objects by Type (later hcsshim's hnspolicy.go tags).
S.NatPolicy = {
  { "Type", "string" }, { "Protocol", "string", omit = true }, { "InternalPort", "uint16", omit = true },
  { "ExternalPort", "uint16", omit = true }, { "ExternalPortReserved", "bool", omit = true },
}
S.QosPolicy = { { "Type", "string" }, { "MaximumOutgoingBandwidthInBytes", "uint64" } }
S.VlanPolicy = { { "Type", "string" }, { "VLAN", "uint32" } }
S.VsidPolicy = { { "Type", "string" }, { "VSID", "uint32" } }
S.PaPolicy = { { "Type", "string" }, { "PA", "string" } }
-- ACLPolicy as NatPolicy: the tags of the same later hcsshim (v0.12.9),
-- where every field but Type, Action and Direction is omitempty.
S.ACLPolicy = {
  { "Type", "string" }, { "Id", "string", omit = true }, { "Protocol", "uint16", omit = true },
  { "Protocols", "string", omit = true }, { "InternalPort", "uint16", omit = true }, { "Action", "string" },
  { "Direction", "string" }, { "LocalAddresses", "string", omit = true }, { "RemoteAddresses", "string", omit = true },
  { "LocalPorts", "string", omit = true }, { "LocalPort", "uint16", omit = true },
  { "RemotePorts", "string", omit = true }, { "RemotePort", "uint16", omit = true },
  { "RuleType", "string", omit = true }, { "Priority", "uint16", omit = true }, { "ServiceName", "string", omit = true },
}
S.OutboundNatPolicy = {
  { "Type", "string" }, { "VIP", "string", omit = true }, { "ExceptionList", "strings", omit = true },
  { "Destinations", "strings", omit = true }, { "MaxPortPoolUsage", "uint16", omit = true },
}
S.RoutePolicy = {
  { "Type", "string" }, { "DestinationPrefix", "string", omit = true }, { "NextHop", "string", omit = true },
  { "NeedEncap", "bool", omit = true },
}
--- Policy Type -> schema name.
M.policy_schemas = {
  NAT = "NatPolicy", QOS = "QosPolicy", VLAN = "VlanPolicy", VSID = "VsidPolicy", PA = "PaPolicy",
  ACL = "ACLPolicy", OutBoundNAT = "OutboundNatPolicy", ROUTE = "RoutePolicy",
}

local ranges = {
  uint8 = { 0, 0xFF },
  uint16 = { 0, 0xFFFF }, uint32 = { 0, 0xFFFFFFFF },
  uint64 = { 0, math.maxinteger }, int64 = { math.mininteger, math.maxinteger },
}

local function fail(path, msg) error({ schema_error = path .. ": " .. msg }, 0) end

local function empty(v)
  return v == nil or v == false or v == "" or v == 0 or v == json.null
    or (type(v) == "table" and next(v) == nil)
end

local encode_doc

-- An array field must be a proper sequence: a table with other keys (a
-- single MappedDir given without its enclosing array, a hole) would
-- otherwise lose them without a word.
local function check_sequence(v, path, what)
  if type(v) ~= "table" then fail(path, what .. " expected, got " .. type(v)) end
  local n, count = #v, 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      fail(path, what .. " expected (a sequence 1.." .. n .. "), found key " .. tostring(k))
    end
    count = count + 1
  end
  if count ~= n then fail(path, what .. " expected, found a hole (nil) in it") end
end

local function check_value(ftype, v, path)
  if ftype == "string" then
    if type(v) ~= "string" then fail(path, "string expected, got " .. type(v)) end
    if v:find("\0", 1, true) then fail(path, "contains a NUL byte") end
    return v
  elseif ftype == "bool" then
    if type(v) ~= "boolean" then fail(path, "boolean expected, got " .. type(v)) end
    return v
  elseif ranges[ftype] then
    local n = math.tointeger(v)
    if not n then fail(path, "integer expected, got " .. tostring(v)) end
    local r = ranges[ftype]
    if n < r[1] or n > r[2] then fail(path, ftype .. " out of range: " .. n) end
    return n
  elseif ftype == "strings" then
    check_sequence(v, path, "array of strings")
    local out = json.array()
    for i, s in ipairs(v) do out[i] = check_value("string", s, path .. "[" .. i .. "]") end
    return out
  elseif ftype == "smap" then
    if type(v) ~= "table" then fail(path, "object of strings expected") end
    local out = {}
    for k, s in pairs(v) do
      if type(k) ~= "string" then fail(path, "keys must be strings") end
      out[k] = check_value("string", s, path .. "." .. k)
    end
    return out
  elseif ftype == "console" then
    -- ConsoleSize is [Height, Width] (docker's order)
    if type(v) ~= "table" then fail(path, "{height, width} expected") end
    local h = check_value("uint32", v[1] or v.Height or v.height or 0, path .. "[1]")
    local w = check_value("uint32", v[2] or v.Width or v.width or 0, path .. "[2]")
    return json.array({ h, w })
  elseif ftype == "raw" then
    return v
  elseif ftype:sub(1, 2) == "[]" then
    check_sequence(v, path, "array of " .. ftype:sub(3))
    local out = json.array()
    for i, x in ipairs(v) do out[i] = encode_doc(ftype:sub(3), x, path .. "[" .. i .. "]") end
    return out
  elseif S[ftype] then
    return encode_doc(ftype, v, path)
  end
  error("schema: unknown type " .. ftype)
end

-- Returns a json.object with the schema's order, or raises a schema error.
function encode_doc(name, t, path)
  local fields = S[name]
  if type(t) ~= "table" then fail(path, name .. " table expected, got " .. type(t)) end
  local byname = {}
  for _, f in ipairs(fields) do byname[f[1]:lower()] = f end
  local given = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" then fail(path, "field names must be strings") end
    local f = byname[k:lower()]
    if not f then fail(path, "unknown " .. name .. " field '" .. k .. "'") end
    if given[f[1]] ~= nil then fail(path, "field '" .. f[1] .. "' given twice (case differs)") end
    given[f[1]] = v
  end
  local order, out = {}, {}
  for _, f in ipairs(fields) do
    local key, v = f[1], given[f[1]]
    order[#order + 1] = key
    if v == json.null then v = nil end
    if f.omit and empty(v) then
      -- omitted
    elseif v == nil or (f.null_if_empty and empty(v)) then
      if f.null_if_empty then
        out[key] = json.null
      elseif f[2] == "string" then
        out[key] = ""
      elseif f[2] == "bool" then
        out[key] = false
      elseif ranges[f[2]] then
        out[key] = 0
      elseif f[2] == "console" then
        out[key] = json.array({ 0, 0 })
      else
        out[key] = json.null
      end
    else
      out[key] = check_value(f[2], v, path .. "." .. key)
    end
  end
  return json.object(order, out)
end

--- Check and normalise a document.
-- @tparam string name schema name ("ContainerConfig", "ProcessConfig", ...)
-- @tparam table t the caller's table (HCS field names, any case)
-- @treturn table|nil the normalised document, or nil and a message
function M.normalize(name, t)
  local ok, r = pcall(encode_doc, name, t, name)
  if ok then return r end
  if type(r) == "table" and r.schema_error then return nil, r.schema_error end
  error(r, 0)
end

--- Check a document and encode it as hcsshim would.
-- @tparam string name schema name
-- @tparam table t the caller's table
-- @treturn string|nil JSON text, or nil and a message naming the field
function M.encode(name, t)
  local doc, err = M.normalize(name, t)
  if not doc then return nil, err end
  return json.encode(doc)
end

return M
