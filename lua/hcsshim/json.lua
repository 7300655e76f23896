--- JSON for HCS and HNS documents: lua-cjson plus exact integers and
-- RFC 8259 on both sides.
-- lua-cjson 2.1.0 decodes every number as a float, encodes with 14
-- significant digits and accepts text that is not JSON.  This module keeps
-- cjson for parsing and closes those gaps in one place:
--
--  * decode accepts RFC 8259 JSON only: no NaN, Infinity, inf, +1, 01,
--    0x10, .5, numbers beyond the float range (1e400), raw control
--    characters in strings or invalid UTF-8.
--  * integer literals become Lua integers, exactly, over the whole int64
--    range; integers beyond int64 (uint64 counters above 2^63-1) decode
--    to a `json.bignum` holding the exact decimal text and encode back
--    unchanged.  Non-integers stay floats.
--  * null means absent, as in Go's decoder: an object member whose value
--    is null is left out of the decoded table.  A null element of an
--    array stays (as `json.null`) so that the array keeps its length.
--  * arrays decode as tables marked with `json.array_mt`, so an empty
--    array stays an array when it is encoded again.  Callers write an
--    empty array as `json.array()` (or `json.empty_array`); in a schema
--    document (`hcsshim.schema`) an empty table in a list field is enough.
--  * encode writes what Go's encoding/json writes: integers with all their
--    digits, floats in Go's shortest form, strings escaped as Go does
--    (<, >, &, U+2028 and U+2029 too), objects in Go's struct order when
--    they carry one.  It refuses what JSON cannot carry (NaN, inf, strings
--    that are not UTF-8, tables that are neither arrays nor objects) with
--    an error naming the place in the value.
--
-- Decoding is case-insensitive on keys through `json.get` (Go semantics).
-- @module hcsshim.json
local cjson = require("cjson.safe").new()
local core = require "hcsshim.core"

-- NaN, Infinity, hexadecimal and "+1" are not JSON
cjson.decode_invalid_numbers(false)

local M = {}

M.null = cjson.null

local MARK = "\1\2"    -- an integer literal follows
local ESCAPED = "\1\3" -- a document string that began with U+0001 follows
local EMPTY = "\1\4"   -- the only element of an empty array

local Array = { __name = "hcsshim.json.array" }
M.array_mt = Array

--- Mark a table as a JSON array, so that it encodes as `[]` even when empty.
-- @tparam[opt] table t
-- @treturn table t
function M.array(t) return setmetatable(t or {}, Array) end

--- A read-only empty array (`[]`), for documents built by hand.
M.empty_array = setmetatable({}, { __name = "hcsshim.json.array", __newindex = function()
  error("json.empty_array is read-only: use json.array() for an array to fill", 2)
end })

--- Whether `t` is a sequence: keys exactly 1..n, no holes.  Read raw, as
-- the C core reads tables: no __len, __index or __pairs runs.
-- @tparam table t
-- @treturn boolean
-- @treturn string|nil what is wrong ("found key x", "a hole at 2")
function M.is_sequence(t)
  local n, count = rawlen(t), 0
  for k in next, t do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      return false, "found key " .. (type(k) == "string" and ("'" .. k .. "'") or tostring(k))
    end
    count = count + 1
  end
  if count ~= n then
    for i = 1, n do if rawget(t, i) == nil then return false, "found a hole (nil) at [" .. i .. "]" end end
  end
  return true
end

--- A decimal integer outside the int64 range, kept as text.
local Big = { __name = "hcsshim.json.bignum" }
Big.__index = Big
function Big:__tostring() return self.digits end
function Big.__eq(a, b) return a.digits == b.digits end
M.bignum_mt = Big

