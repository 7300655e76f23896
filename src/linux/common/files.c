/* The one family of file helpers.  The tree walk uses *at() calls on
 * directory fds so it never follows a symlink planted inside a layer and
 * never depends on the (process-wide) current directory. */
#include "linux/common/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int cmn_mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -errno;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0) {
    struct stat st;
    if (errno != EEXIST) return -errno;
    if (stat(buf, &st) < 0) return -errno;
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  }
  return 0;
}

int cmn_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

char *cmn_read_all(int fd, size_t max, size_t *len) {
  size_t n = 0, cap = 1024;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  for (;;) {
    ssize_t r;
    if (n + 1 >= cap) {
      char *nb;
      if (cap >= max) {
        free(buf);
        errno = EFBIG;
        return NULL;
      }
      nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        errno = ENOMEM;
        return NULL;
      }
      buf = nb;
      cap *= 2;
    }
    r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      free(buf);
      errno = e;
      return NULL;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

#define READ_MAX (16u << 20)

/* The whole of fd, which is closed, if it is a regular file of at most max
 * bytes (EINVAL if not regular, EFBIG if larger); errno is read_all's. */
static char *read_and_close(int fd, size_t max, size_t *len) {
  struct stat st;
  char *s = NULL;
  int e;
  if (fd < 0) return NULL;
  if (fstat(fd, &st) < 0) e = errno;
  else if (!S_ISREG(st.st_mode)) e = EINVAL;
  else if ((uint64_t)st.st_size > max) e = EFBIG;
  else {
    s = cmn_read_all(fd, max + 1, len); /* read_all keeps room for the NUL */
    e = errno;
  }
  close(fd);
  errno = e;
  return s;
}

/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused as
 * not regular right after). */
char *cmn_read_file(const char *path, size_t *len) {
  return read_and_close(open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY),
                        READ_MAX, len);
}

/* The last `lines` (at most 8) non-empty lines of a log, joined by "; "
 * and cut to their last 1 KiB, so that a message can carry them after the
 * log itself is gone.  NULL when there are none. */
char *cmn_log_tail(const char *path, int lines) {
  char *text = cmn_read_file(path, NULL), *ring[8], *save = NULL, *out = NULL;
  int n = 0, k = lines < 1 ? 1 : lines > 8 ? 8 : lines, first;
  size_t size = 1, len = 0;
  if (!text) return NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
    if (*l) ring[n++ % k] = l;
  first = n > k ? n - k : 0;
  for (int i = first; i < n; i++) size += strlen(ring[i % k]) + 2;
  if (n && (out = malloc(size))) {
    for (int i = first; i < n; i++)
      len += (size_t)sprintf(out + len, "%s%s", i > first ? "; " : "", ring[i % k]);
    if (len > 1024) memmove(out, out + len - 1024, 1025);
  }
  free(text);
  return out;
}

/* Symlinks in a container's root resolve inside it, never to the host's
 * files. */
char *cmn_read_fileat(int dirfd, const char *path, size_t max, size_t *len) {
  return read_and_close(cmn_open_in_root(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY), max, len);
}

const char *cmn_read_why(int e) {
  if (e == EINVAL) return "not a regular file";
  if (e == EFBIG) return "file too large";
  return strerror(e);
}

int cmn_write_file(const char *path, const char *data, size_t len, mode_t mode) {
  char tmp[4096];
  int fd, rc;
  if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= (int)sizeof tmp) return -ENAMETOOLONG;
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) return -errno;
  rc = cmn_write_all(fd, data, len);
  if (rc == 0 && fchmod(fd, mode) < 0) rc = -errno;
  /* fsync before rename: after a crash the file is either old or complete */
  if (rc == 0 && fsync(fd) < 0) rc = -errno;
  if (close(fd) < 0 && rc == 0) rc = -errno;
  if (rc == 0 && rename(tmp, path) < 0) rc = -errno;
  if (rc != 0) unlink(tmp);
  return rc;
}

/* Imported layers may carry chattr +i/+a (tar FFLAGS): clear them so a
 * hostile or unusual layer can still be removed. */
static void clear_fflags(int dfd, const char *name) {
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  int flags;
  if (fd < 0) return;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
    flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
    if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0) { /* unlink reports it */
    }
  }
  close(fd);
}

/* Removes a non-directory entry, clearing +i/+a if that is what stops it. */
static int unlink_entry(int dfd, const char *name) {
  struct stat st;
  if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EPERM) return -errno;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
    clear_fflags(dfd, name);
  return unlinkat(dfd, name, 0) == 0 ? 0 : -errno;
}

/* The path from the top to the directory being emptied: names and
 * identities on the heap, so depth costs memory, never file descriptors. */
typedef struct walk {
  char **names; /* names[i]: the level-i directory's name in level i-1 */
  dev_t *devs;
  ino_t *inos;
  size_t depth, cap;
} walk;

