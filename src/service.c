/* Functions of the compute service itself that no object owns. */
#include "bind.h"
#include "modules.h"

/* core.monotime() -> seconds on a monotonic clock (float) */
static int l_monotime(lua_State *L) {
  lua_pushnumber(L, plat_monotime());
  return 1;
}

/* core.set_option(name, value) -> true | nil, hr */
static int l_set_option(lua_State *L) {
  plat_hresult hr = plat_set_option(luaL_checkstring(L, 1), luaL_checkstring(L, 2));
  if (hr < 0) return bind_fail(L, hr, NULL);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg functions[] = {
    {"monotime", l_monotime},
    {"set_option", l_set_option},
    {NULL, NULL},
};

void core_open_service(lua_State *L) { luaL_setfuncs(L, functions, 0); }
