#ifndef HCSSHIM_PROCESS_H
#define HCSSHIM_PROCESS_H

#include "bind.h"

/* HcsCreateProcess; the timeout (seconds) at stack index timeout_idx bounds
 * the create itself, not the handle's set-up after it. */
int process_create(lua_State *L, plat_system sys, const char *sysid, const char *params,
                   int timeout_idx);
int process_open(lua_State *L, plat_system sys, const char *sysid, uint32_t pid);

#endif
