/* Image archives through libarchive, for hcsshim.image (above the seam):
 *
 *   core.archive_unpack(path, dir[, progress]) copies every regular file of
 *     an outer image archive (docker-archive, oci-archive, OCI layout tar)
 *     into the new folder `dir` under generated names ("00000000", ...), so
 *     no name from the archive ever becomes a path on disk: hostile names
 *     ("../x", "/etc/x", through symlinks) cannot write anywhere.  Names
 *     are only keys of the returned table; links come back as targets for
 *     the caller to resolve inside the archive's own namespace.
 *   core.archive_entries(path) iterates over the entries' names (the
 *     guard of import_layer against image archives).
 *   core.blob_digests(path[, progress]) reads a blob once and gives both
 *     its own digest and the digest of its decompressed stream (a layer's
 *     DiffID), gzip, zstd, xz or bzip2 being recognised by libarchive.
 *
 * Every archive and file handle lives in a userdata whose __gc (and
 * __close) releases it, so an error raised by a progress callback leaks
 * nothing; unpack and blob_digests mark theirs to-be-closed, so that
 * happens before the error reaches the caller, and an unpack that did not
 * finish removes the files it made. */
#include <string.h>

#include "bind.h"
#include "modules.h"

#ifndef _WIN32
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "files.h"

#define CHUNK (1 << 20)
#define PROGRESS_EVERY (16u << 20) /* bytes between progress calls */

/* The filters a layer may be compressed with (not filter_all: that one
 * would also run external programs such as lrzip). */
static void support_filters(struct archive *a) {
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_bzip2(a);
}

/* libarchive's message, never NULL */
static const char *aerr(struct archive *a) {
  const char *s = archive_error_string(a);
  return s ? s : "read error";
}

/* progress(bytes, entries) when a callback was given at `idx` */
static void progress(lua_State *L, int idx, lua_Integer bytes, lua_Integer entries) {
  if (lua_isnoneornil(L, idx)) return;
  lua_pushvalue(L, idx);
  lua_pushinteger(L, bytes);
  lua_pushinteger(L, entries);
  lua_call(L, 2, 0);
}

/* ---- unpack ---- */

typedef struct unpack {
  struct archive *a;
  int fd;          /* the file being written, or -1 */
  unsigned nfiles; /* files made in dir: 00000000 .. nfiles-1 */
  int made_dir;
  int keep; /* finished: the caller owns dir now */
  char dir[4096];
  char buf[CHUNK];
} unpack;

#define UNPACK_MT "hcsshim.archive_unpack"

static void unpack_release(unpack *u) {
  if (u->a) archive_read_free(u->a);
  u->a = NULL;
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
  if (!u->keep && u->made_dir) {
    char p[4200];
    for (unsigned i = 0; i < u->nfiles; i++) {
      snprintf(p, sizeof p, "%s/%08u", u->dir, i);
      unlink(p);
    }
    rmdir(u->dir);
  }
  u->made_dir = 0;
}

static int unpack_gc(lua_State *L) {
  unpack_release(luaL_checkudata(L, 1, UNPACK_MT));
  return 0;
}

static int unpack_fail(lua_State *L, unpack *u, const char *fmt, const char *name,
                       const char *why) {
  lua_pushnil(L);
  lua_pushfstring(L, fmt, name, why);
  unpack_release(u);
  return 2;
}

/* Copies the current entry's data into a new file; pushes its path. */
static const char *unpack_file(lua_State *L, unpack *u, lua_Integer *bytes, lua_Integer *next) {
  char path[4200];
  la_ssize_t n;
  snprintf(path, sizeof path, "%s/%08u", u->dir, u->nfiles);
  u->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (u->fd < 0) return strerror(errno);
  u->nfiles++;
  while ((n = archive_read_data(u->a, u->buf, sizeof u->buf)) > 0) {
    if (files_write_all(u->fd, u->buf, (size_t)n) < 0) return strerror(errno);
    *bytes += n;
    if (*bytes >= *next) {
      *next = *bytes + PROGRESS_EVERY;
      progress(L, 3, *bytes, (lua_Integer)u->nfiles - 1);
    }
  }
  if (n < 0) return aerr(u->a);
  if (close(u->fd) < 0) {
    u->fd = -1;
    return strerror(errno);
  }
  u->fd = -1;
  lua_pushstring(L, path);
  return NULL;
}

