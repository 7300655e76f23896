--- HCS and HNS schema v1 documents: field names, order, types and
-- hcsshim's omit-if-empty rules (hcs-api.md sections 4 and 5).
-- `schema.encode(name, t)` checks a caller's table and returns JSON text
-- byte for byte as hcsshim marshals it: keys are matched
-- case-insensitively, unknown keys and wrong types are refused with a
-- message naming the field.
--
-- Which hcsshim: for the types hcsshim v0.5.2 has, the fields, order and
-- tags of v0.5.2 (ContainerConfig, MappedDir, HvRuntime, ProcessConfig,
-- HNSNetwork, HNSEndpoint and the NAT, QOS, VLAN, VSID and PA policies).
-- Fields later versions added (`User`, `CommandArgs`, `CreateInUtilityVM`,
-- `OCISpecification`, `DNSSearchList`, ...) are accepted and written only
-- when the caller sets them, where the first version that has them put
-- them.  Types v0.5.2 lacks (MappedVirtualDisk, MappedPipe, the ACL,
-- OutBoundNAT, ROUTE and ELB policies, the endpoint attach request)
-- follow the first version that has them.  tools/golden (Go) writes the
-- reference bytes the specs compare against.
--
-- Values, as Go's types take them:
--
--  * integer fields take a Lua number with an integral value in the
--    type's range, nothing else (no strings such as "256");
--  * uint64 fields also take values from 2^63 to 2^64-1, which a Lua
--    integer cannot hold, as `json.bignum("18446744073709551615")` or as
--    the digit string "18446744073709551615";
--  * list fields take a sequence (keys 1..n, no holes); an absent list is
--    Go's nil slice (`null`, or left out when omitempty) and an empty
--    table is an empty slice (`[]`, or left out when omitempty);
--  * GUID fields (layer IDs, endpoint and network ids) are parsed and
--    written in canonical lower-case form, or refused;
--  * strings must be valid UTF-8 without NUL bytes.
-- @module hcsshim.schema
local json = require "hcsshim.json"
local id = require "hcsshim.id"

local M = {}

