/* Mount stubs: the empty files and directories the runtime makes in a
 * sandbox's upper layer to mount over (/.hcsshim-init, /etc/hosts,
 * /etc/resolv.conf, a MappedDirectory's target, ... when the image lacks
 * them).  They belong to the container's set-up, not to its changes, so
 * an export leaves them out, as docker's init layer keeps them out of a
 * commit.  Before the runtime runs, the compute side names its mount
 * targets (lay_note_stubs); those missing from the merged tree then, and
 * their missing parents, are listed in the sandbox's `stubs` file, one
 * relative path per line.  The export skips a listed entry only while it
 * is still a stub: an empty regular file or an empty directory. */
#include "linux/common/common.h"
#include "linux/layers/layer_store.h"
#include "linux/layers/layers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STUBS_FILE "stubs"
#define STUBS_MAX (256 * 1024)

/* Whether `line` is a whole line of `text`. */
static int listed(const char *text, const char *line) {
  size_t n = strlen(line);
  const char *p = text;
  while (p && *p) {
    if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0')) return 1;
    if ((p = strchr(p, '\n'))) p++;
  }
  return 0;
}

/* A target as a path relative to the root ("etc/hosts"), or NULL for one
 * that is empty, the root itself or climbs out. */
static const char *relative(const char *target, char *out, size_t len) {
  while (*target == '/') target++;
  if (!*target || strlen(target) >= len) return NULL;
  snprintf(out, len, "%s", target);
  for (size_t n = strlen(out); n > 0 && out[n - 1] == '/'; n--) out[n - 1] = '\0';
  for (const char *p = out; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
    if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0')) return NULL;
  return out;
}

/* Appends `rel` and each of its parents missing in the merged tree at
 * mfd to the list in *text (a growing buffer). */
static int note_missing(int mfd, char *rel, char **text, size_t *len) {
  struct stat st;
  char *slash;
  if (fstatat(mfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) return 0;
  if (!listed(*text, rel)) {
    size_t n = strlen(rel);
    char *t = realloc(*text, *len + n + 2);
    if (!t) return -ENOMEM;
    memcpy(t + *len, rel, n);
    t[*len + n] = '\n';
    t[*len + n + 1] = '\0';
    *text = t;
    *len += n + 1;
  }
  if (!(slash = strrchr(rel, '/'))) return 0;
  *slash = '\0';
  return note_missing(mfd, rel, text, len);
}

static int same_file(const char *a, const char *b) {
  struct stat x, y;
  return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

plat_hresult lay_note_stubs(const char *rootfs, const char *const *targets, size_t count) {
  lyr l;
  char home[LYR_PATH_MAX], id[LYR_ID_MAX], mnt[LYR_PATH_MAX], path[LYR_PATH_MAX], rel[LYR_PATH_MAX];
  char *text = NULL;
  size_t len = 0;
  int mfd = -1, rc = 0;
  plat_hresult hr;
  lyr_clear_error();
  hr = lyr_open_path(&l, rootfs, "note stubs of", home, id, 1);
  if (hr == PLAT_E_NOT_FOUND) return PLAT_S_OK;
  if (hr < 0) return hr;
  lyr_sub(&l, "mount", mnt);
  if (!l.meta.sandbox || !same_file(mnt, rootfs)) goto out;
  lyr_sub(&l, STUBS_FILE, path);
  text = cmn_read_file(path, &len);
  if (!text && !(text = calloc(1, 1))) rc = -ENOMEM;
  if (!rc && (mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) rc = -errno;
  for (size_t i = 0; !rc && i < count; i++)
    if (targets[i] && relative(targets[i], rel, sizeof rel))
      rc = note_missing(mfd, rel, &text, &len);
  if (!rc && len > STUBS_MAX) rc = -E2BIG;
  if (!rc && cmn_write_file(path, text, len, 0600) < 0) rc = -errno;
  if (rc < 0)
    hr = lyr_fail(rc == -ENOMEM ? PLAT_E_OUTOFMEMORY : PLAT_E_FAIL,
                  "sandbox layer %s: recording mount stubs: %s", id, strerror(-rc));
out:
  if (mfd >= 0) close(mfd);
  free(text);
  lyr_close(&l);
  return hr;
}

char *lyr_stubs_read(const lyr *l) {
  char path[LYR_PATH_MAX];
  if (!l->meta.sandbox) return NULL;
  lyr_sub(l, STUBS_FILE, path);
  return cmn_read_file(path, NULL);
}

/* Whether a directory has no entries (other than . and ..). */
static int empty_dir(int dirfd, const char *base) {
  int fd = openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  struct dirent *e;
  int empty = d != NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return 0;
  }
  while (empty && (e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
  closedir(d);
  return empty;
}

int lyr_is_stub(const char *stubs, const char *name, const struct stat *st, int dirfd,
                const char *base) {
  if (!stubs || !listed(stubs, name)) return 0;
  if (S_ISREG(st->st_mode)) return st->st_size == 0;
  return S_ISDIR(st->st_mode) && empty_dir(dirfd, base);
}
