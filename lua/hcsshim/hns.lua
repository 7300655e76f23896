--- HNS: host networks and endpoints (hcsshim's hnsfuncs.go, hnsnetwork.go,
-- hnsendpoint.go).  Loads on its own: it needs only the C core, JSON,
-- errors and schemas, never the compute-system modules.
--
-- On Windows the calls go to vmcompute!HNSCall; on Linux to the Linux HNS
-- of the C core (SQLite store in the data root, CNI plugins).  Either way
-- the wire contract is HNS's: the paths below, HNSNetwork / HNSEndpoint
-- documents with HNS's field names, and the `{Success, Error, Output}`
-- envelope.  Objects come back as tables with the canonical field names
-- (`ID`, `Name`, `IPAddress`, ...) whatever case the service used.
--
-- Failures return `nil, err` with an `hcsshim.error` of kind "hns"
-- (`tostring`: "HNS failed with error : <Error>"); a missing network or
-- endpoint is named NetworkNotFound / EndpointNotFound (HRESULT
-- 0x80070490), so `hcsshim.is_not_exist(err)` is true.  Bad values are
-- refused locally, before anything is created, with hresult 0x80070057:
-- network and endpoint ids must be GUIDs (any case, braces allowed) and
-- are sent in canonical lower-case form; an empty id never reaches the
-- collection path.  Documents from HNS are read as Go reads them: null,
-- absent and wrongly typed members are absent.
-- @module hcsshim.hns
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local json = require "hcsshim.json"
local schema = require "hcsshim.schema"
local ids = require "hcsshim.id"

local M = {}

local E_INVALIDARG = errors.hresult.E_INVALIDARG
local E_NOT_FOUND = errors.hresult.E_NOT_FOUND

local function invalid(op, msg)
  return errors.new({ kind = "hns", op = op, hresult = E_INVALIDARG, message = msg })
end

-- A name already taken: ERROR_ALREADY_EXISTS, as a second create of one id.
local function exists(op, msg)
  return errors.new({ kind = "hns", op = op, hresult = errors.hresult.E_ALREADY_EXISTS, message = msg })
end

--- The raw call (HNSCall): method, path and request as HNS takes them.
-- @tparam string method "GET", "POST" or "DELETE"
-- @tparam string path "/networks/", "/networks/<id>", "/endpoints/", "/endpoints/<id>"
-- @tparam[opt] string|table request JSON text, or a table to encode ("" / nil: no body)
-- @return the decoded `Output` (a table), or `true` when the envelope has
-- no Output; or nil and an error: kind "hns" from the envelope's `Error`
-- (and `ErrorCode` when the service gives one), or kind "hcs"
-- ("hnsCall failed in Win32: ...") when the call itself failed
function M.hns_call(method, path, request)
  if type(method) ~= "string" or type(path) ~= "string" then
    error("bad argument to 'hns_call' (method and path strings expected)", 2)
  end
  if type(request) == "table" then
    local text, jerr = json.encode(request)
    if not text then error("bad argument #3 to 'hns_call' (" .. jerr .. ")", 2) end
    request = text
  end
  local text, hr, result = core.hns_call(method, path, request or "")
  if not text then return nil, errors.from_core({ kind = "hcs", op = "hnsCall " }, hr, result) end
  local env, derr = json.decode(text)
  if type(env) ~= "table" then
    return nil, errors.new({ kind = "hns", name = "ErrUnexpectedValue",
      message = "invalid HNS response: " .. tostring(derr) })
  end
  if json.get(env, "Success") ~= true then
    local msg = json.get(env, "Error")
    if type(msg) ~= "string" or msg == "" then msg = "unknown error" end
    local code = json.get(env, "ErrorCode")
    code = math.type(code) == "integer" and code or nil
    local name
    if code == E_NOT_FOUND or msg:find("Element not found", 1, true) or msg:find(" not found$") then
      code = code or E_NOT_FOUND
      name = path:find("^/networks") and "NetworkNotFound" or path:find("^/endpoints") and "EndpointNotFound"
        or "ErrElementNotFound"
    end
    return nil, errors.new({ kind = "hns", op = method .. " " .. path, hresult = code, name = name, message = msg })
  end
  local out = json.get(env, "Output")
  if out == nil or out == json.null then return true end
  return out
end

local canonical = schema.canonical

