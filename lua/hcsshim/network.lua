--- Network workflows (pure Lua over `hcsshim.hns`).
-- @module hcsshim.network
local hns = require "hcsshim.hns"
local json = require "hcsshim.json"
local errors = require "hcsshim.error"
local schema = require "hcsshim.schema"

local E_ALREADY_EXISTS = errors.hresult.E_ALREADY_EXISTS

local M = {}

local function same_subnets(a, b)
  a, b = a or {}, b or {}
  if #a ~= #b then return false end
  for i = 1, #a do
    if json.get(a[i], "AddressPrefix") ~= json.get(b[i], "AddressPrefix") then return false end
    local ga, gb = json.get(a[i], "GatewayAddress"), json.get(b[i], "GatewayAddress")
    if (ga or "") ~= (gb or "") then return false end
  end
  return true
end

--- A network by name, else (for a GUID) by id.  A name that matches no
-- network gives hcsshim's NetworkNotFound error for that name
-- (`is_not_exist`), never the lookup-by-id's error for a string that is
-- no id at all.
-- @tparam string key network name or id
-- @treturn table|nil,hcsshim.error HNSNetwork
function M.find(key)
  local net, err = hns.get_network_by_name(key)
  if net or not errors.is_not_exist(err) or not require("hcsshim.guid").parse_guid(key) then
    return net, err
  end
  local by_id, id_err = hns.get_network(key)
  if by_id then return by_id end
  if errors.is_not_exist(id_err) then return nil, err end
  return nil, id_err
end

--- Get the network named `net.Name`, or create it: idempotent, and safe
-- against a concurrent provisioner (a lost creation race re-reads the
-- winner's network).  An existing network with another Type or other
-- Subnets is an error rather than silently different.
-- @tparam table net HNSNetwork (see `hcsshim.hns.create_network`); `Name` required
-- @treturn table|nil,hcsshim.error the HNSNetwork
-- @treturn boolean true when this call created it
function M.provision(net)
  if type(net) ~= "table" then error("bad argument #1 to 'provision' (HNSNetwork table expected)", 2) end
  local name = json.get(net, "Name")
  if type(name) ~= "string" or name == "" then error("provision: Name is required", 2) end
  -- the whole table is checked before it is compared or created
  local _, bad = hns.encode_network(net)
  if bad then return nil, bad end
  for _ = 1, 3 do
    local cur, err = hns.get_network_by_name(name)
    if cur then
      local want = json.get(net, "Type")
      if want and want:lower() ~= tostring(cur.Type):lower() then
        return nil, errors.new({ kind = "hns", op = "Provision", hresult = E_ALREADY_EXISTS,
          message = ("network '%s' exists with Type %s, not %s"):format(name, tostring(cur.Type), want) })
      end
      local subs = json.get(net, "Subnets")
      if subs and not same_subnets(subs, cur.Subnets) then
        return nil, errors.new({ kind = "hns", op = "Provision", hresult = E_ALREADY_EXISTS,
          message = ("network '%s' exists with other Subnets"):format(name) })
      end
      return cur, false
    elseif not errors.is_not_exist(err) then
      return nil, err
    end
    local created
    created, err = hns.create_network(net)
    if created then return created, true end
    -- lost a race to another provisioner: read its network
    if not err or err.hresult ~= E_ALREADY_EXISTS then return nil, err end
  end
  return nil, errors.new({ kind = "hns", op = "Provision", message = "network '" .. name .. "' kept changing" })
end

-- One `ports` entry as a NAT policy table, or nil and a message.
local function nat_policy(i, p)
  local pol
  if type(p) == "string" then
    local ext, int, proto = p:match("^(%d+):(%d+)/?(%a*)$")
    if not ext then return nil, ("ports[%d] '%s': expected 'external:internal[/tcp|udp]'"):format(i, p) end
    pol = { Type = "NAT", Protocol = proto ~= "" and proto:upper() or "TCP",
      ExternalPort = math.tointeger(tonumber(ext)), InternalPort = math.tointeger(tonumber(int)) }
  elseif type(p) == "table" then
    local proto = json.get(p, "Protocol") or "TCP"
    if type(proto) ~= "string" then
      return nil, ("ports[%d].Protocol: string expected, got %s"):format(i, type(proto))
    end
    pol = { Type = "NAT", Protocol = proto:upper(), ExternalPort = json.get(p, "ExternalPort"),
      InternalPort = json.get(p, "InternalPort") }
  else
    return nil, ("ports[%d]: string or table expected, got %s"):format(i, type(p))
  end
  for _, k in ipairs({ "ExternalPort", "InternalPort" }) do
    local n = pol[k]
    if math.type(n) ~= "integer" and not (type(n) == "number" and n == math.floor(n)) then
      local got = type(n) == "string" and ("string '" .. n .. "'") or tostring(n)
      return nil, ("ports[%d].%s: a port number expected, got %s"):format(i, k, got)
    end
    if n < 1 or n > 65535 then return nil, ("ports[%d].%s %s is out of range (1..65535)"):format(i, k, n) end
  end
  local _, err = schema.normalize("NatPolicy", pol)
  if err then return nil, ("ports[%d]: %s"):format(i, err) end
  return pol
end

--- Turn a `ports` list into NAT policies.
-- @tparam table ports a list (a sequence) of entries "8080:80",
-- "8080:80/udp", or tables `{ExternalPort=8080, InternalPort=80,
-- Protocol="TCP"}` (ports are numbers 1..65535, never strings)
-- @treturn table|nil array of NAT policies, or nil and a message
function M.nat_policies(ports)
  if ports == nil then return {} end
  if type(ports) ~= "table" then return nil, "ports: a list expected, got " .. type(ports) end
  local ok, why = json.is_sequence(ports)
  if not ok then return nil, "ports: a list (a sequence) expected, " .. why end
  local out = {}
  for i, p in ipairs(ports) do
    local pol, err = nat_policy(i, p)
    if not pol then return nil, err end
    out[i] = pol
  end
  return out
end

return M
