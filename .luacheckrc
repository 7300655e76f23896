-- luacheck (Debian lua-check) settings; `make lint` runs it on lua/ spec/
-- bench/ examples/.  Lua 5.4 everywhere; the specs run under busted, the
-- Wine suite (spec/win32) under a plain lua.exe with its own test().
std = "lua54"
max_line_length = 120

files["spec"] = { std = "+busted" }
files["spec/win32"] = { std = "lua54", read_globals = { "test" } }
files["spec/win32/run.lua"] = { globals = { "test" } }