/* entries[name] = {file=, size=} | {link=, hard=} ; the table is on top */
static const char *unpack_entry(lua_State *L, unpack *u, struct archive_entry *e,
                                lua_Integer *bytes, lua_Integer *next) {
  const char *name = archive_entry_pathname(e), *hl = archive_entry_hardlink(e), *why;
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFDIR && !hl) return NULL;
  lua_createtable(L, 0, 2);
  if (hl || type == AE_IFLNK) {
    lua_pushstring(L, hl ? hl : archive_entry_symlink(e));
    lua_setfield(L, -2, "link");
    lua_pushboolean(L, hl != NULL);
    lua_setfield(L, -2, "hard");
  } else if (type == AE_IFREG) {
    if ((why = unpack_file(L, u, bytes, next))) return why;
    lua_setfield(L, -2, "file");
    lua_pushinteger(L, archive_entry_size(e));
    lua_setfield(L, -2, "size");
  } else {
    return "not a file, directory or link";
  }
  lua_setfield(L, -2, name);
  return NULL;
}

/* core.archive_unpack(path, dir[, progress]) -> {name = {...}}, bytes | nil, msg */
static int l_unpack(lua_State *L) {
  const char *path = bind_check_plain(L, 1), *dir = bind_check_plain(L, 2), *why;
  unpack *u;
  struct archive_entry *e;
  lua_Integer bytes = 0, next = PROGRESS_EVERY, entries = 0;
  int r;
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TFUNCTION);
  luaL_argcheck(L, strlen(dir) < 4096 - 16, 2, "path too long");
  lua_settop(L, 3);
  u = lua_newuserdatauv(L, sizeof *u, 0);
  u->a = NULL;
  u->fd = -1;
  u->nfiles = 0;
  u->made_dir = u->keep = 0;
  strcpy(u->dir, dir);
  luaL_setmetatable(L, UNPACK_MT);
  lua_toclose(L, -1); /* released on return and on any error, not at GC */
  if (mkdir(dir, 0700) < 0) return unpack_fail(L, u, "%s: %s", dir, strerror(errno));
  u->made_dir = 1;
  if (!(u->a = archive_read_new())) return luaL_error(L, "not enough memory");
  support_filters(u->a);
  archive_read_support_format_tar(u->a);
  if (archive_read_open_filename(u->a, path, CHUNK) != ARCHIVE_OK)
    return unpack_fail(L, u, "%s: %s", path, aerr(u->a));
  lua_newtable(L);
  while ((r = archive_read_next_header(u->a, &e)) != ARCHIVE_EOF) {
    const char *name = archive_entry_pathname(e);
    if (r < ARCHIVE_WARN) return unpack_fail(L, u, "%s: corrupt archive: %s", path, aerr(u->a));
    if (!name) return unpack_fail(L, u, "%s: %s", path, "an entry has no usable name");
    if ((why = unpack_entry(L, u, e, &bytes, &next)))
      return unpack_fail(L, u, "entry \"%s\": %s", name, why);
    progress(L, 3, bytes, ++entries);
  }
  u->keep = 1;
  unpack_release(u);
  lua_pushinteger(L, bytes);
  return 2;
}

/* ---- entries ---- */

typedef struct lister {
  struct archive *a;
} lister;

#define LISTER_MT "hcsshim.archive_entries"

static int lister_gc(lua_State *L) {
  lister *l = luaL_checkudata(L, 1, LISTER_MT);
  if (l->a) archive_read_free(l->a);
  l->a = NULL;
  return 0;
}

static const char *kind_of(struct archive_entry *e) {
  if (archive_entry_hardlink(e)) return "link";
  switch (archive_entry_filetype(e)) {
  case AE_IFREG: return "file";
  case AE_IFDIR: return "dir";
  case AE_IFLNK: return "link";
  default: return "other";
  }
}

/* iterator: -> name, kind, size | nil (end, or an unreadable entry) */
static int lister_next(lua_State *L) {
  lister *l = luaL_checkudata(L, 1, LISTER_MT);
  struct archive_entry *e;
  if (!l->a || archive_read_next_header(l->a, &e) < ARCHIVE_WARN || !archive_entry_pathname(e)) {
    lister_gc(L);
    return 0;
  }
  lua_pushstring(L, archive_entry_pathname(e));
  lua_pushstring(L, kind_of(e));
  lua_pushinteger(L, archive_entry_size(e));
  return 3;
}

/* core.archive_entries(path) -> iterator, state, nil, state | nil, msg */
static int l_entries(lua_State *L) {
  const char *path = bind_check_plain(L, 1);
  lister *l = lua_newuserdatauv(L, sizeof *l, 0);
  l->a = NULL;
  luaL_setmetatable(L, LISTER_MT);
  if (!(l->a = archive_read_new())) return luaL_error(L, "not enough memory");
  support_filters(l->a);
  archive_read_support_format_tar(l->a);
  if (archive_read_open_filename(l->a, path, 1 << 16) != ARCHIVE_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, aerr(l->a));
    archive_read_free(l->a);
    l->a = NULL;
    return 2;
  }
  lua_pushcfunction(L, lister_next);
  lua_insert(L, -2);
  lua_pushnil(L);
  lua_pushvalue(L, -2);
  return 4;
}

/* ---- blob digests ---- */

typedef struct blob {
  struct archive *a;
  int fd;
  digest raw, plain;
  lua_Integer raw_bytes;
  char buf[CHUNK];
} blob;

