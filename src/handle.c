#include <math.h>
#include <stdio.h>

#include "handle.h"

#include <stdlib.h>
#include <string.h>

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
    if (data) lua_pushstring(L, data);
    else lua_pushnil(L);
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

#ifdef _WIN32
void handle_push_files(lua_State *L, plat_handle in, plat_handle out, plat_handle err) {
  plat_handle h[3];
  h[0] = in;
  h[1] = out;
  h[2] = err;
  plat_push_stdio(L, h);
}
#else
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
#endif

hhandle *handle_new(lua_State *L, size_t size, const char *mt, const handle_ops *ops) {
  hhandle *b = (hhandle *)lua_newuserdatauv(L, size, 1);
  memset(b, 0, size);
  b->ops = ops;
  luaL_setmetatable(L, mt);
  return b;
}

hhandle *handle_check(lua_State *L, int idx, const char *mt) {
  hhandle *b = (hhandle *)luaL_checkudata(L, idx, mt);
  if (!b->open) handle_raise_closed(L, b->ops->what);
  return b;
}

/* Unregister first (it waits for an in-flight callback), then free the
 * queue, then close the platform handle, as hcsshim orders it. */
void handle_release(hhandle *b) {
  if (!b->open) return;
  b->open = 0;
  if (b->q) nq_close(b->q);
  if (b->cb) b->ops->unreg(b->cb);
  b->cb = NULL;
  if (b->q) nq_free(b->q);
  b->q = NULL;
  if (b->h) b->ops->close(b->h);
  b->h = NULL;
  free(b->sysid);
  b->sysid = NULL;
}

plat_hresult handle_attach(lua_State *L, hhandle *b, void *h, const char *sysid) {
  plat_hresult hr;
  b->h = h;
  b->open = 1;
  b->sysid = strdup(sysid);
  b->q = nq_new();
  if (!b->sysid || !b->q) {
    handle_release(b);
    luaL_error(L, "not enough memory");
  }
  hr = b->ops->reg(h, nq_callback, (void *)b->q->id, &b->cb);
  if (hr < 0) {
    b->cb = NULL;
    handle_release(b);
  }
  return hr;
}

/* The shared methods find their metatable name in upvalue 1. */
static hhandle *self(lua_State *L) {
  return handle_check(L, 1, lua_tostring(L, lua_upvalueindex(1)));
}

static int m_wait(lua_State *L) { return handle_wait(L, self(L)->q, 2, 3); }
static int m_has(lua_State *L) { return handle_has(L, self(L)->q, 2); }

/***
 * A descriptor that becomes readable when a notification arrives for this
 * handle, for event loops: poll it, then call `wait(0)`.  An eventfd on
 * Linux; -1 on Windows (use `wait(0)`).
 * @function system:pollfd
 * @function process:pollfd
 * @treturn integer
 */
static int m_pollfd(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)plat_lock_pollfd(self(L)->q->lock));
  return 1;
}

/***
 * Whether the handle is still open (never raises).
 * @function system:is_open
 * @function process:is_open
 * @treturn boolean
 */
static int m_is_open(lua_State *L) {
  hhandle *b = (hhandle *)luaL_checkudata(L, 1, lua_tostring(L, lua_upvalueindex(1)));
  lua_pushboolean(L, b->open);
  return 1;
}

/***
 * Close the handle (HcsUnregister*Callback, then HcsCloseComputeSystem or
 * HcsCloseProcess).  The compute system or process itself keeps running; a
 * stopped system is forgotten once its last handle closes.  Closing twice
 * is harmless; any other use of a closed handle raises ErrAlreadyClosed.
 * Also the `__gc` and `__close` metamethods.
 * @function system:close
 * @function process:close
 */
static int m_close(lua_State *L) {
  handle_release((hhandle *)luaL_checkudata(L, 1, lua_tostring(L, lua_upvalueindex(1))));
  return 0;
}

void handle_register_common(lua_State *L, const char *mt) {
  static const luaL_Reg methods[] = {
      {"_wait", m_wait},      {"_has", m_has},    {"pollfd", m_pollfd},
      {"is_open", m_is_open}, {"close", m_close}, {NULL, NULL},
  };
  static const luaL_Reg metamethods[] = {{"__gc", m_close}, {"__close", m_close}, {NULL, NULL}};
  lua_pushstring(L, mt);
  luaL_setfuncs(L, metamethods, 1); /* metatable on top */
  lua_pushstring(L, mt);
  lua_pushvalue(L, -3); /* the methods table */
  lua_insert(L, -2);
  luaL_setfuncs(L, methods, 1);
  lua_pop(L, 1);
}
