/* The module's GUID functions: parse, format, random GUIDs, NameToGuid. */

#include "bind.h"
#include "guidtext.h"
#include "modules.h"

static void push_guid(lua_State *L, const uint8_t g[16]) {
  char buf[37];
  guid_format(g, buf);
  lua_pushstring(L, buf);
}

/* core.guid_parse(text) -> canonical text, bytes | nil, message */
static int l_parse(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  uint8_t g[16];
  if (bind_has_nul(s, len) || guid_parse(s, g) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "invalid GUID \"%s\"", s);
    return 2;
  }
  push_guid(L, g);
  lua_pushlstring(L, (const char *)g, 16);
  return 2;
}

/* core.guid_from_bytes(16-byte string in Windows layout) -> text */
static int l_from_bytes(lua_State *L) {
  size_t len;
  const char *b = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len == 16, 1, "a GUID is 16 bytes");
  push_guid(L, (const uint8_t *)b);
  return 1;
}

/* core.new_guid() -> text: random, RFC 4122 version 4 */
static int l_new(lua_State *L) {
  uint8_t g[16];
  if (plat_random(g, sizeof g) != 0) return luaL_error(L, "no random source");
  /* Data3's high nibble is the version; in the Windows layout Data3 is
   * little-endian, so its high byte is g[7] */
  g[7] = (uint8_t)((g[7] & 0x0F) | 0x40);
  g[8] = (uint8_t)((g[8] & 0x3F) | 0x80);
  push_guid(L, g);
  return 1;
}

/* core.name_to_guid(name) -> text | nil, hr */
static int l_name_to_guid(lua_State *L) {
  const char *name = bind_check_plain(L, 1);
  uint8_t g[16];
  plat_hresult hr;
  hr = plat_NameToGuid(name, g);
  if (hr < 0) return bind_fail(L, hr, NULL);
  push_guid(L, g);
  return 1;
}

static const luaL_Reg functions[] = {
    {"guid_parse", l_parse},
    {"guid_from_bytes", l_from_bytes},
    {"new_guid", l_new},
    {"name_to_guid", l_name_to_guid},
    {NULL, NULL},
};

void core_open_guid(lua_State *L) { luaL_setfuncs(L, functions, 0); }
