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

void handle_push_files(lua_State *L, plat_handle in, plat_handle out, plat_handle err) {
  plat_handle h[3] = {in, out, err};
  static const char *const modes[3] = {"w", "r", "r"};
  int i, has_io;
  /* without the io library's metatable the files would have no __gc and
   * leak their descriptors: refuse before taking any of them over */
  has_io = luaL_getmetatable(L, LUA_FILEHANDLE) == LUA_TTABLE;
  lua_pop(L, 1);
  if (!has_io) {
    for (i = 0; i < 3; i++) plat_handle_close(h[i]);
    luaL_error(L, "process stdio needs the io library (luaL_openlibs or require \"io\")");
  }
  for (i = 0; i < 3; i++) {
    luaL_Stream *p;
    if (h[i] == PLAT_NO_HANDLE) {
      lua_pushnil(L);
      continue;
    }
    /* created closed first, as liolib does, so a failure below leaves a
     * consistent object for the collector */
    p = (luaL_Stream *)lua_newuserdatauv(L, sizeof(luaL_Stream), 0);
    p->closef = NULL;
    luaL_setmetatable(L, LUA_FILEHANDLE);
    p->f = plat_handle_fdopen(h[i], modes[i]);
    if (!p->f) {
      int j;
      for (j = i; j < 3; j++) plat_handle_close(h[j]);
      luaL_error(L, "cannot open a stdio handle of the process");
    }
    p->closef = &file_close;
  }
}
