/* HNSCall: the raw HNS entry point.  Decoding the {Success, Error, Output}
 * envelope is the Lua layer's job (lua/hcsshim/hns.lua). */
#include "bind.h"
#include "modules.h"

/* core.hns_call(method, path, request) -> response_json | nil, hr, nil */
static int l_hns_call(lua_State *L) {
  const char *method = bind_check_plain(L, 1);
  const char *path = bind_check_plain(L, 2);
  const char *request = bind_opt_plain(L, 3, "");
  char *response = NULL;
  plat_hresult hr = plat_HNSCall(method, path, request, &response);
  if (hr < 0) return bind_fail(L, hr, response);
  bind_push_owned(L, response);
  return 1;
}

static const luaL_Reg functions[] = {
    {"hns_call", l_hns_call},
    {NULL, NULL},
};

void core_open_hns(lua_State *L) { luaL_setfuncs(L, functions, 0); }
