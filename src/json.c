/* The one place that closes lua-cjson 2.1.0's number gap (DESIGN.md, "JSON
 * numbers"): cjson decodes every number as a float.  Before decoding, every
 * integer literal outside strings is rewritten as a marked string
 * ("\u0001\u0002<digits>"); lua/hcsshim/json.lua turns the marked strings
 * back into exact Lua integers after cjson has parsed the document.  The
 * JSON grammar itself stays cjson's job: anything that is not a plain
 * integer literal is left as it is, for cjson to accept or refuse.
 *
 * A string of the document that itself begins with U+0001 could pose as a
 * marker (ImageName comes from inside a container), so such strings get a
 * second marker, "\u0001\u0003", that json.lua strips again.
 *
 * The same pass closes the two holes cjson leaves in RFC 8259: a raw
 * control character inside a string is refused here, and an empty array
 * "[]" becomes ["\u0001\u0004"], so that json.lua can tell it from an
 * empty object (cjson gives both as an empty table). */
#include <string.h>

#include "bind.h"
#include "modules.h"

static int is_delim(char c) {
  return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of the JSON number at s (RFC 8259 grammar) that ends at a
 * delimiter or the end of the text, or 0 when the text there is no valid
 * number; *integer tells whether it has neither fraction nor exponent. */
static size_t number_at(const char *s, size_t len, int *integer) {
  size_t i = 0;
  *integer = 1;
  if (i < len && s[i] == '-') i++;
  if (i >= len || s[i] < '0' || s[i] > '9') return 0;
  if (s[i] == '0') {
    i++;
  } else {
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < len && s[i] == '.') {
    size_t d = ++i;
    *integer = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return 0;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    size_t d;
    *integer = 0;
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    d = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return 0;
  }
  if (i < len && !is_delim(s[i])) return 0;
  return i;
}

static int starts_with_u0001(const char *s, size_t len) {
  if (len >= 1 && s[0] == '\x01') return 1;
  return len >= 6 && s[0] == '\\' && (s[1] == 'u' || s[1] == 'U') && s[2] == '0' && s[3] == '0' &&
         s[4] == '0' && s[5] == '1';
}

/* Length of "[", optional whitespace, "]" at s, or 0. */
static size_t empty_array_at(const char *s, size_t len) {
  size_t i = 1;
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  return i < len && s[i] == ']' ? i + 1 : 0;
}

/* core.json_mark_integers(text) -> text | nil, message */
static int l_mark(lua_State *L) {
  size_t len, i = 0;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  int in_string = 0;
  luaL_buffinit(L, &b);
  while (i < len) {
    char c = s[i];
    if (in_string) {
      if ((unsigned char)c < 0x20) {
        lua_pushnil(L);
        lua_pushfstring(L, "unescaped control character (code %d) in a string at byte %d", (int)c,
                        (int)i + 1);
        return 2;
      }
      luaL_addchar(&b, c);
      if (c == '\\' && i + 1 < len) {
        luaL_addchar(&b, s[i + 1]);
        i += 2;
        continue;
      }
      if (c == '"') in_string = 0;
      i++;
    } else if (c == '"') {
      in_string = 1;
      luaL_addchar(&b, c);
      if (starts_with_u0001(s + i + 1, len - i - 1)) luaL_addstring(&b, "\\u0001\\u0003");
      i++;
    } else if (c == '[' && empty_array_at(s + i, len - i)) {
      luaL_addstring(&b, "[\"\\u0001\\u0004\"]");
      i += empty_array_at(s + i, len - i);
    } else {
      int integer;
      size_t n = (c == '-' || (c >= '0' && c <= '9')) ? number_at(s + i, len - i, &integer) : 0;
      if (n > 0 && integer) {
        luaL_addstring(&b, "\"\\u0001\\u0002");
        luaL_addlstring(&b, s + i, n);
        luaL_addchar(&b, '"');
        i += n;
      } else if (n > 0) {
        luaL_addlstring(&b, s + i, n);
        i += n;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        /* not a JSON number (cjson would read "01" or "1." leniently):
         * hand cjson a token it refuses */
        luaL_addchar(&b, '?');
        i++;
      } else {
        luaL_addchar(&b, c);
        i++;
      }
    }
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg functions[] = {
    {"json_mark_integers", l_mark},
    {NULL, NULL},
};

void core_open_json(lua_State *L) { luaL_setfuncs(L, functions, 0); }
