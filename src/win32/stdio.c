/* Process stdio on Windows: a small file object of the module's own over
 * the HANDLE HCS returns, with a Lua file's read/write/lines/close shape.
 *
 * Why not a C runtime FILE*: a FILE* made here is only usable by Lua when
 * core.dll and lua54.dll share one C runtime (Wine's msvcrt does; LuaRocks
 * builds with another toolchain do not), _fdopen's stream limit would leave
 * a HANDLE to be closed twice, and HCS's handles are overlapped named pipes,
 * which need an OVERLAPPED on every ReadFile/WriteFile (hcsshim drives them
 * through go-winio).  Each object owns its HANDLE (closed exactly once) and
 * makes it non-inheritable, so that no child process (io.popen) keeps a
 * pipe of the container's process open. */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "win32/w32.h"

#define STDIO_MT "hcsshim.stdio"
#define RBUF 65536

typedef struct wfile {
  HANDLE h;  /* NULL once closed */
  HANDLE ev; /* the OVERLAPPED event */
  int writable;
  int eof;
  size_t rpos, rlen;
  char rbuf[RBUF];
} wfile;

static wfile *check_file(lua_State *L) {
  wfile *f = (wfile *)luaL_checkudata(L, 1, STDIO_MT);
  if (!f->h) luaL_error(L, "attempt to use a closed file");
  return f;
}

/* The Lua-file failure triple: nil, message, Win32 code. */
static int io_fail(lua_State *L, DWORD code) {
  char msg[256];
  WCHAR w[200];
  DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code,
                           0, w, 200, NULL);
  while (n > 0 && (w[n - 1] == L'\r' || w[n - 1] == L'\n' || w[n - 1] == L' ')) n--;
  w[n] = 0;
  if (n == 0 || WideCharToMultiByte(CP_UTF8, 0, w, -1, msg, (int)sizeof msg, NULL, NULL) == 0)
    strcpy(msg, "I/O error");
  lua_pushnil(L);
  lua_pushfstring(L, "%s (Win32 error %d)", msg, (int)code);
  lua_pushinteger(L, (lua_Integer)code);
  return 3;
}

/* One overlapped transfer, waited for.  Returns 0 and *done, or the Win32
 * error (ERROR_HANDLE_EOF for the end of a read). */
static DWORD transfer(wfile *f, void *buf, DWORD n, DWORD *done) {
  OVERLAPPED o;
  BOOL ok;
  memset(&o, 0, sizeof o);
  o.hEvent = f->ev;
  *done = 0;
  ok = f->writable ? WriteFile(f->h, buf, n, NULL, &o) : ReadFile(f->h, buf, n, NULL, &o);
  if (!ok && GetLastError() != ERROR_IO_PENDING) {
    DWORD e = GetLastError();
    return e == ERROR_BROKEN_PIPE && !f->writable ? ERROR_HANDLE_EOF : e;
  }
  if (!GetOverlappedResult(f->h, &o, done, TRUE)) {
    DWORD e = GetLastError();
    return e == ERROR_BROKEN_PIPE && !f->writable ? ERROR_HANDLE_EOF : e;
  }
  if (!f->writable && *done == 0) return ERROR_HANDLE_EOF;
  return 0;
}

/* Refills the read buffer; 0, ERROR_HANDLE_EOF or another error. */
static DWORD fill(wfile *f) {
  DWORD got, e;
  if (f->eof) return ERROR_HANDLE_EOF;
  e = transfer(f, f->rbuf, RBUF, &got);
  if (e == ERROR_HANDLE_EOF) f->eof = 1;
  if (e) return e;
  f->rpos = 0;
  f->rlen = got;
  return 0;
}

/* Reads n bytes (or to the end); pushes the string or nil at a clean end. */
static DWORD read_count(lua_State *L, wfile *f, lua_Integer n, int all) {
  luaL_Buffer b;
  DWORD e = 0;
  int any = 0;
  luaL_buffinit(L, &b);
  while (all || n > 0) {
    size_t k;
    if (f->rpos == f->rlen && (e = fill(f)) != 0) break;
    k = f->rlen - f->rpos;
    if (!all && (lua_Integer)k > n) k = (size_t)n;
    luaL_addlstring(&b, f->rbuf + f->rpos, k);
    f->rpos += k;
    n -= (lua_Integer)k;
    any = 1;
  }
  luaL_pushresult(&b);
  if (e && e != ERROR_HANDLE_EOF) return e;
  if (!any && !all && e == ERROR_HANDLE_EOF) {
    lua_pop(L, 1);
    lua_pushnil(L); /* read(n) at the end of the stream */
  }
  return 0;
}

