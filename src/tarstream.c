/* Layer tars as entry streams, through libarchive, for the Linux layer
 * reader and writer of hcsshim.layer (above the seam; Linux only so far):
 *
 *   core.tar_reader(path) -> r: r:next() gives the next entry's header
 *     table (below) or false at the end; r:read(n) gives up to n bytes of
 *     its data ("" at its end); r:close().
 *   core.tar_writer(dir) -> w: a PAX tar in an anonymous file of `dir`
 *     (O_TMPFILE: never visible, gone with the last descriptor).
 *     w:add(header) starts an entry; w:write(data) appends to a regular
 *     file's data, which is spooled (another anonymous file) because a tar
 *     header needs the size first; w:finish() ends the archive and returns
 *     a path that opens it ("/proc/self/fd/N", valid until w:close()).
 *
 * Header tables: {name=, type="file"|"dir"|"symlink"|"hardlink"|"char"|
 * "block"|"fifo"|"socket", mode= (permission bits), uid=, gid=, mtime=
 * (seconds), size= (reader), linkname= (symlink or hard link target),
 * devmajor=, devminor=, xattrs={name=value}}.
 * Failures: nil, message.  Every descriptor and archive lives in a
 * userdata whose __gc (and __close) releases it. */
#include <string.h>

#include "bind.h"
#include "modules.h"

#ifndef _WIN32
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files.h"

#define READER_MT "hcsshim.tar_reader"
#define WRITER_MT "hcsshim.tar_writer"
#define CHUNK (256 * 1024)

static const struct {
  const char *name;
  mode_t type;
} types[] = {{"file", AE_IFREG},  {"dir", AE_IFDIR},  {"symlink", AE_IFLNK}, {"char", AE_IFCHR},
             {"block", AE_IFBLK}, {"fifo", AE_IFIFO}, {"socket", AE_IFSOCK}};

static const char *aerr(struct archive *a) {
  const char *s = archive_error_string(a);
  return s ? s : strerror(archive_errno(a) ? archive_errno(a) : EIO);
}

static int fail(lua_State *L, const char *what, const char *why) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, why);
  return 2;
}

/* ---- reader ---- */

typedef struct reader {
  struct archive *a;
  int fd;
} reader;

static int reader_gc(lua_State *L) {
  reader *r = luaL_checkudata(L, 1, READER_MT);
  if (r->a) archive_read_free(r->a);
  if (r->fd >= 0) close(r->fd);
  r->a = NULL;
  r->fd = -1;
  return 0;
}

static reader *check_reader(lua_State *L) {
  reader *r = luaL_checkudata(L, 1, READER_MT);
  if (!r->a) luaL_error(L, "attempt to use a closed tar reader");
  return r;
}

static int l_reader(lua_State *L) {
  const char *path = bind_check_plain(L, 1);
  reader *r = lua_newuserdatauv(L, sizeof *r, 0);
  r->a = NULL;
  r->fd = -1;
  luaL_setmetatable(L, READER_MT);
  if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) return fail(L, path, strerror(errno));
  if (!(r->a = archive_read_new())) return fail(L, path, "out of memory");
  archive_read_support_format_tar(r->a);
  archive_read_support_format_empty(r->a);
  if (archive_read_open_fd(r->a, r->fd, CHUNK) != ARCHIVE_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, aerr(r->a));
    archive_read_free(r->a);
    r->a = NULL;
    return 2;
  }
  return 1;
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static const char *type_name(struct archive_entry *e) {
  if (archive_entry_hardlink(e)) return "hardlink";
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (types[i].type == archive_entry_filetype(e)) return types[i].name;
  return "unknown";
}

static void push_xattrs(lua_State *L, struct archive_entry *e) {
  const char *name;
  const void *value;
  size_t len;
  lua_newtable(L);
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &len) == ARCHIVE_OK) {
    lua_pushlstring(L, value, len);
    lua_setfield(L, -2, name);
  }
  lua_setfield(L, -2, "xattrs");
}

