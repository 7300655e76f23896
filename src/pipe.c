/* Reading a process's stdout and stderr together, without blocking on one
 * while the other fills (the 64 KiB pipe deadlock), and the descriptor of
 * a stdio file for event loops: core.fileno(file), core.read_ready(files,
 * timeout).  This is operating-system plumbing beside the seam, not HCS:
 * POSIX poll(2), or on Windows PeekNamedPipe, which cannot wait, so that
 * path looks again every 10 ms until the timeout. */
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "modules.h"
#include "platform.h"

#ifdef _WIN32
#include <io.h>
#include <windows.h>
#else
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#endif

#define MAX_FILES 16
#define CHUNK 65536

static FILE *check_open_file(lua_State *L, int idx) {
  luaL_Stream *s = (luaL_Stream *)luaL_checkudata(L, idx, LUA_FILEHANDLE);
  if (s->closef == NULL) luaL_error(L, "attempt to use a closed file");
  return s->f;
}

#ifdef _WIN32
/* 1 = data or end of file waiting (a read will not block), 0 = nothing. */
static int ready(FILE *f) {
  DWORD avail = 0;
  HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));
  if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL)) return 1; /* broken: EOF */
  return avail > 0;
}

static int wait_ready(FILE **files, int n, double timeout, int *rd) {
  double end = plat_monotime() + timeout;
  for (;;) {
    int i, any = 0;
    for (i = 0; i < n; i++) any |= rd[i] = files[i] ? ready(files[i]) : 0;
    if (any || plat_monotime() >= end) return any;
    Sleep(10);
  }
}

/* Bytes read (0 = end of file); never more than is waiting. */
static long read_some(FILE *f, char *buf, size_t len) {
  DWORD avail = 0, got = 0;
  HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));
  if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) || avail == 0) return 0;
  if (avail < len) len = avail;
  if (!ReadFile(h, buf, (DWORD)len, &got, NULL)) return 0;
  return (long)got;
}

static lua_Integer file_no(FILE *f) { return _fileno(f); }
#else
static int wait_ready(FILE **files, int n, double timeout, int *rd) {
  struct pollfd p[MAX_FILES];
  int i, r, ms = timeout >= 2147483.0 ? -1 : (int)ceil(timeout * 1000.0);
  double end = plat_monotime() + timeout;
  for (i = 0; i < n; i++) {
    p[i].fd = files[i] ? fileno(files[i]) : -1;
    p[i].events = POLLIN;
    p[i].revents = 0;
  }
  while ((r = poll(p, (nfds_t)n, ms)) < 0 && errno == EINTR) {
    if (ms >= 0) {
      double left = end - plat_monotime();
      ms = left > 0 ? (int)ceil(left * 1000.0) : 0;
    }
  }
  for (i = 0; i < n; i++) rd[i] = r > 0 && p[i].revents != 0;
  return r > 0;
}

/* Bytes read (0 = end of file, -1 = error); poll said it will not block. */
static long read_some(FILE *f, char *buf, size_t len) {
  ssize_t got;
  while ((got = read(fileno(f), buf, len)) < 0 && errno == EINTR) {}
  return (long)got;
}

static lua_Integer file_no(FILE *f) { return fileno(f); }
#endif

/* core.fileno(file) -> the file's descriptor (a C runtime fd on Windows) */
static int l_fileno(lua_State *L) {
  lua_pushinteger(L, file_no(check_open_file(L, 1)));
  return 1;
}

/* core.read_ready(files, timeout) -> {[i] = chunk | false (end of file)}
 * for the files that were ready; an empty table when the timeout passed.
 * files is an array of n read-end files (false for one already at end);
 * timeout in seconds, math.huge for none. */
static int l_read_ready(lua_State *L) {
  FILE *files[MAX_FILES];
  int rd[MAX_FILES], i, n;
  double timeout = luaL_optnumber(L, 2, HUGE_VAL);
  char *buf;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)luaL_len(L, 1);
  luaL_argcheck(L, n >= 1 && n <= MAX_FILES, 1, "1 to 16 files expected");
  for (i = 0; i < n; i++) {
    lua_geti(L, 1, i + 1);
    files[i] = lua_toboolean(L, -1) ? check_open_file(L, -1) : NULL;
    lua_pop(L, 1);
  }
  if (timeout < 0) timeout = 0;
  lua_createtable(L, 0, n);
  if (!wait_ready(files, n, timeout, rd)) return 1;
  buf = (char *)lua_newuserdatauv(L, CHUNK, 0);
  for (i = 0; i < n; i++) {
    long got;
    if (!rd[i]) continue;
    got = read_some(files[i], buf, CHUNK);
    if (got > 0) lua_pushlstring(L, buf, (size_t)got);
    else lua_pushboolean(L, 0);
    lua_seti(L, -3, i + 1);
  }
  lua_pop(L, 1);
  return 1;
}

void core_open_pipe(lua_State *L) {
  static const luaL_Reg fns[] = {{"fileno", l_fileno}, {"read_ready", l_read_ready}, {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
