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

#include "bind.h"
#include "modules.h"
#include "platform.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#endif

#define MAX_FILES 16
#define CHUNK 65536

#ifdef _WIN32
/* Windows: the module's own stdio objects (src/win32/stdio.c), whose
 * overlapped named pipes have no wait for "readable": look every 10 ms. */
typedef void *stream;

static stream check_stream(lua_State *L, int idx) { return plat_stdio_check(L, idx); }

static int wait_ready(stream *files, int n, double timeout, int *rd) {
  double end = plat_monotime() + timeout;
  for (;;) {
    int i, any = 0;
    for (i = 0; i < n; i++) any |= rd[i] = files[i] ? plat_stdio_ready(files[i]) : 0;
    if (any || plat_monotime() >= end) return any;
    Sleep(10);
  }
}

static long read_some(stream f, char *buf, size_t len) { return plat_stdio_read_some(f, buf, len); }

static lua_Integer file_no(stream f) { return (lua_Integer)plat_stdio_handle(f); }

static long write_some(stream f, const char *buf, size_t len, double timeout, int *err) {
  unsigned long e = 0;
  long put = plat_stdio_write_some(f, buf, len,
                                   timeout >= 4e6 ? INFINITE : (DWORD)ceil(timeout * 1000.0), &e);
  /* the reader gone is a broken pipe, as on POSIX */
  *err = put >= 0 ? 0 : e == ERROR_NO_DATA || e == ERROR_BROKEN_PIPE ? 32 : (int)e;
  return put;
}
#else
/* Linux: Lua files over the pipes' descriptors, waited for with poll(2). */
typedef FILE *stream;

static stream check_stream(lua_State *L, int idx) {
  luaL_Stream *s = (luaL_Stream *)luaL_checkudata(L, idx, LUA_FILEHANDLE);
  if (s->closef == NULL) luaL_error(L, "attempt to use a closed file");
  return s->f;
}

/* poll(2)'s milliseconds for a timeout in seconds (-1: none) */
static int poll_ms(double timeout) {
  return timeout >= 2147483.0 ? -1 : (int)ceil(timeout * 1000.0);
}

static int wait_ready(stream *files, int n, double timeout, int *rd) {
  struct pollfd p[MAX_FILES];
  int i, r, ms = poll_ms(timeout);
  for (i = 0; i < n; i++) {
    p[i].fd = files[i] ? fileno(files[i]) : -1;
    p[i].events = POLLIN;
    p[i].revents = 0;
  }
  /* a signal ends the wait early (nothing ready, as for a timeout): the
   * host's handler may have asked Lua to act (lua.c's Ctrl-C hook) */
  r = poll(p, (nfds_t)n, ms);
  for (i = 0; i < n; i++) rd[i] = r > 0 && p[i].revents != 0;
  return r > 0;
}

/* What the pipe takes within timeout, without blocking past it: the bytes
 * written (maybe 0), or -1 and the errno in *err (EPIPE: the reader is
 * gone; SIGPIPE is ignored while hcsshim is loaded). */
static long write_some(stream f, const char *buf, size_t len, double timeout, int *err) {
  struct pollfd p;
  int fd = fileno(f), flags, r;
  ssize_t put;
  *err = 0;
  fflush(f); /* nothing of a file:write may come after these bytes */
  p.fd = fd;
  p.events = POLLOUT;
  p.revents = 0;
  r = poll(&p, 1, poll_ms(timeout));
  if (r <= 0) return 0; /* no room in time, or a signal: nothing written */
  flags = fcntl(fd, F_GETFL);
  if (flags >= 0 && !(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  while ((put = write(fd, buf, len)) < 0 && errno == EINTR) {}
  if (put < 0) *err = errno == EAGAIN ? 0 : errno;
  if (flags >= 0 && !(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags);
  return put < 0 ? (*err ? -1 : 0) : (long)put;
}

/* Bytes read, or 0 at the end (a read error ends the stream too); poll
 * said it will not block. */
static long read_some(stream f, char *buf, size_t len) {
  ssize_t got;
  while ((got = read(fileno(f), buf, len)) < 0 && errno == EINTR) {}
  return got < 0 ? 0 : (long)got;
}

static lua_Integer file_no(stream f) { return fileno(f); }
#endif

/* core.fileno(file) -> the file's descriptor (the HANDLE's value on Windows) */
static int l_fileno(lua_State *L) {
  lua_pushinteger(L, file_no(check_stream(L, 1)));
  return 1;
}

/* core.read_ready(files, timeout) -> {[i] = chunk | false (end of file)}
 * for the files that were ready; an empty table when the timeout passed
 * or a signal interrupted the wait (Linux).
 * files is an array of n read-end files (false for one already at end);
 * timeout in seconds, math.huge for none. */
static int l_read_ready(lua_State *L) {
  stream files[MAX_FILES];
  int rd[MAX_FILES], i, n;
  double timeout = bind_opt_seconds(L, 2);
  lua_Unsigned len;
  char *buf;
  luaL_checktype(L, 1, LUA_TTABLE);
  len = lua_rawlen(L, 1); /* raw: no __len, no __index from C */
  luaL_argcheck(L, len >= 1 && len <= MAX_FILES, 1, "1 to 16 files expected");
  n = (int)len;
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    files[i] = lua_toboolean(L, -1) ? check_stream(L, -1) : NULL;
    lua_pop(L, 1);
  }
  lua_createtable(L, 0, n);
  if (!wait_ready(files, n, timeout, rd)) return 1;
  buf = (char *)lua_newuserdatauv(L, CHUNK, 0);
  for (i = 0; i < n; i++) {
    long got;
    if (!rd[i]) continue;
    got = read_some(files[i], buf, CHUNK);
    if (got < 0) continue; /* nothing after all (Windows) */
    if (got > 0) lua_pushlstring(L, buf, (size_t)got);
    else lua_pushboolean(L, 0);
    lua_seti(L, -3, i + 1);
  }
  lua_pop(L, 1);
  return 1;
}

/* core.write_some(file, data, i, timeout) -> the index after the last
 * byte written (i when the pipe took nothing in time) | nil, message,
 * code (32: the reader is gone).  Writes data from its byte i on, as much
 * as the pipe takes within timeout seconds (math.huge: until it takes
 * some), so that a caller can feed a process's stdin while it reads the
 * process's output, and never blocks past its own deadline. */
static int l_write_some(lua_State *L) {
  stream f = check_stream(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  lua_Integer i = luaL_checkinteger(L, 3);
  double timeout = bind_opt_seconds(L, 4);
  long put;
  int err;
  luaL_argcheck(L, i >= 1 && (lua_Unsigned)i <= (lua_Unsigned)len + 1, 3, "out of range");
  if ((size_t)i > len) {
    lua_pushinteger(L, i);
    return 1;
  }
  put = write_some(f, data + i - 1, len - (size_t)(i - 1), timeout, &err);
  if (put < 0) {
    luaL_pushfail(L);
    lua_pushstring(L, err == 32 ? "Broken pipe" : "write failed");
    lua_pushinteger(L, err);
    return 3;
  }
  lua_pushinteger(L, i + put);
  return 1;
}

void core_open_pipe(lua_State *L) {
  static const luaL_Reg fns[] = {{"fileno", l_fileno},
                                 {"read_ready", l_read_ready},
                                 {"write_some", l_write_some},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
