-- A minimal ustar/pax writer for tests: it builds the hostile and odd
-- archives that no ordinary tar tool will produce (entries with "..",
-- absolute names, links planted before writes through them).
local M = {}

local function octal(n, width)
  return string.format("%0" .. (width - 1) .. "o", n) .. "\0"
end

local function pad(s, n)
  assert(#s <= n, "field too long: " .. s)
  return s .. string.rep("\0", n - #s)
end

local types = { file = "0", hardlink = "1", symlink = "2", char = "3", dir = "5", pax = "x" }

local function header(e)
  local size = e.type == "file" and #(e.data or "") or (e.type == "pax" and #e.data or 0)
  local fields = {
    pad(e.name, 100),
    octal(e.mode or (e.type == "dir" and 493 or 420), 8),
    octal(e.uid or 0, 8),
    octal(e.gid or 0, 8),
    octal(size, 12),
    octal(e.mtime or 1700000000, 12),
    "        ", -- checksum placeholder
    types[e.type],
    pad(e.link or "", 100),
    "ustar\0", "00",
    pad(e.uname or "", 32), pad(e.gname or "", 32),
    octal(e.major or 0, 8), octal(e.minor or 0, 8),
    pad("", 155),
  }
  local h = pad(table.concat(fields), 512)
  local sum = 0
  for i = 1, #h do sum = sum + h:byte(i) end
  return h:sub(1, 148) .. string.format("%06o\0 ", sum) .. h:sub(157)
end

local function record(key, value)
  local body = " " .. key .. "=" .. value .. "\n"
  local len = #body
  local total = len + #tostring(len)
  if #tostring(total) ~= #tostring(len) then total = len + #tostring(total) end
  return tostring(total) .. body
end

-- entries: { {name=, type="file"|"dir"|"symlink"|"hardlink", data=, link=,
--             mode=, uid=, gid=, xattrs={k=v}} ... }
function M.build(entries)
  local out = {}
  for _, e in ipairs(entries) do
    if e.xattrs then
      local recs = {}
      for k, v in pairs(e.xattrs) do recs[#recs + 1] = record("SCHILY.xattr." .. k, v) end
      local data = table.concat(recs)
      out[#out + 1] = header({ name = "PaxHeaders/" .. e.name:sub(1, 80), type = "pax", data = data })
      out[#out + 1] = data .. string.rep("\0", (512 - #data % 512) % 512)
    end
    out[#out + 1] = header(e)
    if e.type == "file" and e.data and #e.data > 0 then
      out[#out + 1] = e.data .. string.rep("\0", (512 - #e.data % 512) % 512)
    end
  end
  out[#out + 1] = string.rep("\0", 1024)
  return table.concat(out)
end

function M.write(path, entries)
  local f = assert(io.open(path, "wb"))
  f:write(M.build(entries))
  f:close()
  return path
end

return M
