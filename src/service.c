/* Functions of the compute service itself that no object owns. */
#include "bind.h"
#include "modules.h"

/* core.monotime() -> seconds on a monotonic clock (float) */
static int l_monotime(lua_State *L) {
  lua_pushnumber(L, plat_monotime());
  return 1;
}

/* core.sleep(seconds): a portable pause (no os.execute("sleep")), on the
 * platform's condition variable with nothing to wake it */
static int l_sleep(lua_State *L) {
  double t = luaL_checknumber(L, 1), deadline = plat_monotime() + (t > 0 ? t : 0);
  plat_lock *l = plat_lock_new();
  if (!l) return luaL_error(L, "not enough memory");
  plat_lock_enter(l);
  while (plat_monotime() < deadline) plat_lock_wait(l, deadline - plat_monotime());
  plat_lock_leave(l);
  plat_lock_free(l);
  return 0;
}

/* core.set_option(name, value) -> true | nil, hr */
static int l_set_option(lua_State *L) {
  plat_hresult hr = plat_set_option(bind_check_plain(L, 1), bind_check_plain(L, 2));
  if (hr < 0) return bind_fail(L, hr, NULL);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg functions[] = {
    {"monotime", l_monotime},
    {"sleep", l_sleep},
    {"set_option", l_set_option},
    {NULL, NULL},
};

void core_open_service(lua_State *L) { luaL_setfuncs(L, functions, 0); }
