/* Opening a path inside a container's root filesystem. */
#include "linux/common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Walks path below root by hand, as RESOLVE_IN_ROOT does: absolute
 * symlinks and ".." never leave root.  For kernels (and valgrind) without
 * openat2. */
static int open_in_root_slow(int root, const char *path, int flags) {
  char buf[PATH_MAX * 2], link[PATH_MAX];
  int cur = fcntl(root, F_DUPFD_CLOEXEC, 0), hops = 0;
  char *p = buf, *comp;
  snprintf(buf, sizeof buf, "%s", path);
  while (cur >= 0 && (comp = strsep(&p, "/"))) {
    int next;
    ssize_t n;
    if (!*comp || strcmp(comp, ".") == 0) continue;
    if (strcmp(comp, "..") == 0) {
      struct stat a, b;
      /* at the root ".." stays there */
      if (fstat(cur, &a) == 0 && fstat(root, &b) == 0 && a.st_dev == b.st_dev &&
          a.st_ino == b.st_ino)
        continue;
    }
    next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      close(cur);
      return -1;
    }
    n = readlinkat(next, "", link, sizeof link - 1);
    if (n >= 0) {
      char rest[PATH_MAX * 2];
      close(next);
      if (++hops > 40) {
        close(cur);
        errno = ELOOP;
        return -1;
      }
      link[n] = 0;
      snprintf(rest, sizeof rest, "%s%s%s", link, p ? "/" : "", p ? p : "");
      snprintf(buf, sizeof buf, "%s", rest);
      p = buf;
      if (link[0] == '/') {
        close(cur);
        cur = fcntl(root, F_DUPFD_CLOEXEC, 0);
      }
      continue;
    }
    close(cur);
    cur = next;
  }
  if (cur >= 0 && !(flags & O_PATH)) {
    char self[64];
    int fd;
    snprintf(self, sizeof self, "/proc/self/fd/%d", cur);
    fd = open(self, flags | O_CLOEXEC);
    close(cur);
    cur = fd;
  }
  return cur;
}

int cmn_open_in_root(int root, const char *path, int flags) {
  struct open_how how;
  int fd;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  if (fd < 0 && errno == ENOSYS) fd = open_in_root_slow(root, path, flags);
  return fd;
}
