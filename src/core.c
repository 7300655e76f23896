/* luaopen_hcsshim_core: the thin C core of hcsshim for Lua.  This file only
 * assembles the module: each part (src/modules.h) registers its own
 * functions, and the helpers they share live in src/bind.c. */
#include <lauxlib.h>
#include <signal.h>
#include <string.h>

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

/* A write to the stdin pipe of a process that has exited must fail with
 * EPIPE ("Broken pipe", 32), not kill the host program: Lua's file:write
 * goes through stdio, so no per-call MSG_NOSIGNAL or signal mask can wrap
 * it.  As luasocket does, SIGPIPE is ignored when the module loads, and
 * only if nobody chose a disposition for it (a host's own handler or an
 * explicit SIG_IGN is kept).  Children get default dispositions again
 * (src/linux/common/spawn.c).  Windows has no SIGPIPE. */
static void ignore_sigpipe(void) {
#ifdef SIGPIPE
  struct sigaction old, ign;
  if (sigaction(SIGPIPE, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
      old.sa_handler != SIG_DFL)
    return;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, NULL);
#endif
}

int luaopen_hcsshim_core(lua_State *L);

int luaopen_hcsshim_core(lua_State *L) {
  ignore_sigpipe();
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
  core_open_tarstream(L);
  return 1;
}
