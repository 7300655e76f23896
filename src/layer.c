/* Layer (graph driver) functions.  Each takes a DriverInfo ({Flavour=,
 * HomeDir=} or a home-dir string) and a layer id, as vmcompute does.
 * Failure: nil, hr, nil, message (plat_last_error()). */
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "modules.h"

/* An optional parent layer id: "" when absent, NULL when invalid. */
static const char *opt_id(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx) || (lua_type(L, idx) == LUA_TSTRING && lua_rawlen(L, idx) == 0))
    return "";
  return bind_check_layer_id(L, idx);
}

/* f(info, id): the layer functions that take nothing more */
static int info_id_call(lua_State *L, plat_hresult (*f)(const plat_driver_info *, const char *)) {
  plat_driver_info info;
  bind_check_driver_info(L, 1, &info);
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  return bind_ok_last(L, f(&info, lua_tostring(L, 2)));
}

static int l_activate(lua_State *L) { return info_id_call(L, plat_ActivateLayer); }

static int l_create(lua_State *L) {
  plat_driver_info info;
  bind_check_driver_info(L, 1, &info);
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  if (!opt_id(L, 3)) return bind_fail_layer_id(L, 3);
  return bind_ok_last(L, plat_CreateLayer(&info, lua_tostring(L, 2), opt_id(L, 3)));
}

static int l_create_sandbox(lua_State *L) {
  plat_driver_info info;
  plat_layer_descriptor *d;
  size_t n;
  const char *id, *parent;
  bind_check_driver_info(L, 1, &info);
  if (!(id = bind_check_layer_id(L, 2))) return bind_fail_layer_id(L, 2);
  if (!(parent = opt_id(L, 3))) return bind_fail_layer_id(L, 3);
  n = bind_check_layer_descriptors(L, 4, &d);
  return bind_ok_last(L, plat_CreateSandboxLayer(&info, id, parent, d, n));
}

static int l_expand(lua_State *L) {
  plat_driver_info info;
  lua_Integer size;
  bind_check_driver_info(L, 1, &info);
  size = bind_check_integer(L, 3);
  luaL_argcheck(L, size >= 0, 3, "size must be >= 0 bytes");
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  return bind_ok_last(L, plat_ExpandSandboxSize(&info, lua_tostring(L, 2), (uint64_t)size));
}

static int l_deactivate(lua_State *L) { return info_id_call(L, plat_DeactivateLayer); }

static int l_destroy(lua_State *L) { return info_id_call(L, plat_DestroyLayer); }

/* GetLayerMountPath's two-call pattern: ask for the length, then fill a
 * caller-allocated buffer (never CoTaskMem). */
static int l_mount_path(lua_State *L) {
  plat_driver_info info;
  const char *id;
  size_t length = 0;
  char *buf;
  int tries;
  plat_hresult hr;
  bind_check_driver_info(L, 1, &info);
  if (!(id = bind_check_layer_id(L, 2))) return bind_fail_layer_id(L, 2);
  hr = plat_GetLayerMountPath(&info, id, &length, NULL);
  if (hr < 0) return bind_fail_last(L, hr);
  if (length == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  /* the path can grow between the two calls: the platform then fails
   * with the length it needs, and the buffer is made again */
  for (tries = 0;; tries++) {
    size_t cap = length;
    buf = malloc(cap + 1);
    if (!buf) return luaL_error(L, "not enough memory");
    hr = plat_GetLayerMountPath(&info, id, &length, buf);
    if (hr >= 0 && length <= cap) break;
    free(buf);
    if (hr >= 0) hr = PLAT_E_FAIL; /* success with a length past the buffer */
    if (length <= cap || tries == 7) return bind_fail_last(L, hr);
  }
  buf[length] = '\0';
  lua_pushstring(L, buf);
  free(buf);
  return 1;
}

static int l_base_images(lua_State *L) {
  char *buf = NULL;
  plat_hresult hr = plat_GetBaseImages(&buf);
  if (hr < 0) {
    plat_free(buf);
    return bind_fail_last(L, hr);
  }
  bind_push_owned(L, buf);
  return 1;
}

static int l_exists(lua_State *L) {
  plat_driver_info info;
  int exists = 0;
  plat_hresult hr;
  bind_check_driver_info(L, 1, &info);
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  hr = plat_LayerExists(&info, lua_tostring(L, 2), &exists);
  if (hr < 0) return bind_fail_last(L, hr);
  lua_pushboolean(L, exists);
  return 1;
}

static int l_prepare(lua_State *L) {
  plat_driver_info info;
  plat_layer_descriptor *d;
  size_t n;
  const char *id;
  bind_check_driver_info(L, 1, &info);
  if (!(id = bind_check_layer_id(L, 2))) return bind_fail_layer_id(L, 2);
  n = bind_check_layer_descriptors(L, 3, &d);
  return bind_ok_last(L, plat_PrepareLayer(&info, id, d, n));
}

static int l_unprepare(lua_State *L) { return info_id_call(L, plat_UnprepareLayer); }

/* A Lua progress callback at stack index `fn` (or none), called on this
 * thread from inside the platform call.  An error it raises cancels the
 * call and is kept at the top of the stack, to be raised again once the
 * call has rolled back. */
typedef struct lua_progress {
  lua_State *L;
  int fn, failed;
  plat_progress p;
} lua_progress;

static int call_progress(void *ctx, uint64_t bytes, uint64_t entries) {
  lua_progress *lp = ctx;
  lua_State *L = lp->L;
  if (lp->failed) return 1;
  lua_pushvalue(L, lp->fn);
  lua_pushinteger(L, (lua_Integer)bytes);
  lua_pushinteger(L, (lua_Integer)entries);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) lp->failed = 1; /* the error stays on the stack */
  return lp->failed;
}

