#ifndef HCSSHIM_PROCESS_H
#define HCSSHIM_PROCESS_H

#include "bind.h"

int process_create(lua_State *L, plat_system sys, const char *sysid, const char *params);
int process_open(lua_State *L, plat_system sys, const char *sysid, uint32_t pid);

#endif
