--- `hcsshim network ls|create|inspect|rm` and `hcsshim endpoint ls|rm`
-- (HNS, `hcsshim.hns`).
-- @module hcsshim.cli.net
local hcsshim = require "hcsshim"
local out = require "hcsshim.cli.out"

local hns = hcsshim.hns
local M = {}

local function find_network(key)
  return out.check(hcsshim.network.find(key))
end

local function subnets(list)
  local t = {}
  for _, s in ipairs(list or {}) do t[#t + 1] = s.AddressPrefix end
  return table.concat(t, ",")
end

--- `hcsshim network ls`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.network_ls(a)
  local list = out.check(hns.list_networks())
  out.emit_list(a, list, function(nets)
    local rows = {}
    for i, n in ipairs(nets) do rows[i] = { n.ID, n.Name, n.Type, subnets(n.Subnets) } end
    out.table({ "ID", "NAME", "TYPE", "SUBNETS" }, rows)
  end)
  return 0
end

--- `hcsshim network create`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.network_create(a)
  local net = { Name = a.name, Type = a.type }
  if a.subnet then net.Subnets = { { AddressPrefix = a.subnet, GatewayAddress = a.gateway } } end
  if a.adapter then net.NetworkAdapterName = a.adapter end
  local n = out.check(hns.create_network(net))
  out.emit(a, n, function(d) io.stdout:write(d.ID, "\n") end)
  return 0
end

--- `hcsshim network inspect`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.network_inspect(a)
  local docs = {}
  for i, key in ipairs(a.network) do docs[i] = find_network(key) end
  out.emit_list(a, docs)
  return 0
end

--- `hcsshim network rm`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.network_rm(a)
  for _, key in ipairs(a.network) do
    local n = find_network(key)
    out.check(hns.delete_network(n.ID, { force = a.force }))
    io.stdout:write(n.Name or n.ID, "\n")
  end
  return 0
end

--- `hcsshim endpoint ls`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.endpoint_ls(a)
  local list = out.check(hns.list_endpoints())
  out.emit_list(a, list, function(eps)
    local rows = {}
    for i, e in ipairs(eps) do
      rows[i] = { e.ID, e.Name, e.IPAddress, table.concat(e.SharedContainers or {}, ",") }
    end
    out.table({ "ID", "NAME", "IP", "CONTAINERS" }, rows)
  end)
  return 0
end

--- `hcsshim endpoint rm`.
-- @tparam table a parsed arguments
-- @treturn integer exit code
function M.endpoint_rm(a)
  for _, id in ipairs(a.endpoint) do
    local ep = hns.get_endpoint_by_name(id) or out.check(hns.get_endpoint(id))
    out.check(hns.delete_endpoint(ep.ID))
    io.stdout:write(ep.ID, "\n")
  end
  return 0
end

return M
