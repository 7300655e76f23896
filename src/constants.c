/* The platform's HRESULTs and notification types for Lua: core.hresult
 * and core.notification.  src/platform.h is their one source; the Lua
 * modules (error.lua, notification.lua) read them from here. */
#include "bind.h"
#include "modules.h"

typedef struct constant {
  const char *name;
  lua_Integer value;
} constant;

/* HRESULTs as unsigned 32-bit values, as error.lua keys them. */
#define H(name) \
  { #name, (lua_Integer)(uint32_t)PLAT_##name }
static const constant hresults[] = {H(S_OK),
                                    H(E_NOTIMPL),
                                    H(E_INVALIDARG),
                                    H(E_OUTOFMEMORY),
                                    H(E_ACCESSDENIED),
                                    H(E_FAIL),
                                    H(E_ABORT),
                                    H(E_FILE_NOT_FOUND),
                                    H(E_PATH_NOT_FOUND),
                                    H(E_INVALID_HANDLE),
                                    H(E_INVALID_DATA),
                                    H(E_NOT_SUPPORTED),
                                    H(E_ALREADY_EXISTS),
                                    H(E_DIR_NOT_EMPTY),
                                    H(E_BUSY),
                                    H(E_NOT_FOUND),
                                    H(E_PROC_NOT_FOUND),
                                    H(E_NO_MORE_FILES),
                                    H(E_BAD_FORMAT),
                                    H(E_CRC),
                                    H(E_DISK_FULL),
                                    H(E_TIMEOUT),
                                    H(E_NOT_ALL_ASSIGNED),
                                    H(E_NO_SUCH_PRIVILEGE),
                                    H(E_PRIVILEGE_NOT_HELD),
                                    H(STATUS_CONTROL_C_EXIT),
                                    H(HCS_E_UNKNOWN_MESSAGE),
                                    H(HCS_E_INVALID_JSON),
                                    H(HCS_E_SYSTEM_NOT_FOUND),
                                    H(HCS_E_SYSTEM_ALREADY_EXISTS),
                                    H(HCS_E_SYSTEM_ALREADY_STOPPED),
                                    H(HCS_E_SYSTEM_ALREADY_STOPPED_SDK),
                                    H(HCS_E_OPERATION_PENDING),
                                    H(HCS_E_INVALID_STATE),
                                    H(HCS_E_UNEXPECTED_EXIT),
                                    H(HCS_E_TERMINATED),
                                    H(HCS_E_CONNECTION_CLOSED),
                                    H(HCS_E_PROCESS_ALREADY_STOPPED),
                                    {NULL, 0}};
#undef H

#define N(name) \
  { #name, (lua_Integer)PLAT_N_##name }
static const constant notifications[] = {
    N(SYSTEM_EXITED),    N(CREATE_COMPLETED), N(START_COMPLETED),    N(PAUSE_COMPLETED),
    N(RESUME_COMPLETED), N(PROCESS_EXITED),   N(SERVICE_DISCONNECT), {NULL, 0}};
#undef N

static void set_table(lua_State *L, const char *field, const constant *c) {
  lua_newtable(L);
  for (; c->name; c++) {
    lua_pushinteger(L, c->value);
    lua_setfield(L, -2, c->name);
  }
  lua_setfield(L, -2, field);
}

void core_open_constants(lua_State *L) {
  set_table(L, "hresult", hresults);
  set_table(L, "notification", notifications);
}
