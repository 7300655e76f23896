/* luaopen_hcsshim_core: the thin C core of hcsshim for Lua.  This file only
 * assembles the module: each part (src/modules.h) registers its own
 * functions, and the helpers they share live in src/bind.c. */
#include <lauxlib.h>

#include "modules.h"
#include "platform.h"
#include "queue.h"

/* Finalised when the Lua state closes, after every handle made later
 * (Lua finalises in reverse order), so the registry is empty by then. */
static int registry_gc(lua_State *L) {
  (void)L;
  nq_shutdown();
  plat_shutdown();
  return 0;
}

static void set_sentinel(lua_State *L) {
  lua_newuserdatauv(L, 0, 0);
  lua_newtable(L);
  lua_pushcfunction(L, registry_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "hcsshim.core.sentinel");
}

int luaopen_hcsshim_core(lua_State *L);

int luaopen_hcsshim_core(lua_State *L) {
  set_sentinel(L);
  lua_newtable(L);
  lua_pushliteral(L, HCSSHIM_VERSION);
  lua_setfield(L, -2, "_VERSION");
#ifdef _WIN32
  lua_pushliteral(L, "windows");
#else
  lua_pushliteral(L, "linux");
#endif
  lua_setfield(L, -2, "platform");
  core_open_service(L);
  core_open_constants(L);
  core_open_guid(L);
  core_open_json(L);
  core_open_system(L);
  core_open_process(L);
  core_open_layer(L);
  core_open_hns(L);
  core_open_wclayer(L);
  core_open_pipe(L);
  core_open_digest(L);
  core_open_archive(L);
  core_open_files(L);
  return 1;
}
