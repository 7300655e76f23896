/* Shared conventions of the hcsshim.core C module (above the platform seam).
 *
 * Return convention of every core function that calls the platform:
 *   success:  the value (or true)
 *   failure:  nil, hresult (Lua integer, the signed 32-bit value), result
 *             (the platform's HCS result document as a JSON string, or nil)
 * The Lua layer (lua/hcsshim/error.lua) turns the failure triple into an
 * hcsshim.error object.  Misuse (wrong argument types, closed handles)
 * raises a Lua error instead.
 */
#ifndef HCSSHIM_CORE_H
#define HCSSHIM_CORE_H

#include <lauxlib.h>
#include <lua.h>

#include "platform.h"

#define HCSSHIM_VERSION "0.1.0"

/* Pushes nil, hr, result (result freed with plat_free); returns 3. */
int core_fail(lua_State *L, plat_hresult hr, char *result);
/* The two result shapes of platform calls: a JSON out-string (pushed; or
 * the failure triple) and plain success (true; or the failure triple).
 * Both free what the platform allocated. */
int core_json_result(lua_State *L, plat_hresult hr, char *out, char *result);
int core_ok_result(lua_State *L, plat_hresult hr, char *result);
/* Failure of a platform function without a result document: pushes
 * nil, hr, nil, plat_last_error() (or nil); returns 4. */
int core_fail_last(lua_State *L, plat_hresult hr);
/* true, or core_fail_last's four values. */
int core_ok_last(lua_State *L, plat_hresult hr);
/* luaL_checklstring that refuses embedded NUL bytes (argument error). */
const char *core_check_plain(lua_State *L, int idx);
/* Pushes the string (or nil) and frees it with plat_free. */
void core_push_owned(lua_State *L, char *s);
/* Reads a DriverInfo from a table {Flavour=, HomeDir=} or a home-dir string at idx. */
void core_check_driver_info(lua_State *L, int idx, plat_driver_info *info);
/* Reads an array of layer paths or {ID=, Path=} tables at idx into a
 * lua-owned array of descriptors (valid while the value at idx lives).
 * Returns the count; *out is NULL when the count is 0. */
size_t core_check_layer_descriptors(lua_State *L, int idx, plat_layer_descriptor **out);
/* GUID helpers (src/guid.c). */
int core_guid_parse(const char *s, uint8_t out[16]);   /* 0 ok, -1 bad */
void core_guid_format(const uint8_t g[16], char out[37]);

void core_open_system(lua_State *L);   /* registers into the table on top */
void core_open_process(lua_State *L);
void core_open_layer(lua_State *L);
void core_open_guid(lua_State *L);
void core_open_json(lua_State *L);
void core_open_hns(lua_State *L);
void core_open_wclayer(lua_State *L); /* src/wclayer.c */
/* hcsshim.image's helpers (Linux; no-ops on Windows) */
void core_open_digest(lua_State *L);  /* src/digest.c */
void core_open_archive(lua_State *L); /* src/archive.c */
void core_open_files(lua_State *L);   /* src/files.c */

#endif