/* A line, with ("L") or without ("l") its newline; nil at the end. */
static DWORD read_line(lua_State *L, wfile *f, int keep) {
  luaL_Buffer b;
  DWORD e = 0;
  int any = 0;
  luaL_buffinit(L, &b);
  for (;;) {
    char *nl;
    size_t k;
    if (f->rpos == f->rlen && (e = fill(f)) != 0) break;
    any = 1;
    nl = memchr(f->rbuf + f->rpos, '\n', f->rlen - f->rpos);
    k = nl ? (size_t)(nl - (f->rbuf + f->rpos)) : f->rlen - f->rpos;
    luaL_addlstring(&b, f->rbuf + f->rpos, k);
    f->rpos += k;
    if (nl) {
      if (keep) luaL_addchar(&b, '\n');
      f->rpos++;
      break;
    }
  }
  luaL_pushresult(&b);
  if (e && e != ERROR_HANDLE_EOF) return e;
  if (!any) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  return 0;
}

/* Shared by read and the lines iterator: formats from `first` to `last`. */
static int read_formats(lua_State *L, wfile *f, int first, int last) {
  int i, n = 0;
  if (f->writable) return luaL_error(L, "the process's stdin cannot be read");
  if (first > last) {
    lua_pushliteral(L, "l");
    first = last = lua_gettop(L);
  }
  luaL_checkstack(L, last - first + 3, "too many formats");
  for (i = first; i <= last; i++) {
    DWORD e;
    if (lua_type(L, i) == LUA_TNUMBER) {
      lua_Integer c = luaL_checkinteger(L, i);
      e = read_count(L, f, c < 0 ? 0 : c, 0);
    } else {
      const char *p = luaL_checkstring(L, i);
      if (*p == '*') p++; /* Lua 5.1 style "*a" */
      if (*p == 'a') e = read_count(L, f, 0, 1);
      else if (*p == 'l' || *p == 'L') e = read_line(L, f, *p == 'L');
      else return luaL_argerror(L, i, "invalid format (a, l, L or a count)");
    }
    if (e) return io_fail(L, e);
    n++;
    if (lua_isnil(L, -1)) break;
  }
  return n;
}

static int f_read(lua_State *L) { return read_formats(L, check_file(L), 2, lua_gettop(L)); }

static int f_write(lua_State *L) {
  wfile *f = check_file(L);
  int i, top = lua_gettop(L);
  if (!f->writable) return luaL_error(L, "the process's stdout and stderr cannot be written");
  for (i = 2; i <= top; i++) {
    size_t len;
    const char *s = luaL_checklstring(L, i, &len);
    while (len > 0) {
      DWORD put,
          e = transfer(f, (void *)(uintptr_t)s, len > 0x40000000u ? 0x40000000u : (DWORD)len, &put);
      if (e) return io_fail(L, e);
      s += put;
      len -= put;
    }
  }
  lua_settop(L, 1);
  return 1;
}

static int lines_next(lua_State *L) {
  wfile *f = (wfile *)lua_touserdata(L, lua_upvalueindex(1));
  int n = (int)lua_tointeger(L, lua_upvalueindex(2)), i, r;
  if (!f->h) return luaL_error(L, "file is already closed");
  lua_settop(L, 0);
  for (i = 1; i <= n; i++) lua_pushvalue(L, lua_upvalueindex(2 + i));
  r = read_formats(L, f, 1, n);
  if (r == 3 && lua_isnil(L, -3) && lua_type(L, -1) == LUA_TNUMBER)
    return luaL_error(L, "%s", lua_tostring(L, -2));
  return r;
}

static int f_lines(lua_State *L) {
  int n = lua_gettop(L) - 1;
  check_file(L);
  luaL_argcheck(L, n <= 250, 252, "too many arguments");
  lua_pushinteger(L, n);
  lua_insert(L, 2);
  lua_pushcclosure(L, lines_next, 2 + n);
  return 1;
}

static void release(wfile *f) {
  if (f->h) CloseHandle(f->h);
  if (f->ev) CloseHandle(f->ev);
  f->h = f->ev = NULL;
}

static int f_close(lua_State *L) {
  release(check_file(L));
  lua_pushboolean(L, 1);
  return 1;
}

static int f_gc(lua_State *L) {
  release((wfile *)luaL_checkudata(L, 1, STDIO_MT));
  return 0;
}

/* Every write goes straight to the pipe: nothing to flush or buffer. */
static int f_flush(lua_State *L) {
  check_file(L);
  lua_settop(L, 1);
  return 1;
}

static int f_setvbuf(lua_State *L) {
  static const char *const modes[] = {"no", "full", "line", NULL};
  check_file(L);
  luaL_checkoption(L, 2, NULL, modes);
  lua_pushboolean(L, 1);
  return 1;
}

static int f_seek(lua_State *L) {
  check_file(L);
  lua_pushnil(L);
  lua_pushliteral(L, "cannot seek on a pipe");
  lua_pushinteger(L, ERROR_INVALID_FUNCTION);
  return 3;
}

static int f_tostring(lua_State *L) {
  wfile *f = (wfile *)luaL_checkudata(L, 1, STDIO_MT);
  if (f->h) lua_pushfstring(L, "file (%p)", (void *)f);
  else lua_pushliteral(L, "file (closed)");
  return 1;
}

