--- JSON for HCS and HNS documents: lua-cjson plus exact integers.
-- lua-cjson 2.1.0 decodes every number as a float and encodes with 14
-- significant digits.  This module keeps cjson for parsing and string
-- escaping and closes the number gap in one place:
--
--  * decode: integer literals become Lua integers, exactly, over the whole
--    int64 range.  Integers beyond int64 (uint64 counters above 2^63-1)
--    decode to a `json.bignum` holding the exact decimal text; they encode
--    back unchanged.  Non-integers stay floats.
--  * encode: Lua integers are written with all their digits, never in
--    exponent form; objects can carry a field order (Go's struct order).
--
-- Decoding is case-insensitive on keys through `json.get` (Go semantics).
-- @module hcsshim.json
local cjson = require "cjson.safe"
local core = require "hcsshim.core"

local M = {}

M.null = cjson.null

local MARK = "\1\2"    -- an integer literal follows
local ESCAPED = "\1\3" -- a document string that began with U+0001 follows

--- A decimal integer outside the int64 range, kept as text.
local Big = { __name = "hcsshim.json.bignum" }
Big.__index = Big
function Big:__tostring() return self.digits end
function Big.__eq(a, b) return a.digits == b.digits end
M.bignum_mt = Big

--- Wrap decimal digits as a bignum.
-- @tparam string digits
function M.bignum(digits)
  return setmetatable({ digits = digits }, Big)
end

local function restore(v)
  local t = type(v)
  if t == "string" then
    local head = v:sub(1, 2)
    if head == ESCAPED then return v:sub(3) end
    if head == MARK then
      local digits = v:sub(3)
      local n = tonumber(digits)
      -- Lua reads an integer literal beyond int64 as a float: only a
      -- literal that stays an integer is exact
      if math.type(n) == "integer" then return n end
      return M.bignum(digits)
    end
    return v
  elseif t == "table" then
    for k, x in pairs(v) do v[k] = restore(x) end
    return v
  end
  return v
end

--- Decode JSON text.
-- @tparam string text
-- @return the value, or nil and an error message
function M.decode(text)
  if type(text) ~= "string" then return nil, "JSON text expected" end
  local v, err = cjson.decode(core.json_mark_integers(text))
  if v == nil and err then return nil, "invalid JSON: " .. err end
  return restore(v)
end

--- Case-insensitive field lookup (Go's encoding/json matches keys that way).
-- @tparam table obj decoded object
-- @tparam string key field name as the schema spells it
function M.get(obj, key)
  if type(obj) ~= "table" then return nil end
  local v = obj[key]
  if v ~= nil then return v end
  local lk = key:lower()
  for k, x in pairs(obj) do
    if type(k) == "string" and k:lower() == lk then return x end
  end
  return nil
end

local Array = { __name = "hcsshim.json.array" }
M.array_mt = Array
--- Mark a table as a JSON array, so that it encodes as `[]` even when empty.
-- @tparam[opt] table t
-- @treturn table t
function M.array(t) return setmetatable(t or {}, Array) end

local Ordered = { __name = "hcsshim.json.object" }
M.object_mt = Ordered
--- Give a table a field order for encoding (Go marshals in struct order);
-- keys missing from `order` are not encoded.
-- @tparam table order array of key names
-- @tparam[opt] table t the object
-- @treturn table t
function M.object(order, t)
  local o = setmetatable(t or {}, Ordered)
  rawset(o, Ordered, order)
  return o
end

local encode_value

-- Go's encoding/json writes "/" as is and escapes <, >, & and U+2028/9;
-- cjson does the opposite for "/", so HCS documents are made to match Go.
local go_escapes = { ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026" }
local function encode_string(s)
  local out = cjson.encode(s):gsub("\\/", "/"):gsub("[<>&]", go_escapes)
  out = out:gsub("\226\128\168", "\\u2028"):gsub("\226\128\169", "\\u2029")
  return out
end

local function is_array(t)
  if getmetatable(t) == Array then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function encode_table(t, out, depth)
  if depth > 100 then error("JSON nesting too deep", 0) end
  if getmetatable(t) == Big then
    out[#out + 1] = t.digits
    return
  end
  if is_array(t) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], out, depth + 1)
    end
    out[#out + 1] = "]"
    return
  end
  local order = getmetatable(t) == Ordered and rawget(t, Ordered)
  local keys = {}
  if order then
    for _, k in ipairs(order) do
      if t[k] ~= nil then keys[#keys + 1] = k end
    end
  else
    for k in pairs(t) do
      if type(k) ~= "string" then error("JSON object keys must be strings", 0) end
      keys[#keys + 1] = k
    end
    table.sort(keys)
  end
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = encode_string(k)
    out[#out + 1] = ":"
    encode_value(t[k], out, depth + 1)
  end
  out[#out + 1] = "}"
end

function encode_value(v, out, depth)
  local t = type(v)
  if t == "table" then
    encode_table(v, out, depth)
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      error("JSON cannot encode " .. tostring(v), 0)
    elseif v == math.floor(v) and math.abs(v) < 2^63 then
      out[#out + 1] = string.format("%d", math.tointeger(v))
    else
      -- Go writes the shortest text that reads back as the same float
      local text
      for digits = 15, 17 do
        text = string.format("%." .. digits .. "g", v)
        if tonumber(text) == v then break end
      end
      out[#out + 1] = text
    end
  elseif t == "string" then
    out[#out + 1] = encode_string(v)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == cjson.null then
    out[#out + 1] = "null"
  else
    error("JSON cannot encode a " .. t, 0)
  end
end

--- Encode a Lua value.
-- @param v value (tables with `json.object` order keep it; others sort keys)
-- @treturn string|nil JSON text, or nil and an error message
function M.encode(v)
  local out = {}
  local ok, err = pcall(encode_value, v, out, 0)
  if not ok then return nil, err end
  return table.concat(out)
end

return M
