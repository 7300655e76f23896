/* The vmcompute functions beyond the graph-driver basics: layer copy,
 * legacy folder export/import, base/utility image processing, the streaming
 * Import/ExportLayer Begin/Next/Write/Read/End API, HcsModifyServiceSettings
 * and iphlpapi's SetCurrentThreadCompartmentId.  On Linux each returns
 * ERROR_NOT_SUPPORTED.  Failure: nil, hr, result|nil, message|nil. */
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "modules.h"

#define READER_MT "hcsshim.layer_reader"
#define WRITER_MT "hcsshim.layer_writer"

/* (info, id, second, parents) */
static int four(lua_State *L,
                plat_hresult (*f)(const plat_driver_info *, const char *, const char *,
                                  const plat_layer_descriptor *, size_t)) {
  plat_driver_info info;
  plat_layer_descriptor *d;
  const char *id, *second;
  size_t n;
  bind_check_driver_info(L, 1, &info);
  if (!(id = bind_check_layer_id(L, 2))) return bind_fail_layer_id(L, 2);
  second = bind_check_plain(L, 3);
  /* CopyLayer's second argument is the new layer's id; the others' a folder */
  if (f == plat_CopyLayer && !bind_check_layer_id(L, 3)) return bind_fail_layer_id(L, 3);
  n = bind_check_layer_descriptors(L, 4, &d);
  return bind_ok_last(L, f(&info, id, second, d, n));
}

static int l_copy(lua_State *L) { return four(L, plat_CopyLayer); }
static int l_export(lua_State *L) { return four(L, plat_ExportLayer); }
static int l_import(lua_State *L) { return four(L, plat_ImportLayer); }
static int l_base(lua_State *L) {
  return bind_ok_last(L, plat_ProcessBaseImage(bind_check_plain(L, 1)));
}
static int l_utility(lua_State *L) {
  return bind_ok_last(L, plat_ProcessUtilityImage(bind_check_plain(L, 1)));
}

static int l_compartment(lua_State *L) {
  lua_Integer id = bind_check_integer(L, 1);
  luaL_argcheck(L, id >= 0 && id <= 0xFFFFFFFF, 1, "compartment id out of range");
  return bind_ok_last(L, plat_SetCurrentThreadCompartmentId((uint32_t)id));
}

static int l_modify_service(lua_State *L) {
  char *result = NULL;
  return bind_ok_result(L, plat_HcsModifyServiceSettings(bind_check_plain(L, 1), &result), result);
}

#ifdef _WIN32
/* core.enable_process_privileges({name, ...}) -> true | nil, hr, nil, message */
static int l_privileges(lua_State *L) {
  const char *names[64];
  size_t n, i;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (size_t)lua_rawlen(L, 1); /* read raw, as every caller table */
  luaL_argcheck(L, n <= 64, 1, "at most 64 privileges");
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 1, (lua_Integer)i + 1);
    names[i] = bind_check_plain(L, -1);
    lua_pop(L, 1); /* still referenced by the table */
  }
  return bind_ok_last(L, plat_EnableProcessPrivileges(names, n));
}
#endif

/* ---- streams: userdata owning the vmcompute context until End ---- */

typedef struct stream {
  plat_layer_stream ctx;
  int open;
} stream;

static stream *check_stream(lua_State *L, const char *mt) {
  stream *s = (stream *)luaL_checkudata(L, 1, mt);
  if (!s->open)
    luaL_error(L, "attempt to use a closed layer %s",
               strcmp(mt, READER_MT) == 0 ? "reader" : "writer");
  return s;
}

static int begin(lua_State *L, const char *mt,
                 plat_hresult (*f)(const plat_driver_info *, const char *,
                                   const plat_layer_descriptor *, size_t, plat_layer_stream *)) {
  plat_driver_info info;
  plat_layer_descriptor *d;
  const char *id;
  size_t n;
  plat_hresult hr;
  plat_layer_stream ctx = NULL;
  stream *s;
  bind_check_driver_info(L, 1, &info);
  if (!(id = bind_check_layer_id(L, 2))) return bind_fail_layer_id(L, 2);
  n = bind_check_layer_descriptors(L, 3, &d);
  s = (stream *)lua_newuserdatauv(L, sizeof *s, 0);
  s->ctx = NULL;
  s->open = 0;
  luaL_setmetatable(L, mt);
  hr = f(&info, id, d, n, &ctx);
  if (hr < 0) return bind_fail_last(L, hr);
  s->ctx = ctx;
  s->open = 1;
  return 1;
}

static int l_import_begin(lua_State *L) { return begin(L, WRITER_MT, plat_ImportLayerBegin); }
static int l_export_begin(lua_State *L) { return begin(L, READER_MT, plat_ExportLayerBegin); }

static int64_t opt_field(lua_State *L, int idx, const char *k) {
  int64_t v;
  v = bind_rawfield(L, idx, k) == LUA_TNIL ? 0 : (int64_t)bind_check_integer(L, -1);
  lua_pop(L, 1);
  return v;
}

