/* Lua module for the Wine suite (TEST CODE ONLY): drives the vmcompute.dll
 * double through its DoubleCtl export.  ctl(cmd) -> answer | nil, "error". */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <lauxlib.h>
#include <lua.h>

typedef int(WINAPI *ctl_fn)(const char *, char *, int);

static int l_ctl(lua_State *L) {
  static char out[65536];
  const char *cmd = luaL_checkstring(L, 1);
  HMODULE m = LoadLibraryExW(L"vmcompute.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
  ctl_fn f = m ? (ctl_fn)(void (*)(void))GetProcAddress(m, "DoubleCtl") : NULL;
  if (!f) return luaL_error(L, "the vmcompute.dll double is not installed in System32");
  if (f(cmd, out, (int)sizeof out) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "double refused: %s", cmd);
    return 2;
  }
  lua_pushstring(L, out);
  return 1;
}

/* raw UTF-16 round trip through the OS, for the string tests */
static int l_utf16(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  WCHAR w[4096];
  char back[16384];
  int wn = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, w, 4096);
  int bn;
  if (wn <= 0) return luaL_error(L, "invalid UTF-8");
  bn = WideCharToMultiByte(CP_UTF8, 0, w, wn, back, sizeof back, NULL, NULL);
  lua_pushlstring(L, back, (size_t)bn);
  lua_pushinteger(L, wn);
  return 2;
}

__declspec(dllexport) int luaopen_doublectl(lua_State *L);
__declspec(dllexport) int luaopen_doublectl(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_ctl);
  lua_setfield(L, -2, "ctl");
  lua_pushcfunction(L, l_utf16);
  lua_setfield(L, -2, "utf16");
  return 1;
}