--- Wrap the decimal text of an integer (any size, e.g. a uint64 above
-- 2^63-1: `json.bignum("18446744073709551615")`); it encodes as that
-- number, digit for digit.
-- @tparam string digits `-?(0|[1-9][0-9]*)`
-- @treturn table the bignum
function M.bignum(digits)
  if type(digits) ~= "string" or not (digits:match("^%-?[1-9]%d*$") or digits == "0") then
    error("bad argument #1 to 'bignum' (decimal integer text expected, got " .. tostring(digits) .. ")", 2)
  end
  return setmetatable({ digits = digits }, Big)
end

local function restore_number(digits)
  local n = tonumber(digits)
  -- Lua reads an integer literal beyond int64 as a float: only a literal
  -- that stays an integer is exact
  if math.type(n) == "integer" then return n end
  return setmetatable({ digits = digits }, Big)
end

local function restore(v)
  local t = type(v)
  if t == "string" then
    local head = v:sub(1, 2)
    if head == ESCAPED then return v:sub(3) end
    if head == MARK then return restore_number(v:sub(3)) end
    return v
  elseif t == "number" then
    if v == math.huge or v == -math.huge then error("number out of range", 0) end
    return v
  elseif t == "table" then
    if #v == 1 and v[1] == EMPTY and next(v, next(v)) == nil then return setmetatable({}, Array) end
    local is_array = next(v) ~= nil and math.type((next(v))) == "integer"
    for k, x in pairs(v) do
      -- null means absent (Go's decoder): object members only, so that
      -- arrays keep their length
      if x == cjson.null and not is_array then v[k] = nil else v[k] = restore(x) end
    end
    if is_array then setmetatable(v, Array) end
    return v
  end
  return v
end

--- Decode JSON text (RFC 8259 only; see the module notes).
-- @tparam string text
-- @return the value, or nil and an error message ("invalid JSON: ...")
function M.decode(text)
  if type(text) ~= "string" then return nil, "JSON text expected" end
  local ok, bad = utf8.len(text)
  if not ok then return nil, "invalid JSON: invalid UTF-8 at byte " .. bad end
  local marked, merr = core.json_mark_integers(text)
  if not marked then return nil, "invalid JSON: " .. merr end
  local v, err = cjson.decode(marked)
  if v == nil and err then return nil, "invalid JSON: " .. err end
  local rok, r = pcall(restore, v)
  if not rok then return nil, "invalid JSON: " .. tostring(r) end
  return r
end

--- Case-insensitive field lookup (Go's encoding/json matches keys that way).
-- null reads as absent.
-- @tparam table obj decoded object
-- @tparam string key field name as the schema spells it
-- @return the value, or nil
function M.get(obj, key)
  if type(obj) ~= "table" then return nil end
  local v = rawget(obj, key)
  if v == cjson.null then return nil end
  if v ~= nil then return v end
  local lk = key:lower()
  for k, x in next, obj do
    if type(k) == "string" and k:lower() == lk then
      if x == cjson.null then return nil end
      return x
    end
  end
  return nil
end

--- A string value of a decoded document, or nil when it is absent, null
-- or not a string (for building messages from documents of others).
-- @tparam table obj
-- @tparam string key
-- @treturn string|nil
function M.get_string(obj, key)
  local v = M.get(obj, key)
  if type(v) == "string" then return v end
  return nil
end

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

local function fail(path, msg) error({ json_error = (path ~= "" and path .. ": " or "") .. msg }, 0) end

-- Go's encoding/json escapes ", \, control characters (\n, \r, \t short,
-- the others as \u00xx), <, >, & and U+2028/9; "/" and DEL stay as they are.
local short = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function escape_byte(c)
  return short[c] or string.format("\\u%04x", c:byte())
end
local function encode_string(s, path)
  if not utf8.len(s) then fail(path, "string is not valid UTF-8") end
  s = s:gsub('[%z\1-\31"\\<>&]', escape_byte)
  s = s:gsub("\226\128\168", "\\u2028"):gsub("\226\128\169", "\\u2029")
  return '"' .. s .. '"'
end
M._encode_string = encode_string

-- Go's float64 text: the shortest digits that read back as the same
-- float, in fixed notation for 1e-6 <= |v| < 1e21, else as d.ddde±x.
local function encode_float(v)
  if v == 0 then return 1 / v < 0 and "-0" or "0" end
  local text
  for p = 0, 16 do
    text = string.format("%." .. p .. "e", v)
    if tonumber(text) == v then break end
  end
  local sign, d0, frac, exp = text:match("^(%-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (d0 .. frac):gsub("0+$", "")
  if digits == "" then digits = "0" end
  local x = tonumber(exp)
  local a = math.abs(v)
  if a < 1e-6 or a >= 1e21 then
    local m = digits:sub(1, 1)
    if #digits > 1 then m = m .. "." .. digits:sub(2) end
    return sign .. m .. "e" .. (x < 0 and "-" or "+") .. string.format(x < 0 and "%d" or "%02d", math.abs(x))
  end
  if x < 0 then return sign .. "0." .. string.rep("0", -x - 1) .. digits end
  if #digits <= x + 1 then return sign .. digits .. string.rep("0", x + 1 - #digits) end
  return sign .. digits:sub(1, x + 1) .. "." .. digits:sub(x + 2)
end

local function is_array(t)
  local mt = getmetatable(t)
  if mt == Array or t == M.empty_array then return true end
  if mt == Ordered then return false end
  return rawlen(t) > 0 and M.is_sequence(t)
end

local function encode_table(t, out, depth, path)
  if depth > 100 then fail(path, "nesting too deep") end
  if getmetatable(t) == Big then
    if not (t.digits:match("^%-?[1-9]%d*$") or t.digits == "0") then
      fail(path, "bignum is not decimal integer text")
    end
    out[#out + 1] = t.digits
    return
  end
  if is_array(t) then
    local ok, why = M.is_sequence(t)
    if not ok then fail(path, "array is not a sequence: " .. why) end
    out[#out + 1] = "["
    for i = 1, rawlen(t) do
      if i > 1 then out[#out + 1] = "," end
      encode_value(rawget(t, i), out, depth + 1, path .. "[" .. i .. "]")
    end
    out[#out + 1] = "]"
    return
  end
  local order = getmetatable(t) == Ordered and rawget(t, Ordered)
  local keys = {}
  if order then
    for _, k in ipairs(order) do
      if rawget(t, k) ~= nil then keys[#keys + 1] = k end
    end
  else
    -- caller tables are read raw (no __index, __pairs), as the C core reads them
    for k in next, t do
      if type(k) ~= "string" then
        fail(path, "a table with key " .. tostring(k) .. " is neither an array (keys 1..n) nor an object (string keys)")
      end
      keys[#keys + 1] = k
    end
    table.sort(keys)
  end
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    local sub = path == "" and k or path .. "." .. k
    out[#out + 1] = encode_string(k, sub)
    out[#out + 1] = ":"
    encode_value(rawget(t, k), out, depth + 1, sub)
  end
  out[#out + 1] = "}"
end

function encode_value(v, out, depth, path)
  local t = type(v)
  if t == "table" then
    encode_table(v, out, depth, path)
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      fail(path, "JSON has no " .. tostring(v) .. " (NaN and infinities cannot be encoded)")
    else
      out[#out + 1] = encode_float(v)
    end
  elseif t == "string" then
    out[#out + 1] = encode_string(v, path)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == cjson.null then
    out[#out + 1] = "null"
  else
    fail(path, "JSON cannot encode a " .. t)
  end
end

--- Encode a Lua value as Go's encoding/json would.
-- @param v value (tables with `json.object` order keep it; others sort
-- keys; arrays are `json.array` tables or non-empty sequences)
-- @treturn string|nil JSON text, or nil and an error message naming the
-- place in `v` ("Layers[2].Path: string is not valid UTF-8")
function M.encode(v)
  local out = {}
  local ok, err = pcall(encode_value, v, out, 0, "")
  if not ok then
    if type(err) == "table" and err.json_error then return nil, err.json_error end
    error(err, 0)
  end
  return table.concat(out)
end

return M