-- A list from HNS: an array of objects, or nothing usable.
local function canonical_list(name, list)
  local out = {}
  if type(list) ~= "table" or not json.is_sequence(list) then return out end
  for _, t in ipairs(list) do
    if type(t) == "table" then out[#out + 1] = canonical(name, t) end
  end
  return out
end

-- A network or endpoint id from the caller, canonical, or an error.
local function check_id(fname, op, id)
  if type(id) ~= "string" then
    error("bad argument #1 to '" .. fname .. "' (string expected, got " .. type(id) .. ")", 3)
  end
  local g, err = ids.guid(id)
  if not g then return nil, invalid(op, (fname:find("endpoint") and "endpoint" or "network") .. " id " .. err) end
  return g
end

--- Decode an HNS document case-insensitively onto the canonical field
-- names (`id` and `Id` become `ID`, ...); unknown fields are kept as given.
-- @tparam string kind "HNSNetwork" or "HNSEndpoint"
-- @tparam string|table doc JSON text or a decoded table
-- @treturn table|nil the document, or nil and a message
function M.decode(kind, doc)
  if type(doc) == "string" then
    local err
    doc, err = json.decode(doc)
    if type(doc) ~= "table" then return nil, err or "JSON object expected" end
  end
  return canonical(kind, doc)
end

local function parse_ip(s)
  if type(s) ~= "string" then return nil end
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function parse_cidr(s)
  if type(s) ~= "string" then return nil end
  local ip, p = s:match("^([%d%.]+)/(%d+)$")
  local n = parse_ip(ip)
  p = tonumber(p)
  if not n or not p or p > 32 then return nil end
  local mask = p == 0 and 0 or (0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF
  if n & ~mask & 0xFFFFFFFF ~= 0 then return nil end
  return n, p, mask
end

--- Check an HNSNetwork table without creating anything: subnets are IPv4
-- CIDR prefixes, gateways lie inside their subnet, policies are valid.
-- @tparam table net HNSNetwork
-- @treturn string|nil JSON text, or nil and an error (0x80070057)
function M.encode_network(net)
  local op = "CreateNetwork"
  if type(net) ~= "table" then error("bad argument #1 (HNSNetwork table expected)", 2) end
  local doc, err = schema.normalize("HNSNetwork", net)
  if not doc then return nil, invalid(op, err) end
  for i, s in ipairs(doc.Subnets or {}) do
    local pre, gw = s.AddressPrefix, s.GatewayAddress
    local n, _, mask = parse_cidr(pre)
    if not n then
      return nil, invalid(op, ("Subnets[%d].AddressPrefix '%s' is not an IPv4 CIDR prefix"
        .. " such as 172.20.0.0/16"):format(i, tostring(pre)))
    end
    if gw then
      local g = parse_ip(gw)
      if not g then
        return nil, invalid(op, ("Subnets[%d].GatewayAddress '%s' is not an IPv4 address"):format(i, gw))
      end
      if g & mask ~= n then
        return nil, invalid(op, ("Subnets[%d].GatewayAddress %s is outside its subnet %s"):format(i, gw, pre))
      end
    end
  end
  return json.encode(doc)
end

--- Check an HNSEndpoint table without creating anything (IP address
-- format, policy fields and port ranges; a NAT port of 0 is unset, as in
-- hcsshim's NatPolicy).
-- @tparam table ep HNSEndpoint
-- @treturn string|nil JSON text, or nil and an error (0x80070057)
function M.encode_endpoint(ep)
  local op = "CreateEndpoint"
  if type(ep) ~= "table" then error("bad argument #1 (HNSEndpoint table expected)", 2) end
  local doc, err = schema.normalize("HNSEndpoint", ep)
  if not doc then return nil, invalid(op, err) end
  for i, p in ipairs(doc.Policies or {}) do
    if p.Type:upper() == "NAT" and (p.InternalPort ~= 0 or p.ExternalPort ~= 0) and p.Protocol == "" then
      return nil, invalid(op, ("Policies[%d]: a NAT policy with ports needs a Protocol (TCP or UDP)"):format(i))
    end
  end
  if doc.IPAddress and not parse_ip(doc.IPAddress) then
    return nil, invalid(op, ("IPAddress '%s' is not an IPv4 address"):format(doc.IPAddress))
  end
  return json.encode(doc)
end

-- ---------------------------------------------------------------- networks

--- List networks (GET /networks/).
-- @treturn table|nil,hcsshim.error array of HNSNetwork
function M.list_networks()
  local out, err = M.hns_call("GET", "/networks/")
  if not out then return nil, err end
  return canonical_list("HNSNetwork", out)
end
M.HNSListNetworkRequest = M.list_networks

--- Get a network by id (GET /networks/{id}).
-- @tparam string id network GUID
-- @treturn table|nil,hcsshim.error HNSNetwork; not found -> NetworkNotFound (is_not_exist)
function M.get_network(id)
  local g, err = check_id("get_network", "GetNetwork", id)
  if not g then return nil, err end
  local out
  out, err = M.hns_call("GET", "/networks/" .. g)
  if not out then return nil, err end
  return canonical("HNSNetwork", out)
end

--- Get a network by name (lists and matches the Name exactly, as hcsshim's
-- GetHNSNetworkByName does).
-- @tparam string name
-- @treturn table|nil,hcsshim.error HNSNetwork; none -> NetworkNotFound
function M.get_network_by_name(name)
  if type(name) ~= "string" then
    error("bad argument #1 to 'get_network_by_name' (string expected, got " .. type(name) .. ")", 2)
  end
  local list, err = M.list_networks()
  if not list then return nil, err end
  for _, n in ipairs(list) do if n.Name == name then return n end end
  return nil, errors.new({ kind = "hns", op = "GetNetworkByName", name = "NetworkNotFound", hresult = E_NOT_FOUND,
    message = "Network name \"" .. tostring(name) .. "\" not found" })
end

--- Create a network (POST /networks/).
-- @tparam table net HNSNetwork: `Name`, `Type` ("nat", "internal",
-- "private", "transparent", "l2bridge"), `Subnets = {{AddressPrefix=,
-- GatewayAddress=}}`, `MacPools = {{StartMacAddress=, EndMacAddress=}}`,
-- `DNSServerList` ("a,b"), `DNSSuffix`, `NetworkAdapterName`
-- (transparent/l2bridge), `Policies` ({Type="VLAN", VLAN=n})
-- @treturn table|nil,hcsshim.error the created HNSNetwork (with its `ID`);
-- refused locally: bad subnet or gateway, duplicate name
function M.create_network(net)
  local text, err = M.encode_network(net)
  if not text then return nil, err end
  local name = json.get(net, "Name")
  if type(name) == "string" and name ~= "" then
    local dup = M.get_network_by_name(name)
    if dup then
      return nil, exists("CreateNetwork", ("a network named '%s' already exists (%s)"):format(name, dup.ID))
    end
  end
  local out
  out, err = M.hns_call("POST", "/networks/", text)
  if not out then return nil, err end
  return canonical("HNSNetwork", out)
end

--- Delete a network (DELETE /networks/{id}).
-- @tparam string id
-- @tparam[opt] table opts `{force = true}`: detach and delete the
-- network's endpoints first (otherwise a network with endpoints is refused)
-- @treturn table|nil,hcsshim.error the deleted HNSNetwork
function M.delete_network(id, opts)
  local g, err = check_id("delete_network", "DeleteNetwork", id)
  if not g then return nil, err end
  local body = ""
  if opts and opts.force then body = '{"Force":true}' end
  local out
  out, err = M.hns_call("DELETE", "/networks/" .. g, body)
  if not out then return nil, err end
  return canonical("HNSNetwork", out)
end

-- ---------------------------------------------------------------- endpoints

--- List endpoints (GET /endpoints/).
-- @treturn table|nil,hcsshim.error array of HNSEndpoint
function M.list_endpoints()
  local out, err = M.hns_call("GET", "/endpoints/")
  if not out then return nil, err end
  return canonical_list("HNSEndpoint", out)
end

--- Get an endpoint by id (GET /endpoints/{id}).
-- @tparam string id
-- @treturn table|nil,hcsshim.error HNSEndpoint (`SharedContainers` lists
-- the container it is attached to; `State` 1 created, 2 attached)
function M.get_endpoint(id)
  local g, err = check_id("get_endpoint", "GetEndpoint", id)
  if not g then return nil, err end
  local out
  out, err = M.hns_call("GET", "/endpoints/" .. g)
  if not out then return nil, err end
  return canonical("HNSEndpoint", out)
end

--- Get an endpoint by name (lists and matches Name).
-- @tparam string name
-- @treturn table|nil,hcsshim.error HNSEndpoint; none -> EndpointNotFound
function M.get_endpoint_by_name(name)
  if type(name) ~= "string" then
    error("bad argument #1 to 'get_endpoint_by_name' (string expected, got " .. type(name) .. ")", 2)
  end
  local list, err = M.list_endpoints()
  if not list then return nil, err end
  for _, e in ipairs(list) do if e.Name == name then return e end end
  return nil, errors.new({ kind = "hns", op = "GetEndpointByName", name = "EndpointNotFound", hresult = E_NOT_FOUND,
    message = "Endpoint name \"" .. tostring(name) .. "\" not found" })
end

--- Create an endpoint (POST /endpoints/).  On Linux its IP and MAC
-- addresses are reserved now; it is plumbed when attached.
-- @tparam table ep HNSEndpoint: `VirtualNetwork` (network id) or
-- `VirtualNetworkName`, `Name`, optional `IPAddress`, `MacAddress`
-- ("00-15-5D-.."), `DNSServerList`, `DNSSuffix`, `DNSDomain`, `Policies`
-- ({Type="NAT", Protocol="TCP", InternalPort=80, ExternalPort=8080},
-- {Type="QOS", MaximumOutgoingBandwidthInBytes=bytes per second})
-- @treturn table|nil,hcsshim.error the HNSEndpoint with `IPAddress`,
-- `MacAddress`, `PrefixLength`, `GatewayAddress`
function M.create_endpoint(ep)
  local text, err = M.encode_endpoint(ep)
  if not text then return nil, err end
  local name = json.get(ep, "Name")
  if type(name) == "string" and name ~= "" then
    local dup = M.get_endpoint_by_name(name)
    if dup then
      return nil, exists("CreateEndpoint", ("an endpoint named '%s' already exists (%s)"):format(name, dup.ID))
    end
  end
  local out
  out, err = M.hns_call("POST", "/endpoints/", text)
  if not out then return nil, err end
  return canonical("HNSEndpoint", out)
end

--- Delete an endpoint (DELETE /endpoints/{id}).  An endpoint attached to
-- a live container is refused; detach it (or stop the container) first.
-- @tparam string id
-- @treturn table|nil,hcsshim.error the deleted HNSEndpoint
function M.delete_endpoint(id)
  local g, err = check_id("delete_endpoint", "DeleteEndpoint", id)
  if not g then return nil, err end
  local out
  out, err = M.hns_call("DELETE", "/endpoints/" .. g)
  if not out then return nil, err end
  return canonical("HNSEndpoint", out)
end

local function modify(container_id, endpoint_id, what)
  if type(container_id) ~= "string" or type(endpoint_id) ~= "string" then
    error("bad arguments (container id and endpoint id strings expected, got " .. type(container_id) .. " and "
      .. type(endpoint_id) .. ")", 3)
  end
  local g, gerr = check_id("hot_attach_endpoint", "Modify", endpoint_id)
  if not g then return nil, gerr end
  endpoint_id = g
  local _, bad = ids.system(container_id)
  if bad then
    return nil, errors.new({ kind = "container", op = "Modify", id = container_id:gsub("%c", "?"),
      hresult = E_INVALIDARG, message = "The parameter is incorrect. (" .. bad .. ")" })
  end
  local sys, hr, result = core.open_compute_system(container_id)
  if not sys then
    return nil, errors.from_core({ kind = "container", op = "OpenContainer", id = container_id }, hr, result)
  end
  local text = assert(schema.encode("ResourceModificationRequest",
    { ResourceType = "Network", RequestType = what, Settings = endpoint_id }))
  local ok
  ok, hr, result = sys:_modify(text)
  sys:close()
  if not ok then
    return nil, errors.from_core({ kind = "container", op = "Modify", id = container_id }, hr, result)
  end
  return true
end

--- Attach an endpoint to a running container (hcsshim's HotAttachEndpoint:
-- HcsModifyComputeSystem with `{ResourceType="Network", RequestType="Add",
-- Settings=<endpoint id>}`).  Attaching an endpoint already attached to
-- this container succeeds.
-- @tparam string container_id
-- @tparam string endpoint_id
-- @treturn true|nil,hcsshim.error
function M.hot_attach_endpoint(container_id, endpoint_id)
  return modify(container_id, endpoint_id, "Add")
end

--- Detach an endpoint from a running container (HotDetachEndpoint;
-- RequestType "Remove").
-- @tparam string container_id
-- @tparam string endpoint_id
-- @treturn true|nil,hcsshim.error
function M.hot_detach_endpoint(container_id, endpoint_id)
  return modify(container_id, endpoint_id, "Remove")
end

--- Remove stale endpoints: those attached to a container that no longer
-- exists (its creator or monitor died before the teardown).  Each is
-- detached (CNI DEL on Linux) and deleted.
-- @tparam[opt] table opts `{all = true}` also deletes endpoints that are
-- attached to nothing
-- @treturn table|nil,hcsshim.error array of the removed endpoint ids
function M.cleanup(opts)
  local list, err = M.list_endpoints()
  if not list then return nil, err end
  -- a failed enumeration must not make every attached endpoint look stale
  local text, hr, result = core.enumerate_compute_systems("{}")
  if not text then
    return nil, errors.from_core({ kind = "hcs", op = "hcsshim::GetContainers" }, hr, result)
  end
  local systems = json.decode(text)
  if type(systems) ~= "table" then
    return nil, errors.new({ message = "hns.cleanup: the compute-system enumeration did not decode" })
  end
  local live = {}
  for _, s in ipairs(systems) do
    local sid = json.get(s, "Id")
    if type(sid) == "string" then live[sid] = true end
  end
  local removed = {}
  for _, ep in ipairs(list) do
    local shared = type(ep.SharedContainers) == "table" and ep.SharedContainers or {}
    local stale = #shared > 0
    for _, c in ipairs(shared) do if live[c] then stale = false end end
    if stale or (opts and opts.all and #shared == 0) then
      if M.delete_endpoint(ep.ID) then removed[#removed + 1] = ep.ID end
    end
  end
  return removed
end

return M
