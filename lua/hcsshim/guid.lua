--- GUIDs: random ones, NameToGuid, and the text <-> 16-byte conversions.
-- Bytes are in Windows memory layout (Data1, Data2 and Data3 little-endian).
-- @module hcsshim.guid
local core = require "hcsshim.core"
local errors = require "hcsshim.error"

local M = {}

--- A new random GUID (version 4), lower case.
-- @function new_guid
-- @treturn string
M.new_guid = core.new_guid

--- The GUID of a name (NameToGuid).  Windows computes it inside
-- vmcompute.dll with an unpublished algorithm; Linux computes a
-- deterministic version-5 GUID of its own, so values differ between the
-- platforms.
-- @tparam string name
-- @treturn string|nil,hcsshim.error
function M.name_to_guid(name)
  return errors.hcs_call("NameToGuid", "name=" .. name, core.name_to_guid, name)
end

--- Parse a GUID (any case, optional braces).
-- @tparam string text
-- @treturn string|nil canonical lower-case text, or nil and a message
-- @treturn string the 16 bytes in Windows memory layout
function M.parse_guid(text)
  return core.guid_parse(text)
end

--- Format 16 bytes in Windows memory layout as a GUID string.
-- @function guid_from_bytes
-- @tparam string bytes
-- @treturn string
M.guid_from_bytes = core.guid_from_bytes

--- 16 bytes in Windows memory layout of a GUID string.
-- @tparam string text
-- @treturn string|nil bytes, or nil and a message
function M.guid_to_bytes(text)
  local s, b = core.guid_parse(text)
  if not s then return nil, b end
  return b
end

return M
