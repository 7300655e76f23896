/* The parts of hcsshim.core: each registers its functions into the module
 * table on the stack top.  Only src/core.c calls these. */
#ifndef HCSSHIM_MODULES_H
#define HCSSHIM_MODULES_H

#include <lua.h>

#define HCSSHIM_VERSION "0.1.0"

void core_open_service(lua_State *L);   /* src/service.c */
void core_open_constants(lua_State *L); /* src/constants.c */
void core_open_system(lua_State *L);    /* src/system.c */
void core_open_process(lua_State *L);   /* src/process.c */
void core_open_layer(lua_State *L);     /* src/layer.c */
void core_open_guid(lua_State *L);      /* src/guid.c */
void core_open_json(lua_State *L);      /* src/json.c */
void core_open_hns(lua_State *L);       /* src/hns.c */
void core_open_wclayer(lua_State *L);   /* src/wclayer.c */
void core_open_pipe(lua_State *L);      /* src/pipe.c */
/* hcsshim.image's helpers (Linux; nothing on Windows yet) */
void core_open_digest(lua_State *L);  /* src/digest.c */
void core_open_archive(lua_State *L); /* src/archive.c */
void core_open_files(lua_State *L);   /* src/files.c */

#endif
