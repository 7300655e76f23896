-- Checks the rooms of src/ (see src/linux/README.md): every #include "..."
-- and, when the objects are built (BUILD, default build), every call
-- between files must point from a room to one it may use, and neither
-- includes nor calls may form a cycle between modules (a module is foo.c
-- with foo.h).  usage: lua5.4 scripts/check-rooms.lua [src-dir] [build-dir]
local src = arg[1] or "src"
local build = arg[2] or os.getenv("BUILD") or "build"

-- which rooms a room may use, besides itself and the seam (platform.h)
local may_use = {
  entry = { compute = true, network = true, layers = true, common = true },
  compute = { network = true, layers = true, common = true },
  network = { common = true },
  layers = { common = true },
  common = {},
  monitor = { common = true },
  helper = { compute = true, network = true, layers = true, common = true },
  extract = { layers = true, common = true },
  tty = {},
  binding = {},
  win32 = {},
}

local function room_of(path)
  local rel = path:sub(#src + 2)
  if rel == "platform.h" then return "seam" end
  local sub = rel:match("^linux/([^/]+)/")
  if sub then return sub end
  if rel:match("^linux/[^/]+$") then return "entry" end
  if rel:match("^win32/") then return "win32" end
  if not rel:find("/") then return "binding" end
  return "unknown"
end

local function module_of(path) return (path:gsub("%.[ch]$", "")) end

local function lines(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() return true end
  return false
end

local failures = 0
local function fail(fmt, ...)
  failures = failures + 1
  io.stderr:write(("check-rooms: " .. fmt .. "\n"):format(...))
end

local function allowed(from, to)
  if from == to or to == "seam" then return true end
  local m = may_use[from]
  if not m then return false end
  return m[to] == true
end

-- module graph: edges[a][b] = "why"
local function add_edge(edges, a, b, why)
  if a == b then return end
  edges[a] = edges[a] or {}
  edges[a][b] = edges[a][b] or why
end

-- One dependency of file `from` on file `to` (an include or a call):
-- checked against the rooms and recorded in `edges`.
local function depend(edges, from, to, where, what)
  local rf, rt = room_of(from), room_of(to)
  if not allowed(rf, rt) then fail("%s: room %s uses %s of room %s", where, rf, what, rt) end
  add_edge(edges, module_of(from), module_of(to), what)
end

local function find_cycle(edges, kind)
  local state, stack = {}, {}
  local names = {}
  for n in pairs(edges) do names[#names + 1] = n end
  table.sort(names)
  local function visit(n)
    state[n] = 1
    stack[#stack + 1] = n
    local outs = {}
    for m in pairs(edges[n] or {}) do outs[#outs + 1] = m end
    table.sort(outs)
    for _, m in ipairs(outs) do
      if state[m] == 1 then
        local cyc, on = {}, false
        for _, s in ipairs(stack) do
          if s == m then on = true end
          if on then cyc[#cyc + 1] = s end
        end
        cyc[#cyc + 1] = m
        fail("%s cycle: %s", kind, table.concat(cyc, " -> "))
        return true
      elseif not state[m] and visit(m) then
        return true
      end
    end
    stack[#stack] = nil
    state[n] = 2
    return false
  end
  for _, n in ipairs(names) do
    if not state[n] and visit(n) then return end
  end
end

-- includes
local inc_edges = {}
local files = lines(("find %s -name '*.[ch]' | sort"):format(src))
for _, file in ipairs(files) do
  local dir = file:match("^(.*)/") or "."
  local n = 0
  for line in io.lines(file) do
    n = n + 1
    local name = line:match('^%s*#%s*include%s+"([^"]+)"')
    if name then
      local target = exists(dir .. "/" .. name) and (dir .. "/" .. name) or (src .. "/" .. name)
      target = target:gsub("/%./", "/")
      while target:find("/[^/]+/%.%./") do target = target:gsub("/[^/]+/%.%./", "/", 1) end
      if not exists(target) then
        fail("%s:%d: include \"%s\" not found", file, n, name)
      else
        depend(inc_edges, file, target, ("%s:%d"):format(file, n), "#include \"" .. name .. "\"")
      end
    end
  end
end
find_cycle(inc_edges, "include")

-- calls, from the built objects of src/linux (nm: defined and undefined)
local objdir = build .. "/obj/" .. src .. "/linux"
if exists(objdir .. "/plat.o") then
  local defined, uses = {}, {}
  for _, obj in ipairs(lines(("find %s -name '*.o' | sort"):format(objdir))) do
    local source = src .. obj:sub(#build + 5 + #src + 1):gsub("%.o$", ".c")
    if not exists(source) then goto next end -- a stale object
    uses[source] = {}
    for _, l in ipairs(lines("nm " .. obj)) do
      local t, sym = l:match("^%x*%s+(%a)%s+(%S+)$")
      if t == "U" then uses[source][#uses[source] + 1] = sym
      elseif t and t:match("[TDBR]") then defined[sym] = source end
    end
    ::next::
  end
  local call_edges = {}
  for source, syms in pairs(uses) do
    for _, sym in ipairs(syms) do
      local def = defined[sym]
      if def and def ~= source then
        depend(call_edges, source, def, source, sym .. "() of " .. def)
      end
    end
  end
  find_cycle(call_edges, "call")
else
  io.stderr:write("check-rooms: no objects under " .. objdir
    .. ": calls not checked (run make first)\n")
end

if failures > 0 then
  io.stderr:write(("check-rooms: %d problem(s)\n"):format(failures))
  os.exit(1)
end
print("check-rooms: rooms and dependencies are in order")
