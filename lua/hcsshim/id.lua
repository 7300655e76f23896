--- Identifiers from callers: GUIDs, compute system ids.  Each is parsed
-- and canonicalised, or refused with a message naming what is wrong, before
-- it reaches a platform call or a document.
-- @module hcsshim.id
local core = require "hcsshim.core"

local M = {}

--- Parse a GUID: 32 hex digits as 8-4-4-4-12, any case, optionally in
-- braces.  `zzzzzzzz-...`, seven-digit groups, "" are refused.
-- @tparam string text
-- @treturn string|nil the canonical lower-case form, or nil and a message
function M.guid(text)
  if type(text) ~= "string" then return nil, "a GUID string expected, got " .. type(text) end
  local g = core.guid_parse(text)
  if not g then
    return nil, ("'%s' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"):format((text:gsub("%c", "?")))
  end
  return g
end

--- Check a compute system id.  HCS takes any non-empty text as an id
-- (docker uses 64 hex digits, others GUIDs or names); it travels as UTF-16,
-- so it must be valid UTF-8, and it names files and keys, so it may not
-- hold control characters (NUL included).  The Linux service narrows it
-- further (1..128 of `[A-Za-z0-9_.-]`).  Ids are not case-folded: HCS
-- keeps them as given.
-- @tparam string id
-- @treturn string|nil the id, or nil and a message
function M.system(id)
  if id == "" then return nil, "compute system id is empty" end
  if not utf8.len(id) then return nil, "invalid UTF-8 in compute system id" end
  if id:find("%c") then
    return nil, "compute system id contains a control character" .. (id:find("%z") and " (a NUL byte)" or "")
  end
  return id
end

return M
