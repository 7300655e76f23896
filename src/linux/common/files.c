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

static int remove_at(int dfd, const char *name, dev_t dev) {
  struct stat st;
  int fd, rc = 0;
  DIR *d;
  struct dirent *ent;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : -errno;
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) return 0;
    if (errno != EPERM) return -errno;
    if (S_ISREG(st.st_mode)) clear_fflags(dfd, name);
    return unlinkat(dfd, name, 0) == 0 ? 0 : -errno;
  }
  if (st.st_dev != dev) return -EBUSY; /* another filesystem is mounted here */
  clear_fflags(dfd, name);
  fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -errno;
  d = fdopendir(fd);
  if (!d) {
    rc = -errno;
    close(fd);
    return rc;
  }
  while (rc == 0) {
    errno = 0;
    ent = readdir(d);
    if (!ent) {
      if (errno) rc = -errno;
      break;
    }
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
    rc = remove_at(dirfd(d), ent->d_name, dev);
  }
  closedir(d);
  if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) rc = -errno;
  return rc;
}

int cmn_remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -errno;
  return remove_at(AT_FDCWD, path, st.st_dev);
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