/* ---- core.read_ready and core.fileno (src/pipe.c) on these objects ---- */

void *plat_stdio_check(lua_State *L, int idx) {
  wfile *f = (wfile *)luaL_checkudata(L, idx, STDIO_MT);
  if (!f->h) luaL_error(L, "attempt to use a closed file");
  return f;
}

/* A read will not block: buffered bytes, a known end, data in the pipe, or
 * a pipe that is gone (the read then reports the end). */
int plat_stdio_ready(void *p) {
  wfile *f = (wfile *)p;
  DWORD avail = 0;
  if (f->rpos < f->rlen || f->eof) return 1;
  if (!PeekNamedPipe(f->h, NULL, 0, NULL, &avail, NULL)) return 1;
  return avail > 0;
}

/* Buffered bytes first, then at most what the pipe holds, so the
 * overlapped read cannot wait.  >0 bytes, 0 at the end, -1 nothing yet. */
long plat_stdio_read_some(void *p, char *buf, size_t len) {
  wfile *f = (wfile *)p;
  DWORD avail = 0, got = 0;
  if (f->rpos < f->rlen) {
    size_t k = f->rlen - f->rpos;
    if (k > len) k = len;
    memcpy(buf, f->rbuf + f->rpos, k);
    f->rpos += k;
    return (long)k;
  }
  if (f->eof) return 0;
  if (!PeekNamedPipe(f->h, NULL, 0, NULL, &avail, NULL)) avail = 1; /* gone: read the end */
  if (avail == 0) return -1;
  if (avail < len) len = avail;
  if (transfer(f, buf, (DWORD)len, &got) != 0) {
    f->eof = 1;
    return 0;
  }
  return (long)got;
}

long plat_stdio_write_some(void *p, const char *buf, size_t len, unsigned long timeout_ms,
                           unsigned long *error) {
  wfile *f = (wfile *)p;
  OVERLAPPED o;
  DWORD put = 0;
  *error = 0;
  if (!f->writable) {
    *error = ERROR_INVALID_FUNCTION;
    return -1;
  }
  memset(&o, 0, sizeof o);
  o.hEvent = f->ev;
  if (len > 0x40000000u) len = 0x40000000u;
  if (!WriteFile(f->h, buf, (DWORD)len, NULL, &o) && GetLastError() != ERROR_IO_PENDING) {
    *error = GetLastError();
    return -1;
  }
  /* still pending at the timeout: cancelled; what it wrote counts */
  if (WaitForSingleObject(f->ev, timeout_ms) != WAIT_OBJECT_0) CancelIoEx(f->h, &o);
  if (!GetOverlappedResult(f->h, &o, &put, TRUE) && GetLastError() != ERROR_OPERATION_ABORTED) {
    *error = GetLastError();
    return -1;
  }
  return (long)put;
}

/* The HANDLE's value, for event loops that take one (libuv, ...). */
long long plat_stdio_handle(void *p) { return (long long)(intptr_t)((wfile *)p)->h; }

static void metatable(lua_State *L) {
  static const luaL_Reg methods[] = {{"read", f_read},   {"write", f_write}, {"lines", f_lines},
                                     {"close", f_close}, {"flush", f_flush}, {"setvbuf", f_setvbuf},
                                     {"seek", f_seek},   {NULL, NULL}};
  static const luaL_Reg metamethods[] = {
      {"__gc", f_gc}, {"__close", f_gc}, {"__tostring", f_tostring}, {NULL, NULL}};
  if (!luaL_newmetatable(L, STDIO_MT)) return;
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
}

void plat_push_stdio(lua_State *L, const plat_handle h[3]) {
  wfile *f[3];
  int i;
  /* every allocation first (any may raise), then the handles are taken
   * over, which cannot fail: each handle ends owned by exactly one object */
  metatable(L);
  lua_pop(L, 1);
  for (i = 0; i < 3; i++) {
    f[i] = NULL;
    if (h[i] == PLAT_NO_HANDLE) {
      lua_pushnil(L);
      continue;
    }
    f[i] = (wfile *)lua_newuserdatauv(L, sizeof(wfile), 0);
    f[i]->h = f[i]->ev = NULL;
    luaL_setmetatable(L, STDIO_MT);
    f[i]->ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!f[i]->ev) {
      int j;
      for (j = 0; j < 3; j++) plat_handle_close(h[j]); /* none taken over yet */
      luaL_error(L, "cannot make an event for process stdio (Win32 error %d)", (int)GetLastError());
    }
  }
  for (i = 0; i < 3; i++) {
    if (!f[i]) continue;
    f[i]->h = (HANDLE)h[i];
    f[i]->writable = i == 0;
    f[i]->eof = 0;
    f[i]->rpos = f[i]->rlen = 0;
    SetHandleInformation(f[i]->h, HANDLE_FLAG_INHERIT, 0);
  }
}
