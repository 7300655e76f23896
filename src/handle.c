#include <math.h>
#include <stdio.h>

#include "handle.h"

int handle_raise_closed(lua_State *L, const char *what) {
  lua_getfield(L, LUA_REGISTRYINDEX, "hcsshim.closed_error");
  if (lua_isfunction(L, -1)) {
    lua_pushfstring(L, "attempt to use a closed %s", what);
    lua_call(L, 1, 1);
    return lua_error(L);
  }
  return luaL_error(L, "attempt to use a closed %s", what);
}

double handle_opt_timeout(lua_State *L, int idx, double dflt) {
  double t;
  if (lua_isnoneornil(L, idx)) return dflt;
  t = luaL_checknumber(L, idx);
  if (isnan(t) || t < 0) luaL_argerror(L, idx, "timeout must be a number of seconds >= 0");
  if (isinf(t)) return -1;
  return t;
}

int handle_wait(lua_State *L, nqueue *q, int type_idx, int timeout_idx) {
  uint32_t type = (uint32_t)luaL_checkinteger(L, type_idx);
  double timeout = handle_opt_timeout(L, timeout_idx, -1);
  plat_hresult status;
  char *data;
  static const char *const reasons[] = {"ok", "timeout", "exited", "disconnected", "closed"};
  nq_result r = nq_wait(q, type, timeout, &status, &data);
  if (r == NQ_OK) {
    lua_pushboolean(L, 1);
    lua_pushinteger(L, status);
    if (data) lua_pushstring(L, data); else lua_pushnil(L);
    return 3;
  }
  lua_pushboolean(L, 0);
  lua_pushstring(L, reasons[r]);
  lua_pushinteger(L, status);
  return 3;
}

int handle_has(lua_State *L, nqueue *q, int type_idx) {
  plat_hresult status = 0;
  int has = nq_has(q, (uint32_t)luaL_checkinteger(L, type_idx), &status);
  lua_pushboolean(L, has);
  lua_pushinteger(L, status);
  return 2;
}

static int file_close(lua_State *L) {
  luaL_Stream *p = (luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
  int ok = fclose(p->f) == 0;
  return luaL_fileresult(L, ok, NULL);
}

void handle_push_file(lua_State *L, plat_handle h, const char *mode) {
  luaL_Stream *p;
  if (h == PLAT_NO_HANDLE) {
    lua_pushnil(L);
    return;
  }
  /* created closed first, as liolib does, so a failure below leaves a
   * consistent object for the collector */
  p = (luaL_Stream *)lua_newuserdatauv(L, sizeof(luaL_Stream), 0);
  p->closef = NULL;
  luaL_setmetatable(L, LUA_FILEHANDLE);
  p->f = plat_handle_fdopen(h, mode);
  if (!p->f) {
    plat_handle_close(h);
    luaL_error(L, "cannot open stdio handle");
  }
  p->closef = &file_close;
}