#define BLOB_MT "hcsshim.blob_digests"

static int blob_gc(lua_State *L) {
  blob *b = luaL_checkudata(L, 1, BLOB_MT);
  if (b->a) archive_read_free(b->a);
  b->a = NULL;
  if (b->fd >= 0) close(b->fd);
  b->fd = -1;
  digest_free(&b->raw);
  digest_free(&b->plain);
  return 0;
}

/* libarchive pulls the file through here, so every byte is hashed once */
static la_ssize_t blob_read(struct archive *a, void *data, const void **out) {
  blob *b = data;
  ssize_t n;
  do n = read(b->fd, b->buf, sizeof b->buf);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "read: %s", strerror(errno));
    return -1;
  }
  digest_update(&b->raw, b->buf, (size_t)n);
  b->raw_bytes += n;
  *out = b->buf;
  return n;
}

/* Hashes the decompressed stream (unless it is the file itself); then the
 * bytes libarchive never asked for (after a compressed stream's end). */
static const char *blob_drain(lua_State *L, blob *b, lua_Integer *plain_bytes) {
  struct archive_entry *e;
  const void *p;
  size_t len;
  la_int64_t off;
  lua_Integer next = PROGRESS_EVERY;
  const char *why;
  int r = archive_read_next_header(b->a, &e);
  int same = archive_filter_code(b->a, 0) == ARCHIVE_FILTER_NONE;
  if (r == ARCHIVE_OK) {
    while ((r = archive_read_data_block(b->a, &p, &len, &off)) == ARCHIVE_OK) {
      if (!same) digest_update(&b->plain, p, len);
      *plain_bytes += (lua_Integer)len;
      if (b->raw_bytes >= next) {
        next = b->raw_bytes + PROGRESS_EVERY;
        progress(L, 2, b->raw_bytes, 0);
      }
    }
  }
  /* even after a decompression error the blob digest is finished, so a
   * damaged blob is reported as a digest mismatch first */
  why = r != ARCHIVE_EOF ? aerr(b->a) : NULL;
  while (blob_read(b->a, b, &p) > 0) {}
  return why;
}

/* core.blob_digests(path[, progress]) -> blob digest, content digest,
 * compression ("none", "gzip", "zstd", ...), blob bytes, content bytes;
 * when the content cannot be decompressed: blob digest, nil, compression,
 * blob bytes, content bytes so far, message; nil, msg when unreadable */
static int l_blob_digests(lua_State *L) {
  const char *path = bind_check_plain(L, 1), *why;
  const void *p;
  char raw[DIGEST_TEXT_LEN], plain[DIGEST_TEXT_LEN];
  lua_Integer plain_bytes = 0;
  int same;
  blob *b;
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, offsetof(blob, buf));
  b->fd = -1;
  luaL_setmetatable(L, BLOB_MT);
  lua_toclose(L, -1);
  if (digest_init(&b->raw) < 0 || digest_init(&b->plain) < 0 || !(b->a = archive_read_new()))
    return luaL_error(L, "not enough memory");
  if ((b->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  support_filters(b->a);
  archive_read_support_format_raw(b->a);
  archive_read_support_format_empty(b->a);
  if (archive_read_open(b->a, b, NULL, blob_read, NULL) != ARCHIVE_OK) {
    why = aerr(b->a);
    while (blob_read(b->a, b, &p) > 0) {}
  } else {
    why = blob_drain(L, b, &plain_bytes);
  }
  same = archive_filter_code(b->a, 0) == ARCHIVE_FILTER_NONE;
  digest_final(&b->raw, raw);
  if (same) strcpy(plain, raw);
  else digest_final(&b->plain, plain);
  lua_pushstring(L, raw);
  if (why) lua_pushnil(L);
  else lua_pushstring(L, plain);
  lua_pushstring(L, same ? "none" : archive_filter_name(b->a, 0));
  lua_pushinteger(L, b->raw_bytes);
  lua_pushinteger(L, plain_bytes);
  if (why) lua_pushstring(L, why);
  else lua_pushnil(L);
  progress(L, 2, b->raw_bytes, 1);
  return 6;
}

static void new_mt(lua_State *L, const char *name, lua_CFunction gc) {
  luaL_newmetatable(L, name);
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
}

static const luaL_Reg functions[] = {{"archive_unpack", l_unpack},
                                     {"archive_entries", l_entries},
                                     {"blob_digests", l_blob_digests},
                                     {NULL, NULL}};

void core_open_archive(lua_State *L) {
  new_mt(L, UNPACK_MT, unpack_gc);
  new_mt(L, LISTER_MT, lister_gc);
  new_mt(L, BLOB_MT, blob_gc);
  luaL_setfuncs(L, functions, 0);
}
#else
void core_open_archive(lua_State *L) { (void)L; }
#endif
