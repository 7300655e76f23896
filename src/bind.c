/* The binding's shared helpers (see bind.h for the conventions). */
#include <math.h>
#include <string.h>

#include "bind.h"
#include "guidtext.h"

int bind_fail(lua_State *L, plat_hresult hr, char *result) {
  lua_pushnil(L);
  lua_pushinteger(L, (lua_Integer)hr);
  bind_push_owned(L, result);
  return 3;
}

int bind_json_result(lua_State *L, plat_hresult hr, char *out, char *result) {
  if (hr < 0) {
    plat_free(out);
    return bind_fail(L, hr, result);
  }
  plat_free(result);
  bind_push_owned(L, out);
  return 1;
}

int bind_ok_result(lua_State *L, plat_hresult hr, char *result) {
  if (hr < 0) return bind_fail(L, hr, result);
  plat_free(result);
  lua_pushboolean(L, 1);
  return 1;
}

int bind_fail_last(lua_State *L, plat_hresult hr) {
  const char *msg = plat_last_error();
  lua_pushnil(L);
  lua_pushinteger(L, hr);
  lua_pushnil(L);
  if (msg) lua_pushstring(L, msg);
  else lua_pushnil(L);
  return 4;
}

int bind_ok_last(lua_State *L, plat_hresult hr) {
  if (hr < 0) return bind_fail_last(L, hr);
  lua_pushboolean(L, 1);
  return 1;
}

int bind_has_nul(const char *s, size_t len) { return strlen(s) != len; }

const char *bind_check_plain(lua_State *L, int idx) {
  size_t len;
  const char *s = luaL_checklstring(L, idx, &len);
  if (bind_has_nul(s, len)) luaL_argerror(L, idx, "contains a NUL byte");
  return s;
}

const char *bind_opt_plain(lua_State *L, int idx, const char *def) {
  return lua_isnoneornil(L, idx) ? def : bind_check_plain(L, idx);
}

/* luaL_checknumber and luaL_checkinteger convert numeric strings ("256",
 * " 0x10 "); a number argument takes a Lua number only. */
static void check_number_type(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TNUMBER) luaL_typeerror(L, idx, "number");
}

lua_Number bind_check_number(lua_State *L, int idx) {
  check_number_type(L, idx);
  return lua_tonumber(L, idx);
}

lua_Integer bind_check_integer(lua_State *L, int idx) {
  check_number_type(L, idx);
  return luaL_checkinteger(L, idx); /* refuses 2.5 and NaN */
}

lua_Integer bind_opt_integer(lua_State *L, int idx, lua_Integer dflt) {
  return lua_isnoneornil(L, idx) ? dflt : bind_check_integer(L, idx);
}

double bind_opt_seconds(lua_State *L, int idx) {
  lua_Number t;
  if (lua_isnoneornil(L, idx)) return HUGE_VAL;
  t = bind_check_number(L, idx);
  luaL_argcheck(L, t == t, idx, "timeout is NaN");
  return t < 0 ? 0 : (double)t;
}

void bind_set_timeout(lua_State *L, int idx) {
  lua_Number t = lua_isnoneornil(L, idx) ? -1 : bind_check_number(L, idx);
  luaL_argcheck(L, t == t && (t >= 0 || lua_isnoneornil(L, idx)), idx, "timeout must be >= 0");
  plat_set_timeout((double)t);
}

void bind_push_owned(lua_State *L, char *s) {
  if (s) {
    /* only a memory error can raise here; leaking s then is acceptable */
    lua_pushstring(L, s);
    plat_free(s);
  } else {
    lua_pushnil(L);
  }
}

int bind_rawfield(lua_State *L, int idx, const char *k) {
  idx = lua_absindex(L, idx);
  lua_pushstring(L, k);
  return lua_rawget(L, idx);
}

/* The string at idx, which must be one (checked by the caller), without
 * NUL bytes; it stays alive while the value referencing it lives. */
static const char *plain_string(lua_State *L, int idx, const char *what) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  if (bind_has_nul(s, len)) luaL_error(L, "%s contains a NUL byte", what);
  return s;
}