/* w:next(name, info|nil) -> true | nil, hr, nil, msg; info nil = tombstone */
static int w_next(lua_State *L) {
  stream *s = check_stream(L, WRITER_MT);
  const char *name = bind_check_plain(L, 2);
  plat_file_basic_info fi;
  if (lua_isnoneornil(L, 3)) return bind_ok_last(L, plat_ImportLayerNext(s->ctx, name, NULL));
  luaL_checktype(L, 3, LUA_TTABLE);
  fi.CreationTime = opt_field(L, 3, "CreationTime");
  fi.LastAccessTime = opt_field(L, 3, "LastAccessTime");
  fi.LastWriteTime = opt_field(L, 3, "LastWriteTime");
  fi.ChangeTime = opt_field(L, 3, "ChangeTime");
  fi.FileAttributes = (uint32_t)opt_field(L, 3, "FileAttributes");
  return bind_ok_last(L, plat_ImportLayerNext(s->ctx, name, &fi));
}

/* w:link(name, target) -> true | nil, hr, nil, msg */
static int w_link(lua_State *L) {
  stream *s = check_stream(L, WRITER_MT);
  const char *name = bind_check_plain(L, 2), *target = bind_check_plain(L, 3);
  return bind_ok_last(L, plat_ImportLayerLink(s->ctx, name, target));
}

static int w_write(lua_State *L) {
  stream *s = check_stream(L, WRITER_MT);
  size_t len;
  const char *buf = luaL_checklstring(L, 2, &len);
  while (len > 0) {
    uint32_t chunk = len > 0x40000000u ? 0x40000000u : (uint32_t)len;
    plat_hresult hr = plat_ImportLayerWrite(s->ctx, buf, chunk);
    if (hr < 0) return bind_fail_last(L, hr);
    buf += chunk;
    len -= chunk;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* :close() -> End; its result must be checked (true | nil, hr, ...) */
static int s_close(lua_State *L, const char *mt, plat_hresult (*end)(plat_layer_stream)) {
  stream *s = (stream *)luaL_checkudata(L, 1, mt);
  if (!s->open) {
    lua_pushboolean(L, 1);
    return 1;
  }
  s->open = 0;
  return bind_ok_last(L, end(s->ctx));
}

static int w_close(lua_State *L) { return s_close(L, WRITER_MT, plat_ImportLayerEnd); }
static int r_close(lua_State *L) { return s_close(L, READER_MT, plat_ExportLayerEnd); }

/* r:next() -> name, info|nil (deleted), size | false (end) | nil, hr, nil, msg */
static int r_next(lua_State *L) {
  stream *s = check_stream(L, READER_MT);
  char *name = NULL;
  plat_file_basic_info fi;
  int64_t size = 0;
  int deleted = 0;
  plat_hresult hr;
  memset(&fi, 0, sizeof fi);
  hr = plat_ExportLayerNext(s->ctx, &name, &fi, &size, &deleted);
  if (hr == PLAT_E_NO_MORE_FILES) {
    plat_free(name);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (hr < 0) {
    plat_free(name);
    return bind_fail_last(L, hr);
  }
  bind_push_owned(L, name);
  if (deleted) {
    lua_pushnil(L);
  } else {
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, fi.CreationTime);
    lua_setfield(L, -2, "CreationTime");
    lua_pushinteger(L, fi.LastAccessTime);
    lua_setfield(L, -2, "LastAccessTime");
    lua_pushinteger(L, fi.LastWriteTime);
    lua_setfield(L, -2, "LastWriteTime");
    lua_pushinteger(L, fi.ChangeTime);
    lua_setfield(L, -2, "ChangeTime");
    lua_pushinteger(L, fi.FileAttributes);
    lua_setfield(L, -2, "FileAttributes");
  }
  lua_pushinteger(L, size);
  return 3;
}

/* r:read(n) -> bytes ("" at the end of the current file) | nil, hr, ... */
static int r_read(lua_State *L) {
  stream *s = check_stream(L, READER_MT);
  lua_Integer n = bind_opt_integer(L, 2, 65536);
  uint32_t got = 0;
  plat_hresult hr;
  char *buf;
  luaL_argcheck(L, n > 0 && n <= 0x40000000, 2, "read size out of range");
  buf = malloc((size_t)n);
  if (!buf) return luaL_error(L, "not enough memory");
  hr = plat_ExportLayerRead(s->ctx, buf, (uint32_t)n, &got);
  if (hr < 0) {
    free(buf);
    return bind_fail_last(L, hr);
  }
  lua_pushlstring(L, buf, got);
  free(buf);
  return 1;
}

static const luaL_Reg writer_methods[] = {
    {"next", w_next}, {"link", w_link}, {"write", w_write}, {"close", w_close}, {NULL, NULL}};
static const luaL_Reg reader_methods[] = {
    {"next", r_next}, {"read", r_read}, {"close", r_close}, {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"copy_layer", l_copy},
    {"export_layer", l_export},
    {"import_layer_folder", l_import},
    {"process_base_image", l_base},
    {"process_utility_image", l_utility},
    {"import_layer_begin", l_import_begin},
    {"export_layer_begin", l_export_begin},
    {"set_current_thread_compartment_id", l_compartment},
    {"modify_service_settings", l_modify_service},
#ifdef _WIN32
    {"enable_process_privileges", l_privileges},
#endif
    {NULL, NULL},
};

void core_open_wclayer(lua_State *L) {
  bind_new_class(L, WRITER_MT, writer_methods, w_close);
  bind_new_class(L, READER_MT, reader_methods, r_close);
  luaL_setfuncs(L, functions, 0);
}
