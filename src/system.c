/* Compute-system handles (HCS_SYSTEM) as userdata "hcsshim.system".
 * Raw methods start with an underscore and return the core's failure
 * triple; lua/hcsshim/system.lua adds the public methods to the same table. */
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "modules.h"
#include "process.h"

#define SYSTEM_MT "hcsshim.system"

typedef struct hsystem {
  hhandle b; /* b.sysid is this system's id */
} hsystem;

static plat_hresult reg(void *h, plat_notification_cb cb, void *ctx, plat_callback *out) {
  return plat_HcsRegisterComputeSystemCallback(h, cb, ctx, out);
}
static plat_hresult unreg(plat_callback cb) { return plat_HcsUnregisterComputeSystemCallback(cb); }
static plat_hresult close_h(void *h) { return plat_HcsCloseComputeSystem(h); }
static const handle_ops system_ops = {"compute system", reg, unreg, close_h};

static hsystem *check_system(lua_State *L, int idx) {
  return (hsystem *)handle_check(L, idx, SYSTEM_MT);
}

static hsystem *new_system(lua_State *L) {
  return (hsystem *)handle_new(L, sizeof(hsystem), SYSTEM_MT, &system_ops);
}

/* core.create_compute_system(id, config_json[, timeout]) -> system, hr | nil, hr, result */
static int l_create(lua_State *L) {
  const char *id = bind_check_plain(L, 1);
  const char *cfg = bind_check_plain(L, 2);
  hsystem *s;
  plat_system h = NULL;
  char *result = NULL;
  plat_hresult hr, rr;
  lua_settop(L, 3);
  s = new_system(L);
  bind_set_timeout(L, 3); /* last before the call: nothing may raise with it set */
  hr = plat_HcsCreateComputeSystem(id, cfg, &h, &result);
  plat_set_timeout(-1);
  if (hr < 0 && hr != PLAT_HCS_E_OPERATION_PENDING) return bind_fail(L, hr, result);
  plat_free(result);
  rr = handle_attach(L, &s->b, h, id);
  if (rr < 0) {
    /* the system exists but this handle could not be completed: undo the
     * create rather than leave a system nobody holds */
    plat_system h2 = NULL;
    char *r2 = NULL;
    if (plat_HcsOpenComputeSystem(id, &h2, &r2) >= 0) {
      plat_free(r2);
      r2 = NULL;
      plat_HcsTerminateComputeSystem(h2, "", &r2);
      plat_HcsCloseComputeSystem(h2);
    }
    plat_free(r2);
    return bind_fail(L, rr, NULL);
  }
  lua_pushinteger(L, hr);
  return 2;
}

/* core.open_compute_system(id) -> system | nil, hr, result */
static int l_open(lua_State *L) {
  const char *id = bind_check_plain(L, 1);
  hsystem *s = new_system(L);
  plat_system h = NULL;
  char *result = NULL;
  plat_hresult hr = plat_HcsOpenComputeSystem(id, &h, &result);
  if (hr < 0) return bind_fail(L, hr, result);
  plat_free(result);
  hr = handle_attach(L, &s->b, h, id);
  if (hr < 0) return bind_fail(L, hr, NULL);
  return 1;
}

/* core.enumerate_compute_systems(query_json) -> json | nil, hr, result */
static int l_enumerate(lua_State *L) {
  const char *query = bind_opt_plain(L, 1, "{}");
  char *systems = NULL, *result = NULL;
  plat_hresult hr = plat_HcsEnumerateComputeSystems(query, &systems, &result);
  return bind_json_result(L, hr, systems, result);
}

/* core.service_properties(query_json) -> json | nil, hr, result */
static int l_service_properties(lua_State *L) {
  const char *query = bind_opt_plain(L, 1, "{}");
  char *props = NULL, *result = NULL;
  plat_hresult hr = plat_HcsGetServiceProperties(query, &props, &result);
  return bind_json_result(L, hr, props, result);
}

/* s:_op(name, options[, timeout]) -> true, hr | nil, hr, result; hr may be
 * pending */
