/* luaopen_hcsshim_core: the thin C core of hcsshim for Lua.  Each object
 * type lives in its own file and registers itself here; this file holds the
 * helpers they share. */
#include <string.h>

#include "core.h"
#include "queue.h"

int core_fail(lua_State *L, plat_hresult hr, char *result) {
  lua_pushnil(L);
  lua_pushinteger(L, (lua_Integer)hr);
  core_push_owned(L, result);
  return 3;
}

int core_json_result(lua_State *L, plat_hresult hr, char *out, char *result) {
  if (hr < 0) {
    plat_free(out);
    return core_fail(L, hr, result);
  }
  plat_free(result);
  core_push_owned(L, out);
  return 1;
}

int core_ok_result(lua_State *L, plat_hresult hr, char *result) {
  if (hr < 0) return core_fail(L, hr, result);
  plat_free(result);
  lua_pushboolean(L, 1);
  return 1;
}

int core_fail_last(lua_State *L, plat_hresult hr) {
  const char *msg = plat_last_error();
  lua_pushnil(L);
  lua_pushinteger(L, hr);
  lua_pushnil(L);
  if (msg) lua_pushstring(L, msg); else lua_pushnil(L);
  return 4;
}

int core_ok_last(lua_State *L, plat_hresult hr) {
  if (hr < 0) return core_fail_last(L, hr);
  lua_pushboolean(L, 1);
  return 1;
}

const char *core_check_plain(lua_State *L, int idx) {
  size_t len;
  const char *s = luaL_checklstring(L, idx, &len);
  if (strlen(s) != len) luaL_argerror(L, idx, "contains a NUL byte");
  return s;
}

void core_push_owned(lua_State *L, char *s) {
  if (s) {
    /* only a memory error can raise here; leaking s then is acceptable */
    lua_pushstring(L, s);
    plat_free(s);
  } else {
    lua_pushnil(L);
  }
}

static const char *check_plain_string(lua_State *L, int idx, const char *what) {
  size_t len;
  const char *s = luaL_checklstring(L, idx, &len);
  if (strlen(s) != len) luaL_error(L, "%s contains a NUL byte", what);
  return s;
}

void core_check_driver_info(lua_State *L, int idx, plat_driver_info *info) {
  idx = lua_absindex(L, idx);
  info->Flavour = 1;
  if (lua_type(L, idx) == LUA_TSTRING) {
    info->HomeDir = check_plain_string(L, idx, "HomeDir");
    return;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_getfield(L, idx, "Flavour");
  if (!lua_isnil(L, -1)) info->Flavour = (int)luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, idx, "HomeDir");
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "DriverInfo.HomeDir must be a string");
  info->HomeDir = check_plain_string(L, -1, "HomeDir");
  lua_pop(L, 1); /* the string stays alive: it is referenced by the table */
}

/* The descriptor array is a userdata left on the stack top (when n > 0) so
 * that Lua's GC owns it, with the path strings anchored in its user value. */
size_t core_check_layer_descriptors(lua_State *L, int idx, plat_layer_descriptor **out) {
  size_t n, i;
  plat_layer_descriptor *d;
  idx = lua_absindex(L, idx);
  *out = NULL;
  if (lua_isnoneornil(L, idx)) return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  n = (size_t)luaL_len(L, idx);
  if (n == 0) return 0;
  d = lua_newuserdatauv(L, n * sizeof *d, 1);
  /* keep path strings alive as long as the descriptor array */
  lua_createtable(L, (int)n, 0);
  lua_setiuservalue(L, -2, 1);
  memset(d, 0, n * sizeof *d);
  for (i = 0; i < n; i++) {
    lua_geti(L, idx, (lua_Integer)(i + 1));
    if (lua_type(L, -1) == LUA_TSTRING) {
      d[i].Path = check_plain_string(L, -1, "layer path");
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      lua_getfield(L, -1, "Path");
      if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "layer %d: Path must be a string", (int)i + 1);
      d[i].Path = check_plain_string(L, -1, "layer path");
      lua_pop(L, 1);
      lua_getfield(L, -1, "ID");
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_getfield(L, -1, "Id");
      }
      if (lua_type(L, -1) == LUA_TSTRING) {
        if (core_guid_parse(lua_tostring(L, -1), d[i].LayerId) != 0)
          luaL_error(L, "layer %d: ID is not a GUID", (int)i + 1);
      } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "layer %d: ID must be a GUID string", (int)i + 1);
      }
      lua_pop(L, 1);
    } else {
      luaL_error(L, "layer %d must be a path or {ID=, Path=}", (int)i + 1);
    }
    /* anchor the value in the descriptor's uservalue table */
    lua_getiuservalue(L, -2, 1);
    lua_insert(L, -2);
    lua_rawseti(L, -2, (lua_Integer)(i + 1));
    lua_pop(L, 1);
  }
  *out = d;
  return n;
}

/* core.monotime() -> seconds on a monotonic clock (float) */
static int l_monotime(lua_State *L) {
  lua_pushnumber(L, plat_monotime());
  return 1;
}

/* Finalised when the Lua state closes, after every handle made later
 * (Lua finalises in reverse order), so the registry is empty by then. */
static int registry_gc(lua_State *L) {
  (void)L;
  nq_shutdown();
  plat_shutdown();
  return 0;
}

/* core.set_option(name, value) -> true | nil, hr */
static int l_set_option(lua_State *L) {
  plat_hresult hr = plat_set_option(luaL_checkstring(L, 1), luaL_checkstring(L, 2));
  if (hr < 0) return core_fail(L, hr, NULL);
  lua_pushboolean(L, 1);
  return 1;
}

int luaopen_hcsshim_core(lua_State *L);

int luaopen_hcsshim_core(lua_State *L) {
  lua_newuserdatauv(L, 0, 0);
  lua_newtable(L);
  lua_pushcfunction(L, registry_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "hcsshim.core.sentinel");
  lua_newtable(L);
  lua_pushliteral(L, HCSSHIM_VERSION);
  lua_setfield(L, -2, "_VERSION");
#ifdef _WIN32
  lua_pushliteral(L, "windows");
#else
  lua_pushliteral(L, "linux");
#endif
  lua_setfield(L, -2, "platform");
  lua_pushcfunction(L, l_monotime);
  lua_setfield(L, -2, "monotime");
  lua_pushcfunction(L, l_set_option);
  lua_setfield(L, -2, "set_option");
  core_open_guid(L);
  core_open_json(L);
  core_open_system(L);
  core_open_process(L);
  core_open_layer(L);
  core_open_hns(L);
  core_open_wclayer(L);
  core_open_digest(L);
  core_open_archive(L);
  core_open_files(L);
  return 1;
}