static const plat_progress *check_progress(lua_State *L, int idx, lua_progress *lp) {
  if (lua_isnoneornil(L, idx)) return NULL;
  luaL_checktype(L, idx, LUA_TFUNCTION);
  lp->L = L;
  lp->fn = lua_absindex(L, idx);
  lp->failed = 0;
  lp->p.report = call_progress;
  lp->p.ctx = lp;
  lua_settop(L, idx);
  luaL_checkstack(L, 8, "progress callback"); /* room for its calls, never raised mid-call */
  return &lp->p;
}

/* core.import_layer_tar(info, id, tar_path, parents[, progress]) -> size | nil, hr, result;
 * progress(bytes, entries); an error it raises is raised again after the
 * rollback */
static int l_import_tar(lua_State *L) {
  plat_driver_info info;
  plat_layer_descriptor *d;
  lua_progress lp;
  const plat_progress *pg;
  size_t n;
  const char *id, *tar;
  uint64_t size = 0;
  char *result = NULL;
  plat_hresult hr;
  bind_check_driver_info(L, 1, &info);
  if (!(id = bind_check_layer_id(L, 2))) return bind_fail_layer_id(L, 2);
  tar = bind_check_plain(L, 3);
  pg = check_progress(L, 5, &lp);
  n = bind_check_layer_descriptors(L, 4, &d);
  hr = plat_ImportLayerTar(&info, id, tar, d, n, pg, &size, &result);
  if (pg && lp.failed) {
    plat_free(result);
    return lua_error(L);
  }
  if (hr < 0) return bind_fail(L, hr, result);
  plat_free(result);
  lua_pushinteger(L, (lua_Integer)size);
  return 1;
}

/* core.export_layer_tar(info, id, tar_path, parents[, progress]) -> size | nil, hr, nil, msg;
 * progress as for import_layer_tar */
static int l_export_tar(lua_State *L) {
  plat_driver_info info;
  plat_layer_descriptor *d;
  lua_progress lp;
  const plat_progress *pg;
  size_t n;
  const char *id, *tar;
  uint64_t size = 0;
  plat_hresult hr;
  bind_check_driver_info(L, 1, &info);
  if (!(id = bind_check_layer_id(L, 2))) return bind_fail_layer_id(L, 2);
  tar = bind_check_plain(L, 3);
  pg = check_progress(L, 5, &lp);
  n = bind_check_layer_descriptors(L, 4, &d);
  hr = plat_ExportLayerTar(&info, id, tar, d, n, pg, &size);
  if (pg && lp.failed) return lua_error(L);
  if (hr < 0) return bind_fail_last(L, hr);
  lua_pushinteger(L, (lua_Integer)size);
  return 1;
}

static const luaL_Reg functions[] = {
    {"activate_layer", l_activate},
    {"create_layer", l_create},
    {"create_sandbox_layer", l_create_sandbox},
    {"expand_sandbox_size", l_expand},
    {"deactivate_layer", l_deactivate},
    {"destroy_layer", l_destroy},
    {"get_layer_mount_path", l_mount_path},
    {"get_base_images", l_base_images},
    {"layer_exists", l_exists},
    {"prepare_layer", l_prepare},
    {"unprepare_layer", l_unprepare},
    {"import_layer_tar", l_import_tar},
    {"export_layer_tar", l_export_tar},
    {NULL, NULL},
};

void core_open_layer(lua_State *L) { luaL_setfuncs(L, functions, 0); }