static int m_op(lua_State *L) {
  static const char *const names[] = {"start", "shutdown", "terminate", "pause", "resume", NULL};
  hsystem *s = check_system(L, 1);
  int op = luaL_checkoption(L, 2, NULL, names);
  const char *options = bind_opt_plain(L, 3, "");
  char *result = NULL;
  plat_hresult hr;
  bind_set_timeout(L, 4);
  switch (op) {
  case 0: hr = plat_HcsStartComputeSystem(s->b.h, options, &result); break;
  case 1: hr = plat_HcsShutdownComputeSystem(s->b.h, options, &result); break;
  case 2: hr = plat_HcsTerminateComputeSystem(s->b.h, options, &result); break;
  case 3: hr = plat_HcsPauseComputeSystem(s->b.h, options, &result); break;
  default: hr = plat_HcsResumeComputeSystem(s->b.h, options, &result); break;
  }
  plat_set_timeout(-1);
  if (hr < 0 && hr != PLAT_HCS_E_OPERATION_PENDING) return bind_fail(L, hr, result);
  plat_free(result);
  lua_pushboolean(L, 1);
  lua_pushinteger(L, hr);
  return 2;
}

/* s:_properties(query_json) -> json | nil, hr, result */
static int m_properties(lua_State *L) {
  hsystem *s = check_system(L, 1);
  const char *query = bind_opt_plain(L, 2, "");
  char *props = NULL, *result = NULL;
  plat_hresult hr = plat_HcsGetComputeSystemProperties(s->b.h, query, &props, &result);
  return bind_json_result(L, hr, props, result);
}

/* s:_modify(json) -> true | nil, hr, result */
static int m_modify(lua_State *L) {
  hsystem *s = check_system(L, 1);
  const char *cfg = bind_check_plain(L, 2);
  char *result = NULL;
  plat_hresult hr = plat_HcsModifyComputeSystem(s->b.h, cfg, &result);
  return bind_ok_result(L, hr, result);
}

/***
 * The compute system's id.
 * @function system:id
 * @treturn string
 */
static int m_id(lua_State *L) {
  hsystem *s = check_system(L, 1);
  lua_pushstring(L, s->b.sysid);
  return 1;
}

/* s:_create_process(json[, timeout]) -> process, stdin, stdout, stderr | nil, hr, result */
static int m_create_process(lua_State *L) {
  hsystem *s = check_system(L, 1);
  const char *params = bind_check_plain(L, 2);
  lua_settop(L, 3); /* the timeout keeps slot 3 when the process takes the next */
  return process_create(L, s->b.h, s->b.sysid, params, 3);
}

/* s:_open_process(pid) -> process | nil, hr, result */
static int m_open_process(lua_State *L) {
  hsystem *s = check_system(L, 1);
  lua_Integer pid = bind_check_integer(L, 2);
  luaL_argcheck(L, pid >= 0 && pid <= 0xFFFFFFFF, 2, "pid out of range");
  return process_open(L, s->b.h, s->b.sysid, (uint32_t)pid);
}

static int m_tostring(lua_State *L) {
  hsystem *s = (hsystem *)luaL_checkudata(L, 1, SYSTEM_MT);
  if (s->b.open) lua_pushfstring(L, "hcsshim.system (%s)", s->b.sysid);
  else lua_pushliteral(L, "hcsshim.system (closed)");
  return 1;
}

static const luaL_Reg methods[] = {
    {"_op", m_op},
    {"_properties", m_properties},
    {"_modify", m_modify},
    {"_create_process", m_create_process},
    {"_open_process", m_open_process},
    {"id", m_id},
    {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__tostring", m_tostring},
    {NULL, NULL},
};

static const luaL_Reg functions[] = {
    {"create_compute_system", l_create},
    {"open_compute_system", l_open},
    {"enumerate_compute_systems", l_enumerate},
    {"service_properties", l_service_properties},
    {NULL, NULL},
};

void core_open_system(lua_State *L) {
  luaL_newmetatable(L, SYSTEM_MT);
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_pushvalue(L, -2);
  handle_register_common(L, SYSTEM_MT);
  lua_pop(L, 1);
  lua_setfield(L, -3, "system_methods"); /* core.system_methods */
  lua_pop(L, 1);
  luaL_setfuncs(L, functions, 0);
}