void bind_check_driver_info(lua_State *L, int idx, plat_driver_info *info) {
  idx = lua_absindex(L, idx);
  info->Flavour = 1;
  if (lua_type(L, idx) == LUA_TSTRING) {
    info->HomeDir = plain_string(L, idx, "HomeDir");
    return;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  if (bind_rawfield(L, idx, "Flavour") != LUA_TNIL) info->Flavour = (int)bind_check_integer(L, -1);
  lua_pop(L, 1);
  if (bind_rawfield(L, idx, "HomeDir") != LUA_TSTRING)
    luaL_error(L, "DriverInfo.HomeDir must be a string");
  info->HomeDir = plain_string(L, -1, "HomeDir");
  lua_pop(L, 1); /* the string stays alive: it is referenced by the table */
}

/* The {ID=, Path=} form of layer i (the table on the stack top). */
static void read_layer_table(lua_State *L, size_t i, plat_layer_descriptor *d) {
  int t;
  if (bind_rawfield(L, -1, "Path") != LUA_TSTRING)
    luaL_error(L, "layer %d: Path must be a string", (int)i + 1);
  d->Path = plain_string(L, -1, "layer path");
  lua_pop(L, 1);
  t = bind_rawfield(L, -1, "ID");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    t = bind_rawfield(L, -1, "Id");
  }
  if (t == LUA_TSTRING) {
    if (guid_parse(lua_tostring(L, -1), d->LayerId) != 0)
      luaL_error(L, "layer %d: ID is not a GUID", (int)i + 1);
  } else if (t != LUA_TNIL) {
    luaL_error(L, "layer %d: ID must be a GUID string", (int)i + 1);
  }
  lua_pop(L, 1);
}

/* Reads layer i (the value on the stack top) into d. */
static void read_layer(lua_State *L, size_t i, plat_layer_descriptor *d) {
  if (lua_type(L, -1) == LUA_TSTRING) {
    d->Path = plain_string(L, -1, "layer path");
  } else if (lua_type(L, -1) == LUA_TTABLE) {
    read_layer_table(L, i, d);
  } else {
    luaL_error(L, "layer %d must be a path or {ID=, Path=}", (int)i + 1);
  }
}

/* The descriptor array is a userdata left on the stack top (when n > 0) so
 * that Lua's GC owns it, with the path strings (and the {ID=, Path=}
 * tables) anchored in its user value.  The count is the raw length, so a
 * __len metamethod cannot size the array, and the elements are read raw,
 * so an __index metamethod cannot run (or swap values) meanwhile. */
size_t bind_check_layer_descriptors(lua_State *L, int idx, plat_layer_descriptor **out) {
  size_t n, i;
  plat_layer_descriptor *d;
  idx = lua_absindex(L, idx);
  *out = NULL;
  if (lua_isnoneornil(L, idx)) return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  n = (size_t)lua_rawlen(L, idx);
  if (n == 0) return 0;
  if (n > BIND_MAX_LAYERS)
    luaL_error(L, "too many layers (%I, at most %d)", (lua_Integer)n, BIND_MAX_LAYERS);
  d = lua_newuserdatauv(L, n * sizeof *d, 1);
  memset(d, 0, n * sizeof *d);
  lua_createtable(L, (int)n, 0);
  lua_setiuservalue(L, -2, 1);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)(i + 1));
    read_layer(L, i, &d[i]);
    /* anchor the value in the descriptor's uservalue table */
    lua_getiuservalue(L, -2, 1);
    lua_insert(L, -2);
    lua_rawseti(L, -2, (lua_Integer)(i + 1));
    lua_pop(L, 1);
  }
  *out = d;
  return n;
}

/* A layer id is one folder name under HomeDir (vmcompute joins them): no
 * separators, no "." or "..", nothing Windows forbids in a name or
 * silently strips (a trailing dot or space would alias another layer). */
static const char *layer_id_problem(const char *id, size_t len) {
  size_t i;
  if (len == 0) return "it is empty";
  if (bind_has_nul(id, len)) return "it contains a NUL byte";
  if (len > 255) return "it is longer than 255 bytes";
  if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0) return "it is \".\" or \"..\"";
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)id[i];
    if (c < 0x20 || c == 0x7f) return "it contains a control character";
    if (strchr("/\\:*?\"<>|", c)) return "it contains one of / \\ : * ? \" < > |";
  }
  if (id[len - 1] == '.' || id[len - 1] == ' ') return "it ends with a dot or a space";
  return NULL;
}

const char *bind_check_layer_id(lua_State *L, int idx) {
  size_t len;
  const char *id = luaL_checklstring(L, idx, &len);
  return layer_id_problem(id, len) ? NULL : id;
}

int bind_fail_layer_id(lua_State *L, int idx) {
  size_t len;
  const char *id = luaL_checklstring(L, idx, &len);
  const char *why = layer_id_problem(id, len);
  lua_pushnil(L);
  lua_pushinteger(L, (lua_Integer)PLAT_E_INVALIDARG);
  lua_pushnil(L);
  /* %s stops at a NUL byte; the reason names it */
  lua_pushfstring(L, "invalid layer id \"%s\": %s", id, why ? why : "");
  return 4;
}

void bind_new_class(lua_State *L, const char *mt, const luaL_Reg *methods, lua_CFunction close) {
  luaL_newmetatable(L, mt);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, close);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
}
