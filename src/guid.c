/* GUIDs: text <-> the 16-byte Windows memory layout (Data1, Data2 and Data3
 * little-endian, Data4 as is), random GUIDs, and NameToGuid. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "guid.h"
#include "modules.h"

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Byte order of the text's hex pairs within the Windows layout. */
static const int text_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

int guid_parse(const char *s, uint8_t out[16]) {
  size_t len = strlen(s), i, k = 0;
  if (len == 38 && s[0] == '{' && s[37] == '}') {
    s++;
    len = 36;
  }
  if (len != 36) return -1;
  for (i = 0; i < 36;) {
    int hi, lo;
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return -1;
      i++;
      continue;
    }
    hi = hexval((unsigned char)s[i]);
    lo = hexval((unsigned char)s[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[text_order[k++]] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  return 0;
}

void guid_format(const uint8_t g[16], char out[37]) {
  static const char hex[] = "0123456789abcdef";
  size_t i, o = 0;
  for (i = 0; i < 16; i++) {
    uint8_t b = g[text_order[i]];
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b >> 4];
    out[o++] = hex[b & 15];
  }
  out[o] = '\0';
}

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
  if (strlen(s) != len || guid_parse(s, g) != 0) {
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
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  uint8_t g[16];
  plat_hresult hr;
  luaL_argcheck(L, strlen(name) == len, 1, "name contains a NUL byte");
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
  {NULL, NULL}
};

void core_open_guid(lua_State *L) { luaL_setfuncs(L, functions, 0); }