-- Each field: { name, type, omit = omitempty?, ptr = Go pointer (omitted
-- only when absent) }.  Types: "string", "guid" (a GUID string), "bool",
-- "uint8", "uint16", "uint32", "uint64", "uint" (Go's uint: 64 bits),
-- "int64", "bytes" (Go []byte: base64), "strings", "guids" (arrays),
-- "smap" (object string->string), "console" ([2]uint), "raw" (any JSON
-- value), "<Schema>" or "[]<Schema>" for nested documents.
local S = {}
M.schemas = S

S.Layer = { { "ID", "guid" }, { "Path", "string" } }

S.MappedDir = {
  { "HostPath", "string" }, { "ContainerPath", "string" }, { "ReadOnly", "bool" },
  { "BandwidthMaximum", "uint64" }, { "IOPSMaximum", "uint64" },
  -- v0.6.4 / v0.6.12
  { "CreateInUtilityVM", "bool", omit = true }, { "LinuxMetadata", "bool", omit = true },
}

S.HvRuntime = {
  { "ImagePath", "string", omit = true }, { "SkipTemplate", "bool", omit = true },
  -- v0.5.24, v0.5.28, v0.6.2
  { "LinuxInitrdFile", "string", omit = true }, { "LinuxKernelFile", "string", omit = true },
  { "LinuxBootParameters", "string", omit = true }, { "BootSource", "string", omit = true },
  { "WritableBootSource", "bool", omit = true },
}

-- v0.5.21 (AttachOnly: v0.5.28)
S.MappedVirtualDisk = {
  { "HostPath", "string", omit = true }, { "ContainerPath", "string" },
  { "CreateInUtilityVM", "bool", omit = true }, { "ReadOnly", "bool", omit = true },
  { "Cache", "string", omit = true }, { "AttachOnly", "bool", omit = true },
}

-- v0.5.26
S.MappedPipe = { { "HostPath", "string" }, { "ContainerPipeName", "string" } }

-- v0.6.12 / v0.6.13
S.AssignedDevice = { { "InterfaceClassGuid", "string", omit = true } }
S.RegistryKey = { { "Hive", "string" }, { "Name", "string" }, { "Volatile", "bool", omit = true } }
S.RegistryValue = {
  { "Key", "RegistryKey" }, { "Name", "string" }, { "Type", "string" },
  { "StringValue", "string", omit = true }, { "BinaryValue", "bytes", omit = true },
  { "DWordValue", "uint32", omit = true, ptr = true }, { "QWordValue", "uint64", omit = true, ptr = true },
  { "CustomType", "uint32", omit = true, ptr = true },
}
S.RegistryChanges = {
  { "AddValues", "[]RegistryValue", omit = true }, { "DeleteKeys", "[]RegistryValue", omit = true },
}

S.ContainerConfig = {
  { "SystemType", "string" },
  { "Name", "string" },
  { "Owner", "string" },
  { "IsDummy", "bool" },
  { "VolumePath", "string", omit = true },
  { "IgnoreFlushesDuringBoot", "bool" },
  { "LayerFolderPath", "string", omit = true },
  { "Layers", "[]Layer" },
  { "Credentials", "string", omit = true },
  { "ProcessorCount", "uint32", omit = true },
  { "ProcessorWeight", "uint64", omit = true },
  { "ProcessorMaximum", "int64", omit = true },
  { "StorageIOPSMaximum", "uint64", omit = true },
  { "StorageBandwidthMaximum", "uint64", omit = true },
  { "StorageSandboxSize", "uint64", omit = true },
  { "MemoryMaximumInMB", "int64", omit = true },
  { "HostName", "string" },
  { "MappedDirectories", "[]MappedDir" },
  { "MappedPipes", "[]MappedPipe", omit = true },                 -- v0.5.26
  { "SandboxPath", "string", omit = true },
  { "HvPartition", "bool" },
  { "EndpointList", "guids" },
  { "NetworkSharedContainerName", "string", omit = true },        -- v0.5.11
  { "HvRuntime", "HvRuntime", omit = true, ptr = true },
  { "Servicing", "bool" },
  { "AllowUnqualifiedDNSQuery", "bool" },
  { "DNSSearchList", "string", omit = true },                     -- v0.5.10
  { "ContainerType", "string", omit = true },                     -- v0.5.19
  { "TerminateOnLastHandleClosed", "bool", omit = true },         -- v0.5.19
  { "MappedVirtualDisks", "[]MappedVirtualDisk", omit = true },   -- v0.5.21
  { "AssignedDevices", "[]AssignedDevice", omit = true },         -- v0.6.12
  { "RegistryChanges", "RegistryChanges", omit = true, ptr = true }, -- v0.6.13
}

-- v0.5.2 marshals every ProcessConfig key (no omitempty); User (v0.5.3),
-- CommandArgs (v0.5.25), CreateInUtilityVm and OCISpecification (v0.5.19)
-- appear only when given.
S.ProcessConfig = {
  { "ApplicationName", "string" },
  { "CommandLine", "string" },
  { "CommandArgs", "strings", omit = true },
  { "User", "string", omit = true },
  { "WorkingDirectory", "string" },
  { "Environment", "smap" },
  { "EmulateConsole", "bool" },
  { "CreateStdInPipe", "bool" },
  { "CreateStdOutPipe", "bool" },
  { "CreateStdErrPipe", "bool" },
  { "ConsoleSize", "console" },
  { "CreateInUtilityVm", "bool", omit = true },
  { "OCISpecification", "raw", omit = true, ptr = true },
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
  { "ConsoleSize", "ConsoleSizeSettings", omit = true, ptr = true },
  { "CloseHandle", "CloseHandleSettings", omit = true, ptr = true },
}

-- v0.5.15 (Settings any JSON value as from v0.5.28)
S.ResourceModificationRequest = {
  { "ResourceType", "string" }, { "Settings", "raw", ptr = true }, { "RequestType", "string", omit = true },
}

-- HNS (hcs-api.md section 5): HNSNetwork and HNSEndpoint as v0.5.2 tags
-- them (every field omitempty, the id under "Id"), plus the fields of later
-- versions that Linux honours (AutomaticDNS v0.5.27, DNSDomain v0.9.0,
-- SharedContainers v0.8.7).  Policies are lists of objects: hcsshim.hns
-- encodes each through the policy schema of its Type first.  Decoded
-- documents name the id `ID` (`decode_as`).
S.MacPool = { { "StartMacAddress", "string", omit = true }, { "EndMacAddress", "string", omit = true } }
S.Subnet = {
  { "AddressPrefix", "string", omit = true }, { "GatewayAddress", "string", omit = true },
  { "Policies", "policies", omit = true },
}
S.HNSNetwork = {
  { "Id", "guid", omit = true, decode_as = "ID" }, { "Name", "string", omit = true }, { "Type", "string", omit = true },
  { "NetworkAdapterName", "string", omit = true }, { "SourceMac", "string", omit = true },
  { "Policies", "policies", omit = true }, { "MacPools", "[]MacPool", omit = true },
  { "Subnets", "[]Subnet", omit = true }, { "DNSSuffix", "string", omit = true },
  { "DNSServerList", "string", omit = true }, { "DNSServerCompartment", "uint32", omit = true },
  { "ManagementIP", "string", omit = true }, { "AutomaticDNS", "bool", omit = true },
}
S.HNSEndpoint = {
  { "Id", "guid", omit = true, decode_as = "ID" }, { "Name", "string", omit = true },
  { "VirtualNetwork", "guid", omit = true }, { "VirtualNetworkName", "string", omit = true },
  { "Policies", "policies", omit = true }, { "MacAddress", "string", omit = true },
  { "IPAddress", "string", omit = true }, { "DNSSuffix", "string", omit = true },
  { "DNSServerList", "string", omit = true }, { "DNSDomain", "string", omit = true },
  { "GatewayAddress", "string", omit = true }, { "EnableInternalDNS", "bool", omit = true },
  { "PrefixLength", "uint8", omit = true }, { "IsRemoteEndpoint", "bool", omit = true },
  { "SharedContainers", "strings", omit = true },
}
-- Policy objects by Type.  v0.5.2's five have no omitempty at all;
-- NAT's ExternalPortReserved is v0.9.3.
S.NatPolicy = {
  { "Type", "string" }, { "Protocol", "string" }, { "InternalPort", "uint16" },
  { "ExternalPort", "uint16" }, { "ExternalPortReserved", "bool", omit = true },
}
S.QosPolicy = { { "Type", "string" }, { "MaximumOutgoingBandwidthInBytes", "uint64" } }
S.VlanPolicy = { { "Type", "string" }, { "VLAN", "uint" } }
S.VsidPolicy = { { "Type", "string" }, { "VSID", "uint" } }
S.PaPolicy = { { "Type", "string" }, { "PA", "string" } }
-- v0.5.27 (hnspolicy.go): ACLPolicy with the singular LocalAddress and
-- RemoteAddress; LocalAddresses/RemoteAddresses (v0.6.7) and Id,
-- Protocols, LocalPorts, RemotePorts (v0.7.0) only when given.
S.ACLPolicy = {
  { "Type", "string" }, { "Id", "string", omit = true }, { "Protocol", "uint16" },
  { "Protocols", "string", omit = true }, { "InternalPort", "uint16" }, { "Action", "string" },
  { "Direction", "string" }, { "LocalAddress", "string" }, { "RemoteAddress", "string" },
  { "LocalAddresses", "string", omit = true }, { "RemoteAddresses", "string", omit = true },
  { "LocalPorts", "string", omit = true }, { "LocalPort", "uint16" },
  { "RemotePorts", "string", omit = true }, { "RemotePort", "uint16" },
  { "RuleType", "string", omit = true }, { "Priority", "uint16" }, { "ServiceName", "string" },
}
-- v0.5.27; Destinations v0.8.7, MaxPortPoolUsage v0.8.26
S.OutboundNatPolicy = {
  { "Type", "string" }, { "VIP", "string", omit = true }, { "ExceptionList", "strings", omit = true },
  { "Destinations", "strings", omit = true }, { "MaxPortPoolUsage", "uint16", omit = true },
}
-- v0.5.27
S.RoutePolicy = {
  { "Type", "string" }, { "DestinationPrefix", "string", omit = true }, { "NextHop", "string", omit = true },
  { "NeedEncap", "bool", omit = true },
}
-- v0.5.27 (LBPolicy embedded); IsDSR v0.7.13
S.ELBPolicy = {
  { "Type", "string" }, { "Protocol", "uint16", omit = true }, { "InternalPort", "uint16" },
  { "ExternalPort", "uint16" }, { "SourceVIP", "string", omit = true }, { "VIPs", "strings", omit = true },
  { "ILB", "bool", omit = true }, { "IsDSR", "bool", omit = true },
}
-- v0.6.2: the body of POST /endpoints/<id>/attach and .../detach
S.EndpointAttachDetachRequest = {
  { "ContainerId", "string", omit = true }, { "SystemType", "string" },
  { "CompartmentId", "uint16", omit = true }, { "VirtualNicName", "string", omit = true },
}
--- Policy Type -> schema name.
M.policy_schemas = {
  NAT = "NatPolicy", QOS = "QosPolicy", VLAN = "VlanPolicy", VSID = "VsidPolicy", PA = "PaPolicy",
  ACL = "ACLPolicy", OutBoundNAT = "OutboundNatPolicy", ROUTE = "RoutePolicy", ELB = "ELBPolicy",
}

local ranges = {
  uint8 = { 0, 0xFF }, uint16 = { 0, 0xFFFF }, uint32 = { 0, 0xFFFFFFFF },
  uint64 = { 0, math.maxinteger }, uint = { 0, math.maxinteger },
  int64 = { math.mininteger, math.maxinteger },
}
local UINT64_MAX = "18446744073709551615"

local function fail(path, msg) error({ schema_error = path .. ": " .. msg }, 0) end

local function describe(v)
  if getmetatable(v) == json.bignum_mt then return "json.bignum " .. v.digits end
  if type(v) == "string" then return "string '" .. v .. "'" end
  if type(v) == "number" then return tostring(v) end
  return type(v)
end

-- Go's omitempty: false, 0, "", and empty lists and maps; a pointer field
-- (`ptr`) only when absent.
local function empty(f, v)
  if v == nil then return true end
  if f.ptr then return false end
  if v == false or v == "" or v == 0 then return true end
  return type(v) == "table" and getmetatable(v) ~= json.bignum_mt and next(v) == nil
end

local encode_doc

local function check_sequence(v, path, what)
  if type(v) ~= "table" or getmetatable(v) == json.bignum_mt then fail(path, what .. " expected, got " .. type(v)) end
  local ok, why = json.is_sequence(v)
  if not ok then fail(path, what .. " expected (a sequence, keys 1..n), " .. why) end
end

-- uint64 values above math.maxinteger: decimal text, kept as a bignum
local function big_uint64(digits, path, v)
  if not digits:match("^[1-9]%d*$") or #digits > #UINT64_MAX or (#digits == #UINT64_MAX and digits > UINT64_MAX) then
    fail(path, "uint64 out of range: " .. describe(v))
  end
  local n = math.tointeger(tonumber(digits))
  if n and tostring(n) == digits then return n end
  return json.bignum(digits)
end

local function check_integer(ftype, v, path)
  local r = ranges[ftype]
  local big = ftype == "uint64" or ftype == "uint"
  if big and getmetatable(v) == json.bignum_mt then return big_uint64(v.digits, path, v) end
  if big and type(v) == "string" and v:match("^%d+$") and #v >= 19 then
    local x = big_uint64(v, path, v)
    if math.type(x) ~= "integer" then return x end
  end
  if type(v) ~= "number" then fail(path, "integer expected, got " .. describe(v)) end
  local n = math.tointeger(v)
  if not n then
    if v ~= v or v ~= math.floor(v) or v == math.huge or v == -math.huge then
      fail(path, "integer expected, got " .. tostring(v))
    end
    if big and v >= 2^63 and v < 2^64 then return json.bignum(string.format("%.0f", v)) end
    fail(path, ftype .. " out of range: " .. tostring(v))
  end
  if n < r[1] or n > r[2] then fail(path, ftype .. " out of range: " .. n) end
  return n
end

local function check_string(v, path)
  if type(v) ~= "string" then fail(path, "string expected, got " .. describe(v)) end
  if v:find("\0", 1, true) then fail(path, "contains a NUL byte") end
  if not utf8.len(v) then fail(path, "is not valid UTF-8") end
  return v
end

-- "" is Go's zero value of the field (left out where omitempty)
local function check_guid(v, path)
  check_string(v, path)
  if v == "" then return v end
  local g, err = id.guid(v)
  if not g then fail(path, err) end
  return g
end
M.check_guid = check_guid

local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
-- Go marshals []byte as standard base64 with padding
local function base64(s)
  return (s:gsub("..?.?", function(c)
    local a, b, d = c:byte(1, 3)
    local n = (a << 16) | ((b or 0) << 8) | (d or 0)
    local out = {}
    for i = 1, 4 do
      local k = (n >> (6 * (4 - i))) & 63
      out[i] = b64:sub(k + 1, k + 1)
    end
    if not b then out[3], out[4] = "=", "=" elseif not d then out[4] = "=" end
    return table.concat(out)
  end))
end

local function list(v, path, what, each)
  check_sequence(v, path, what)
  local out = json.array()
  for i = 1, rawlen(v) do out[i] = each(rawget(v, i), path .. "[" .. i .. "]") end
  return out
end

local function check_console(v, path)
  -- [Height, Width] (docker's order), or {Height=, Width=}
  if type(v) ~= "table" then fail(path, "{height, width} expected, got " .. describe(v)) end
  local h, w
  if rawlen(v) > 0 or next(v) == nil then
    check_sequence(v, path, "{height, width}")
    if rawlen(v) ~= 2 then fail(path, "{height, width} expected, got " .. rawlen(v) .. " values") end
    h, w = rawget(v, 1), rawget(v, 2)
  else
    for k in next, v do
      if type(k) ~= "string" or (k:lower() ~= "height" and k:lower() ~= "width") then
        fail(path, "{height, width} or {Height =, Width =} expected, found key " .. tostring(k))
      end
    end
    h, w = json.get(v, "Height") or 0, json.get(v, "Width") or 0
  end
  return json.array({ check_integer("uint", h, path .. "[1]"), check_integer("uint", w, path .. "[2]") })
end

local policy_doc -- set below: one policy through the schema of its Type

local checkers = {
  string = check_string,
  guid = check_guid,
  bool = function(v, path)
    if type(v) ~= "boolean" then fail(path, "boolean expected, got " .. describe(v)) end
    return v
  end,
  bytes = function(v, path) return base64(type(v) == "string" and v or check_string(v, path)) end,
  strings = function(v, path) return list(v, path, "array of strings", check_string) end,
  guids = function(v, path) return list(v, path, "array of GUID strings", check_guid) end,
  smap = function(v, path)
    if type(v) ~= "table" then fail(path, "object of strings expected, got " .. describe(v)) end
    local out = {}
    for k, s in next, v do
      if type(k) ~= "string" then fail(path, "keys must be strings, found " .. tostring(k)) end
      out[check_string(k, path .. " key")] = check_string(s, path .. "." .. k)
    end
    return out
  end,
  console = check_console,
  policies = function(v, path) return list(v, path, "array of policies", policy_doc) end,
  raw = function(v, path)
    local ok, err = json.encode(v)
    if not ok then fail(path, err) end
    return v
  end,
}

local function check_value(ftype, v, path)
  if ranges[ftype] then return check_integer(ftype, v, path) end
  local c = checkers[ftype]
  if c then return c(v, path) end
  if ftype:sub(1, 2) == "[]" then
    local sub = ftype:sub(3)
    return list(v, path, "array of " .. sub, function(x, p) return encode_doc(sub, x, p) end)
  end
  if S[ftype] then return encode_doc(ftype, v, path) end
  error("schema: unknown type " .. ftype)
end

-- Go's zero value of a field that is not omitted.
local function zero(f, path)
  local t = f[2]
  if f.ptr then return json.null end
  if t == "string" or t == "guid" then return "" end
  if t == "bool" then return false end
  if ranges[t] then return 0 end
  if t == "console" then return json.array({ 0, 0 }) end
  if S[t] and not f.ptr then return encode_doc(t, {}, path) end
  return json.null -- nil slice, map or pointer
end

-- Returns a json.object with the schema's order, or raises a schema error.
function encode_doc(name, t, path)
  local fields = S[name]
  if type(t) ~= "table" or getmetatable(t) == json.bignum_mt then
    fail(path, name .. " table expected, got " .. describe(t))
  end
  local byname = {}
  for _, f in ipairs(fields) do byname[f[1]:lower()] = f end
  local given = {}
  for k, v in next, t do
    if type(k) ~= "string" then
      fail(path, name .. " expected (fields by name), found key " .. tostring(k)
        .. (math.type(k) and " (a list?)" or ""))
    end
    local f = byname[k:lower()]
    if not f then fail(path, "unknown " .. name .. " field '" .. k .. "'") end
    if given[f[1]] ~= nil then fail(path, "field '" .. f[1] .. "' given twice (case differs)") end
    if v ~= json.null then given[f[1]] = v end
  end
  local order, out = {}, {}
  for _, f in ipairs(fields) do
    local key, v = f[1], given[f[1]]
    order[#order + 1] = key
    local sub = path .. "." .. key
    if v ~= nil then v = check_value(f[2], v, sub) end
    if not (f.omit and empty(f, v)) then
      if v == nil then v = zero(f, sub) end
      out[key] = v
    end
  end
  return json.object(order, out)
end

-- A policy of a known Type goes through its schema; one hcsshim has no
-- struct for is kept as the caller wrote it (as raw JSON).
function policy_doc(p, path)
  if type(p) ~= "table" or getmetatable(p) == json.bignum_mt or rawlen(p) > 0 then
    fail(path, "a policy object {Type = ...} expected, got " .. (type(p) == "table" and "a list" or describe(p)))
  end
  local t = json.get(p, "Type")
  if type(t) ~= "string" then fail(path, "a policy with a Type is expected") end
  for k, sname in pairs(M.policy_schemas) do
    if k:lower() == t:lower() then return encode_doc(sname, p, path) end
  end
  return checkers.raw(p, path)
end

--- Check and normalise a document.
-- @tparam string name schema name ("ContainerConfig", "ProcessConfig", ...)
-- @tparam table t the caller's table (HCS field names, any case)
-- @treturn table|nil the normalised document (a `json.object`), or nil and
-- a message naming the field ("ContainerConfig.Layers[2].ID: ...")
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

--- Canonical field names for a decoded document (decoding is
-- case-insensitive, as Go's): `id` and `Id` become the schema's spelling
-- (`ID` for HNS ids); fields the schema does not know are kept as given.
-- @tparam string name schema name
-- @tparam table t decoded document
-- @treturn table
function M.canonical(name, t)
  if type(t) ~= "table" then return t end
  local out, seen = {}, {}
  for _, f in ipairs(S[name]) do
    local v = json.get(t, f[1])
    if v ~= nil then out[f.decode_as or f[1]] = v end
    seen[f[1]:lower()] = true
  end
  for k, v in pairs(t) do
    if type(k) == "string" and not seen[k:lower()] and v ~= json.null then out[k] = v end
  end
  return out
end

return M