/* r:next() -> header | false | nil, msg */
static int reader_next(lua_State *L) {
  reader *r = check_reader(L);
  struct archive_entry *e;
  int rc = archive_read_next_header(r->a, &e);
  if (rc == ARCHIVE_EOF) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (rc < ARCHIVE_WARN) return fail(L, "reading the layer tar", aerr(r->a));
  lua_createtable(L, 0, 12);
  set_str(L, "name", archive_entry_pathname(e));
  set_str(L, "type", type_name(e));
  set_int(L, "mode", archive_entry_perm(e));
  set_int(L, "uid", archive_entry_uid(e));
  set_int(L, "gid", archive_entry_gid(e));
  set_int(L, "mtime", archive_entry_mtime(e));
  set_int(L, "size", archive_entry_hardlink(e) ? 0 : archive_entry_size(e));
  set_str(L, "linkname",
          archive_entry_hardlink(e) ? archive_entry_hardlink(e) : archive_entry_symlink(e));
  if (archive_entry_filetype(e) == AE_IFCHR || archive_entry_filetype(e) == AE_IFBLK) {
    set_int(L, "devmajor", archive_entry_rdevmajor(e));
    set_int(L, "devminor", archive_entry_rdevminor(e));
  }
  push_xattrs(L, e);
  return 1;
}

/* r:read(n) -> bytes ("" at the end of the entry) | nil, msg */
static int reader_read(lua_State *L) {
  reader *r = check_reader(L);
  lua_Integer n = luaL_optinteger(L, 2, 65536);
  luaL_Buffer b;
  la_ssize_t got;
  luaL_argcheck(L, n > 0 && n <= 0x40000000, 2, "read size out of range");
  got = archive_read_data(r->a, luaL_buffinitsize(L, &b, (size_t)n), (size_t)n);
  if (got < 0) return fail(L, "reading the layer tar", aerr(r->a));
  luaL_pushresultsize(&b, (size_t)got);
  return 1;
}

/* ---- writer ---- */

typedef struct writer {
  struct archive *a;
  struct archive_entry *pending; /* a regular file waiting for its data */
  int fd, spool;
  int finished;
  char *buf;
} writer;

static void writer_release(writer *w) {
  if (w->a) archive_write_free(w->a);
  if (w->pending) archive_entry_free(w->pending);
  if (w->fd >= 0) close(w->fd);
  if (w->spool >= 0) close(w->spool);
  free(w->buf);
  memset(w, 0, sizeof *w);
  w->fd = w->spool = -1;
}

static int writer_gc(lua_State *L) {
  writer_release(luaL_checkudata(L, 1, WRITER_MT));
  return 0;
}

static writer *check_writer(lua_State *L) {
  writer *w = luaL_checkudata(L, 1, WRITER_MT);
  if (!w->a) luaL_error(L, "attempt to use a closed tar writer");
  return w;
}

static int anon_file(const char *dir) {
  char path[4200];
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR)) return fd;
  snprintf(path, sizeof path, "%s/.tar-XXXXXX", dir); /* no O_TMPFILE here */
  if ((fd = mkostemp(path, O_CLOEXEC)) >= 0) unlink(path);
  return fd;
}

static int l_writer(lua_State *L) {
  const char *dir = bind_check_plain(L, 1);
  writer *w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  w->fd = w->spool = -1;
  luaL_setmetatable(L, WRITER_MT);
  if ((w->fd = anon_file(dir)) < 0 || (w->spool = anon_file(dir)) < 0)
    return fail(L, dir, strerror(errno));
  if (!(w->a = archive_write_new()) || !(w->buf = malloc(CHUNK))) return fail(L, dir, "no memory");
  if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
      archive_write_open_fd(w->a, w->fd) != ARCHIVE_OK) {
    lua_pushnil(L);
    lua_pushstring(L, aerr(w->a));
    writer_release(w);
    return 2;
  }
  return 1;
}

/* Writes the pending regular file: its header with the spooled size, then
 * the spooled data.  NULL or why not. */
static const char *flush(writer *w) {
  off_t size;
  const char *why = NULL;
  if (!w->pending) return NULL;
  size = lseek(w->spool, 0, SEEK_CUR);
  archive_entry_set_size(w->pending, size);
  if (size < 0 || lseek(w->spool, 0, SEEK_SET) < 0) why = strerror(errno);
  else if (archive_write_header(w->a, w->pending) < ARCHIVE_WARN) why = aerr(w->a);
  while (!why && size > 0) {
    ssize_t n = read(w->spool, w->buf, size < CHUNK ? (size_t)size : CHUNK);
    if (n <= 0) why = n < 0 ? strerror(errno) : "spool file shrank";
    else if (archive_write_data(w->a, w->buf, (size_t)n) < 0) why = aerr(w->a);
    else size -= n;
  }
  if (!why && (lseek(w->spool, 0, SEEK_SET) < 0 || ftruncate(w->spool, 0) < 0))
    why = strerror(errno);
  archive_entry_free(w->pending);
  w->pending = NULL;
  return why;
}

