/* The one place that closes lua-cjson 2.1.0's number gap (DESIGN.md, "JSON
 * numbers"): cjson decodes every number as a float.  Before decoding, every
 * integer literal outside strings is rewritten as a marked string
 * ("\u0001\u0002<digits>"); lua/hcsshim/json.lua turns the marked strings
 * back into exact Lua integers after cjson has parsed the document.  The
 * JSON grammar itself stays cjson's job. */
#include <string.h>

#include "core.h"

static int is_num_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* core.json_mark_integers(text) -> text */
static int l_mark(lua_State *L) {
  size_t len, i = 0;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  int in_string = 0;
  luaL_buffinit(L, &b);
  while (i < len) {
    char c = s[i];
    if (in_string) {
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
      i++;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i, k;
      int integer = 1;
      while (j < len && is_num_char(s[j])) j++;
      for (k = i; k < j; k++)
        if (s[k] == '.' || s[k] == 'e' || s[k] == 'E' || s[k] == '+') integer = 0;
      if (integer) {
        luaL_addstring(&b, "\"\\u0001\\u0002");
        luaL_addlstring(&b, s + i, j - i);
        luaL_addchar(&b, '"');
      } else {
        luaL_addlstring(&b, s + i, j - i);
      }
      i = j;
    } else {
      luaL_addchar(&b, c);
      i++;
    }
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg functions[] = {
  {"json_mark_integers", l_mark},
  {NULL, NULL}
};

void core_open_json(lua_State *L) { luaL_setfuncs(L, functions, 0); }
