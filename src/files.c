/* The few file operations Lua lacks, for hcsshim.image's record store:
 *
 *   core.write_file_atomic(path, data)  temp file + fsync + rename + fsync
 *                                       of the folder: a reader (or a crash)
 *                                       sees the old content or the new one
 *   core.list_dir(path)                 names in a folder, sorted
 *   core.make_dirs(path)                mkdir -p, new folders 0700
 *
 * Failures: nil, message, errno. */
#include <string.h>

#include "bind.h"
#include "modules.h"

#ifndef _WIN32
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

static int fail_errno(lua_State *L, const char *what, const char *path, int e) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s %s: %s", what, path, strerror(e));
  lua_pushinteger(L, e);
  return 3;
}

int files_write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int sync_dir_of(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  int fd, rc;
  if (!slash) return 0;
  snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  rc = fsync(fd);
  close(fd);
  return rc;
}

/* core.write_file_atomic(path, data) -> true | nil, msg, errno */
static int l_write_atomic(lua_State *L) {
  const char *path = bind_check_plain(L, 1);
  size_t n;
  const char *data = luaL_checklstring(L, 2, &n);
  char tmp[4200];
  int fd, e;
  luaL_argcheck(L, strlen(path) < 4096, 1, "path too long");
  snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) return fail_errno(L, "creating", tmp, errno);
  if (files_write_all(fd, data, n) < 0 || fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
    e = errno;
    close(fd);
    unlink(tmp);
    return fail_errno(L, "writing", tmp, e);
  }
  if (close(fd) < 0 || rename(tmp, path) < 0) {
    e = errno;
    unlink(tmp);
    return fail_errno(L, "replacing", path, e);
  }
  if (sync_dir_of(path) < 0) return fail_errno(L, "syncing the folder of", path, errno);
  lua_pushboolean(L, 1);
  return 1;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* core.list_dir(path) -> {name, ...} (sorted, without . and ..) | nil, msg, errno */
static int l_list_dir(lua_State *L) {
  const char *path = bind_check_plain(L, 1);
  struct dirent **names = NULL;
  int n = scandir(path, &names, NULL, NULL), i, k = 0;
  if (n < 0) return fail_errno(L, "listing", path, errno);
  qsort(names, (size_t)n, sizeof *names, by_name);
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    const char *s = names[i]->d_name;
    if (strcmp(s, ".") != 0 && strcmp(s, "..") != 0) {
      lua_pushstring(L, s);
      lua_rawseti(L, -2, ++k);
    }
  }
  for (i = 0; i < n; i++) free(names[i]);
  free(names);
  return 1;
}

/* core.make_dirs(path) -> true | nil, msg, errno */
static int l_make_dirs(lua_State *L) {
  const char *path = bind_check_plain(L, 1);
  char buf[4096];
  size_t len = strlen(path);
  luaL_argcheck(L, len > 0 && len < sizeof buf, 1, "empty or too long");
  memcpy(buf, path, len + 1);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0700) < 0 && errno != EEXIST) return fail_errno(L, "creating", buf, errno);
      *p = c;
      if (!c) break;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg functions[] = {{"write_file_atomic", l_write_atomic},
                                     {"list_dir", l_list_dir},
                                     {"make_dirs", l_make_dirs},
                                     {NULL, NULL}};

void core_open_files(lua_State *L) { luaL_setfuncs(L, functions, 0); }
#else
void core_open_files(lua_State *L) { (void)L; }
#endif
