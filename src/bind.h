/* The binding's shared helpers: how every hcsshim.core function turns a
 * platform result into Lua values and reads its arguments.  Depends only on
 * Lua and the platform seam; every binding file includes it, and it
 * includes none of them.
 *
 * Return convention of every core function that calls the platform:
 *   success:  the value (or true)
 *   failure:  nil, hresult (Lua integer, the signed 32-bit value), result
 *             (the platform's HCS result document as a JSON string, or nil)
 * The Lua layer (lua/hcsshim/error.lua) turns the failure triple into an
 * hcsshim.error object.  Misuse (wrong argument types, closed handles)
 * raises a Lua error instead.
 *
 * Caller tables are read with raw length and raw get (no __len, __index
 * or __newindex runs), and every copy out of them is bounded.
 */
#ifndef HCSSHIM_BIND_H
#define HCSSHIM_BIND_H

#include <lauxlib.h>
#include <lua.h>

#include "platform.h"

/* Pushes nil, hr, result (result freed with plat_free); returns 3. */
int bind_fail(lua_State *L, plat_hresult hr, char *result);
/* The two result shapes of platform calls: a JSON out-string (pushed; or
 * the failure triple) and plain success (true; or the failure triple).
 * Both free what the platform allocated. */
int bind_json_result(lua_State *L, plat_hresult hr, char *out, char *result);
int bind_ok_result(lua_State *L, plat_hresult hr, char *result);
/* Failure of a platform function without a result document: pushes
 * nil, hr, nil, plat_last_error() (or nil); returns 4. */
int bind_fail_last(lua_State *L, plat_hresult hr);
/* true, or bind_fail_last's four values. */
int bind_ok_last(lua_State *L, plat_hresult hr);
/* The one NUL test of the binding: whether the Lua string s (len bytes)
 * holds a NUL byte.  C strings end at the first NUL, so such a string would
 * reach the platform cut short. */
int bind_has_nul(const char *s, size_t len);
/* luaL_checklstring that refuses embedded NUL bytes (argument error):
 * every string that crosses the seam, which would otherwise be cut at the
 * NUL on its way to UTF-16 (Go refuses such strings too). */
const char *bind_check_plain(lua_State *L, int idx);
/* The same for an optional argument (def when none or nil). */
const char *bind_opt_plain(lua_State *L, int idx, const char *def);
/* luaL_checknumber / luaL_checkinteger / luaL_optinteger that take a Lua
 * number only, never a numeric string (argument error). */
lua_Number bind_check_number(lua_State *L, int idx);
lua_Integer bind_check_integer(lua_State *L, int idx);
lua_Integer bind_opt_integer(lua_State *L, int idx, lua_Integer dflt);
/* The optional timeout in seconds at idx (nil: the platform's default;
 * math.huge: none) for this thread's next platform calls: plat_set_timeout.
 * The caller resets it with plat_set_timeout(-1) after its call. */
/* An optional wait in seconds at idx: none/nil -> HUGE_VAL (no bound),
 * a negative one -> 0; NaN is an argument error (it would wait for ever). */
double bind_opt_seconds(lua_State *L, int idx);
void bind_set_timeout(lua_State *L, int idx);
/* Pushes the string (or nil) and frees it with plat_free. */
void bind_push_owned(lua_State *L, char *s);
/* Pushes t[k] of the table at idx without metamethods; returns its type. */
int bind_rawfield(lua_State *L, int idx, const char *k);
/* Reads a DriverInfo from a table {Flavour=, HomeDir=} or a home-dir string at idx. */
void bind_check_driver_info(lua_State *L, int idx, plat_driver_info *info);
/* Most parent layers a descriptor array may hold (far above any real
 * chain: Windows caps a container at 127 layers). */
#define BIND_MAX_LAYERS 4096
/* Reads an array of layer paths or {ID=, Path=} tables at idx into a
 * lua-owned array of descriptors (valid while the value at idx lives).
 * Returns the count; *out is NULL when the count is 0. */
size_t bind_check_layer_descriptors(lua_State *L, int idx, plat_layer_descriptor **out);
/* A layer id (one folder name under HomeDir) at idx, or NULL when it is
 * none: empty, "." or "..", separators, NUL, control characters, what
 * Windows forbids in names or strips from their end.  Then
 * bind_fail_layer_id pushes nil, E_INVALIDARG, nil, message; returns 4. */
const char *bind_check_layer_id(lua_State *L, int idx);
int bind_fail_layer_id(lua_State *L, int idx);

/* A userdata class: metatable `mt` whose __index holds `methods` and whose
 * __gc and __close are `close` (which must be safe to call twice). */
void bind_new_class(lua_State *L, const char *mt, const luaL_Reg *methods, lua_CFunction close);

#endif