static int walk_push(walk *w, const char *name, const struct stat *st) {
  if (w->depth == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    char **n = realloc(w->names, cap * sizeof *n);
    if (n) w->names = n;
    dev_t *d = n ? realloc(w->devs, cap * sizeof *d) : NULL;
    if (d) w->devs = d;
    ino_t *i = d ? realloc(w->inos, cap * sizeof *i) : NULL;
    if (!i) return -ENOMEM;
    w->inos = i;
    w->cap = cap;
  }
  if (!(w->names[w->depth] = strdup(name))) return -ENOMEM;
  w->devs[w->depth] = st->st_dev;
  w->inos[w->depth] = st->st_ino;
  w->depth++;
  return 0;
}

/* Unlinks every non-directory in dir (an fd it takes over and closes)
 * and returns the name of one subdirectory in `sub` (1), or 0 when the
 * directory is empty. */
static int empty_files(int fd, dev_t dev, char *sub, size_t sublen) {
  DIR *d = fdopendir(fd);
  struct dirent *ent;
  int rc = 0;
  if (!d) {
    rc = -errno;
    close(fd);
    return rc;
  }
  while (rc == 0) {
    errno = 0;
    if (!(ent = readdir(d))) {
      if (errno) rc = -errno;
      break;
    }
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      rc = errno == ENOENT ? 0 : -errno;
    } else if (!S_ISDIR(st.st_mode)) {
      rc = unlink_entry(dirfd(d), ent->d_name);
    } else if (st.st_dev != dev) {
      rc = -EBUSY; /* another filesystem is mounted here */
    } else {
      snprintf(sub, sublen, "%s", ent->d_name);
      rc = 1;
    }
  }
  closedir(d);
  return rc;
}

/* Depth first without recursion: go down into a subdirectory (closing the
 * parent), and when a directory is empty go back up through ".." (checked
 * against the recorded identity, so a directory moved meanwhile stops the
 * walk) and remove it.  At most two descriptors are open at any time. */
static int remove_dir(const char *path, const struct stat *top) {
  walk w = {NULL, NULL, NULL, 0, 0};
  char sub[256];
  int fd, rc = walk_push(&w, path, top);
  fd = rc < 0 ? -1 : open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rc == 0 && fd < 0) rc = -errno;
  while (rc == 0 && w.depth > 0) {
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0), found;
    struct stat st;
    if (dup_fd < 0) {
      rc = -errno;
      break;
    }
    found = empty_files(dup_fd, top->st_dev, sub, sizeof sub);
    if (found < 0) {
      rc = found;
    } else if (found) { /* down */
      int child;
      clear_fflags(fd, sub);
      child = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0 || fstat(child, &st) < 0) rc = -errno;
      else rc = walk_push(&w, sub, &st);
      close(fd);
      fd = child;
    } else if (w.depth == 1) { /* the top: removed by path */
      close(fd);
      fd = -1;
      if (unlinkat(AT_FDCWD, path, AT_REMOVEDIR) < 0 && errno != ENOENT) rc = -errno;
      w.depth = 0;
      free(w.names[0]);
    } else { /* up */
      int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      size_t up = w.depth - 2;
      close(fd);
      fd = parent;
      if (parent < 0 || fstat(parent, &st) < 0) rc = -errno;
      else if (st.st_dev != w.devs[up] || st.st_ino != w.inos[up]) rc = -ESTALE;
      else if (unlinkat(parent, w.names[w.depth - 1], AT_REMOVEDIR) < 0 && errno != ENOENT &&
               errno != ENOTEMPTY) /* ENOTEMPTY: something new appeared; go round again */
        rc = -errno;
      free(w.names[--w.depth]);
    }
  }
  if (fd >= 0) close(fd);
  while (w.depth > 0) free(w.names[--w.depth]);
  free(w.names);
  free(w.devs);
  free(w.inos);
  return rc;
}

int cmn_remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -errno;
  if (!S_ISDIR(st.st_mode)) return unlink_entry(AT_FDCWD, path);
  clear_fflags(AT_FDCWD, path);
  return remove_dir(path, &st);
}

int cmn_is_mountpoint(const char *path) {
  struct statx sx;
  struct stat a, b;
  char parent[4096];
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0) return -errno;
  if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
    return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
  /* kernels before 5.8: a different device than the parent means a mount */
  if (snprintf(parent, sizeof parent, "%s/..", path) >= (int)sizeof parent) return -ENAMETOOLONG;
  if (lstat(path, &a) < 0 || stat(parent, &b) < 0) return -errno;
  return a.st_dev != b.st_dev;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
        r[3] <= '7') {
      *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

int cmn_has_mounts_under(const char *dir) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char *line = NULL;
  size_t cap = 0, n = strlen(dir);
  int found = 0;
  if (!f) return -errno;
  while (!found && getline(&line, &cap, f) > 0) {
    /* fields: id parent major:minor root mountpoint ... */
    char *save = NULL, *tok = strtok_r(line, " ", &save);
    for (int i = 0; tok && i < 4; i++) tok = strtok_r(NULL, " ", &save);
    if (!tok) continue;
    unescape_octal(tok);
    if (strncmp(tok, dir, n) == 0 && (tok[n] == '\0' || tok[n] == '/')) found = 1;
  }
  free(line);
  fclose(f);
  return found;
}

int cmn_same_file(int fd, const char *path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
