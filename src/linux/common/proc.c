/* Reading /proc/<pid>/stat, for the identity of processes (start time),
 * statistics (CPU times, name) and process groups (state, group); and
 * the pending folders whose names carry their maker's identity. */
#include "linux/common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cmn_proc_stat(int pid, cmn_proc_stat_t *st) {
  char path[64], *text, *lp, *rp;
  int n;
  memset(st, 0, sizeof *st);
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (!(text = cmn_read_file(path, NULL))) return -1; /* gone */
  /* "pid (comm) state ...": comm may hold anything, ")" included */
  lp = strchr(text, '(');
  rp = strrchr(text, ')');
  if (lp && rp && rp > lp) snprintf(st->comm, sizeof st->comm, "%.*s", (int)(rp - lp - 1), lp + 1);
  /* after ") ": state(3) ppid pgrp(5) ... utime(14) stime(15) ... starttime(22) */
  n = rp ? sscanf(
               rp + 2,
               "%c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
               &st->state, &st->pgrp, &st->utime, &st->stime, &st->starttime)
         : 0;
  free(text);
  return n == 5 ? 0 : -1;
}

/* Who we are, as a pending folder's name says it. */
static int own_tag(char *buf, size_t len) {
  struct stat ns;
  cmn_proc_stat_t st;
  if (stat("/proc/self/ns/pid", &ns) < 0 || cmn_proc_stat((int)getpid(), &st) < 0) return -1;
  snprintf(buf, len, "%lu.%d.%llu", (unsigned long)ns.st_ino, (int)getpid(), st.starttime);
  return 0;
}

int cmn_pending_dir(const char *parent, const char *label, char *out, size_t len) {
  char tag[96];
  if (own_tag(tag, sizeof tag) < 0) snprintf(tag, sizeof tag, "0.0.0");
  if ((size_t)snprintf(out, len, "%s/.new-%s-%s-XXXXXX", parent, tag, label) >= len)
    return -ENAMETOOLONG;
  return mkdtemp(out) ? 0 : -errno;
}

/* 1 when the tag's process is gone, 0 when it lives, -1 when the tag
 * cannot be checked from here (unreadable, or another pid namespace). */
static int maker_gone(const char *name) {
  unsigned long ino;
  unsigned long long start;
  int pid;
  struct stat ns;
  cmn_proc_stat_t st;
  if (sscanf(name, ".new-%lu.%d.%llu-", &ino, &pid, &start) != 3 || pid <= 0) return -1;
  if (stat("/proc/self/ns/pid", &ns) < 0 || (unsigned long)ns.st_ino != ino) return -1;
  return cmn_proc_stat(pid, &st) < 0 || st.starttime != start;
}

int cmn_pending_stale(const char *parent, const char *name) {
  struct stat st;
  int dfd, gone = maker_gone(name);
  if (gone >= 0) return gone;
  dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  gone = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         time(NULL) - st.st_mtime > CMN_PENDING_GRACE;
  close(dfd);
  return gone;
}
