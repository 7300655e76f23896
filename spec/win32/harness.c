/* C harness for the Wine suite (TEST CODE ONLY): what a Lua script cannot
 * do on its own.
 *   harness late     a Lua state registers callbacks (one of them with an
 *                    unregister that fails), is closed (lua_close unloads
 *                    core.dll), and then the double calls them all late;
 *   harness prepare  two threads, each with its own Lua state, call
 *                    PrepareLayer at once; the double counts overlaps;
 *   harness missing  a missing export (this process gets Wine's own
 *                    iphlpapi.dll, which lacks SetCurrentThreadCompartmentId)
 *                    is a named not-supported error.
 * Exit 0 and one "ok ..." line on success. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

typedef int(WINAPI *ctl_fn)(const char *, char *, int);

static const char *ctl(const char *cmd) {
  static char out[4096];
  HMODULE m = LoadLibraryExW(L"vmcompute.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
  ctl_fn f = m ? (ctl_fn)(void (*)(void))GetProcAddress(m, "DoubleCtl") : NULL;
  if (!f || f(cmd, out, (int)sizeof out) != 0) {
    fprintf(stderr, "harness: DoubleCtl refused %s\n", cmd);
    exit(2);
  }
  return out;
}

static int run(lua_State *L, const char *chunk) {
  if (luaL_dostring(L, chunk) != LUA_OK) {
    fprintf(stderr, "harness: %s\n", lua_tostring(L, -1));
    return -1;
  }
  return 0;
}

static int late(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  if (run(L, "local hcsshim = require 'hcsshim'\n"
             "local dbl = require 'doublectl'\n"
             "local a = assert(hcsshim.create_container('late-a', { Name = 'late-a' }))\n"
             "assert(a:start())\n"
             "local p = assert(a:create_process({ CommandLine = 'sleep' }))\n"
             "local b = assert(hcsshim.open_container('late-a'))\n"
             "assert(dbl.ctl('failunreg 1'))\n"
             "b:close() -- HCS keeps this registration\n") != 0)
    return 1;
  lua_close(L); /* every handle closes; core.dll is unloaded */
  ctl("firelate 1");
  ctl("firelate 65536");
  ctl("fire late-a 1 0"); /* reaches the registration whose unregister failed */
  Sleep(300);
  printf("ok: late callbacks after lua_close were dropped\n");
  return 0;
}

static DWORD WINAPI preparer(void *arg) {
  lua_State *L = luaL_newstate();
  (void)arg;
  luaL_openlibs(L);
  run(L,
      "local core = require 'hcsshim.core'\n"
      "for _ = 1, 40 do core.prepare_layer({ Flavour = 1, HomeDir = 'C:\\\\h' }, 'p', {}) end\n");
  lua_close(L);
  return 0;
}

static int prepare(void) {
  HANDLE t[2];
  long overlaps;
  t[0] = CreateThread(NULL, 0, preparer, NULL, 0, NULL);
  t[1] = CreateThread(NULL, 0, preparer, NULL, 0, NULL);
  WaitForMultipleObjects(2, t, TRUE, INFINITE);
  CloseHandle(t[0]);
  CloseHandle(t[1]);
  overlaps = strtol(ctl("prepareoverlaps"), NULL, 10);
  if (overlaps != 0) {
    printf("fail: %ld overlapping PrepareLayer calls\n", overlaps);
    return 1;
  }
  printf("ok: %s PrepareLayer calls, none overlapping\n", ctl("calls PrepareLayer"));
  return 0;
}

static int missing(void) {
  lua_State *L = luaL_newstate();
  int rc;
  luaL_openlibs(L);
  rc = run(L, "local hcsshim = require 'hcsshim'\n"
              "local r, err = hcsshim.set_current_thread_compartment_id(1)\n"
              "assert(r == nil, 'the export is missing')\n"
              "assert(err.hresult == 0x8007007F, tostring(err))\n"
              "assert(hcsshim.is_not_supported(err), tostring(err))\n"
              "local want = 'SetCurrentThreadCompartmentId is not supported on this system: '\n"
              "  .. 'iphlpapi.dll has no export SetCurrentThreadCompartmentId'\n"
              "assert(tostring(err):find(want, 1, true), tostring(err))\n");
  lua_close(L);
  if (rc != 0) return 1;
  printf("ok: a missing export is a named not-supported error\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "late") == 0) return late();
  if (argc == 2 && strcmp(argv[1], "prepare") == 0) return prepare();
  if (argc == 2 && strcmp(argv[1], "missing") == 0) return missing();
  fprintf(stderr, "usage: harness late|prepare|missing\n");
  return 2;
}