static lua_Integer opt_int(lua_State *L, const char *k, lua_Integer def) {
  lua_Integer v = def;
  if (lua_getfield(L, 2, k) != LUA_TNIL) {
    if (!lua_isinteger(L, -1)) luaL_error(L, "bad argument #1 to 'add' (%s: integer expected)", k);
    v = lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static const char *opt_str(lua_State *L, const char *k) {
  const char *v = NULL;
  if (lua_getfield(L, 2, k) != LUA_TNIL) v = bind_check_plain(L, -1);
  lua_pop(L, 1); /* still referenced by the header table */
  return v;
}

static mode_t check_type(lua_State *L, const char *t) {
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcmp(types[i].name, t) == 0) return types[i].type;
  if (strcmp(t, "hardlink") == 0) return AE_IFREG;
  luaL_error(L, "bad argument #1 to 'add' (unknown type \"%s\")", t);
  return 0;
}

static void add_xattrs(lua_State *L, struct archive_entry *e) {
  if (lua_getfield(L, 2, "xattrs") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      size_t len;
      const char *v = lua_tolstring(L, -1, &len);
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "bad argument #1 to 'add' (xattrs: string names and values expected)");
      archive_entry_xattr_add_entry(e, lua_tostring(L, -2), v, len);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

/* w:add(header) -> true | nil, msg */
static int writer_add(lua_State *L) {
  writer *w = check_writer(L);
  struct archive_entry *e;
  const char *why, *name, *type, *link;
  mode_t t;
  luaL_checktype(L, 2, LUA_TTABLE);
  if (w->finished) return luaL_error(L, "attempt to add to a finished tar writer");
  name = opt_str(L, "name");
  type = opt_str(L, "type");
  link = opt_str(L, "linkname");
  luaL_argcheck(L, name && name[0], 2, "name expected");
  t = check_type(L, type ? type : "file");
  if ((why = flush(w))) return fail(L, "writing the layer tar", why);
  if (!(e = archive_entry_new())) return fail(L, name, "out of memory");
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, t);
  archive_entry_set_perm(e, (mode_t)opt_int(L, "mode", t == AE_IFDIR ? 0755 : 0644) & 07777);
  archive_entry_set_uid(e, opt_int(L, "uid", 0));
  archive_entry_set_gid(e, opt_int(L, "gid", 0));
  archive_entry_set_mtime(e, opt_int(L, "mtime", 0), 0);
  archive_entry_set_rdevmajor(e, (dev_t)opt_int(L, "devmajor", 0));
  archive_entry_set_rdevminor(e, (dev_t)opt_int(L, "devminor", 0));
  if (type && strcmp(type, "hardlink") == 0) archive_entry_set_hardlink(e, link);
  else if (t == AE_IFLNK) archive_entry_set_symlink(e, link);
  add_xattrs(L, e);
  if (t == AE_IFREG && !archive_entry_hardlink(e)) {
    w->pending = e; /* its header waits for the size */
  } else {
    int rc = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (rc < ARCHIVE_WARN) return fail(L, name, aerr(w->a));
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* w:write(data) -> true | nil, msg: data of the regular file just added */
static int writer_write(lua_State *L) {
  writer *w = check_writer(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  if (!w->pending) return fail(L, "write", "no regular file entry to write to");
  if (files_write_all(w->spool, data, len) < 0) return fail(L, "spooling", strerror(errno));
  lua_pushboolean(L, 1);
  return 1;
}

/* w:finish() -> path | nil, msg */
static int writer_finish(lua_State *L) {
  writer *w = check_writer(L);
  const char *why = flush(w);
  if (why) return fail(L, "writing the layer tar", why);
  if (!w->finished && archive_write_close(w->a) != ARCHIVE_OK)
    return fail(L, "writing the layer tar", aerr(w->a));
  w->finished = 1;
  lua_pushfstring(L, "/proc/self/fd/%d", w->fd);
  return 1;
}

static const luaL_Reg reader_methods[] = {
    {"next", reader_next}, {"read", reader_read}, {"close", reader_gc}, {NULL, NULL}};
static const luaL_Reg writer_methods[] = {{"add", writer_add},
                                          {"write", writer_write},
                                          {"finish", writer_finish},
                                          {"close", writer_gc},
                                          {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"tar_reader", l_reader},
    {"tar_writer", l_writer},
    {NULL, NULL},
};

void core_open_tarstream(lua_State *L) {
  bind_new_class(L, READER_MT, reader_methods, reader_gc);
  bind_new_class(L, WRITER_MT, writer_methods, writer_gc);
  luaL_setfuncs(L, functions, 0);
}
#else
void core_open_tarstream(lua_State *L) { (void)L; }
#endif
