/* hcsshim.json.decode and encode (src/json.c's integer marking, then
 * lua-cjson, then lua/hcsshim/json.lua) on arbitrary text, in one Lua
 * state that loads the instrumented core.  Beyond memory safety it checks
 * the module's promise that everything it writes is JSON it reads back:
 * when decode accepts the input and encode writes text e, decode(e) must
 * succeed and encode it to e again. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>

#include "fuzz.h"

int luaopen_hcsshim_core(lua_State *L);

static const char check[] =
    "local json, text = require 'hcsshim.json', ...\n"
    "local v = json.decode(text)\n"
    "if v == nil then return end\n"
    "local e, err = json.encode(v)\n"
    "if not e then assert(type(err) == 'string', 'encode error without a message') return end\n"
    "local v2, err2 = json.decode(e)\n"
    "if v2 == nil then error('decode refuses what encode wrote: ' .. e .. ' (' .. tostring(err2) "
    ".. ')') end\n"
    "local e2 = assert(json.encode(v2))\n"
    "if e2 ~= e then error('encode(decode(e)) ~= e: ' .. e .. ' vs ' .. e2) end\n";

static lua_State *L;
static int check_ref;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_hcsshim_core);
  lua_setfield(L, -2, "hcsshim.core");
  lua_pop(L, 1);
  if (luaL_loadstring(L, check) != LUA_OK) fuzz_fail("loading the check", lua_tostring(L, -1));
  check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) fuzz_fail("hcsshim.json", lua_tostring(L, -1));
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
