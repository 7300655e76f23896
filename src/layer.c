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

static int l_activate(lua_State *L) {
  plat_driver_info info;
  bind_check_driver_info(L, 1, &info);
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  return bind_ok_last(L, plat_ActivateLayer(&info, lua_tostring(L, 2)));
}

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
  size = luaL_checkinteger(L, 3);
  luaL_argcheck(L, size >= 0, 3, "size must be >= 0 bytes");
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  return bind_ok_last(L, plat_ExpandSandboxSize(&info, lua_tostring(L, 2), (uint64_t)size));
}

static int l_deactivate(lua_State *L) {
  plat_driver_info info;
  bind_check_driver_info(L, 1, &info);
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  return bind_ok_last(L, plat_DeactivateLayer(&info, lua_tostring(L, 2)));
}

static int l_destroy(lua_State *L) {
  plat_driver_info info;
  bind_check_driver_info(L, 1, &info);
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  return bind_ok_last(L, plat_DestroyLayer(&info, lua_tostring(L, 2)));
}

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

static int l_unprepare(lua_State *L) {
  plat_driver_info info;
  bind_check_driver_info(L, 1, &info);
  if (!bind_check_layer_id(L, 2)) return bind_fail_layer_id(L, 2);
  return bind_ok_last(L, plat_UnprepareLayer(&info, lua_tostring(L, 2)));
}

/* core.import_layer_tar(info, id, tar_path, parents) -> size | nil, hr, result */
static int l_import_tar(lua_State *L) {
  plat_driver_info info;
  plat_layer_descriptor *d;
  size_t n;
  const char *id, *tar;
  uint64_t size = 0;
  char *result = NULL;
  plat_hresult hr;
  bind_check_driver_info(L, 1, &info);
  if (!(id = bind_check_layer_id(L, 2))) return bind_fail_layer_id(L, 2);
  tar = bind_check_plain(L, 3);
  n = bind_check_layer_descriptors(L, 4, &d);
  hr = plat_ImportLayerTar(&info, id, tar, d, n, &size, &result);
  if (hr < 0) return bind_fail(L, hr, result);
  plat_free(result);
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
    {NULL, NULL},
};

void core_open_layer(lua_State *L) { luaL_setfuncs(L, functions, 0); }
