/* Pending folders: names that carry their maker's identity, so that a
 * sweeper tells a folder whose maker died from one a live maker has not
 * locked yet without waiting out an age (common.h). */
#include "linux/common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG_MAX 96

/* The namespaces a pid and a start time are read in: "<pid ns>.<time ns>"
 * (0 for a kernel without time namespaces), or -1 when /proc is not of our
 * pid namespace (then no pid read there is ours). */
static int view(char *buf, size_t len) {
  struct stat pns, tns;
  char self[32];
  ssize_t n = readlink("/proc/self", self, sizeof self - 1);
  if (n <= 0 || stat("/proc/self/ns/pid", &pns) < 0) return -1;
  self[n] = 0;
  if (strtol(self, NULL, 10) != (long)getpid()) return -1;
  if (stat("/proc/self/ns/time", &tns) < 0) tns.st_ino = 0;
  snprintf(buf, len, "%lu.%lu", (unsigned long)pns.st_ino, (unsigned long)tns.st_ino);
  return 0;
}

/* Who we are, as a pending name says it; "0.0.0.0" when we cannot tell. */
static void own_tag(char *buf, size_t len) {
  char v[64];
  cmn_proc_stat_t st;
  if (view(v, sizeof v) < 0 || cmn_proc_stat((int)getpid(), &st) < 0) snprintf(buf, len, "0.0.0.0");
  else snprintf(buf, len, "%s.%d.%llu", v, (int)getpid(), st.starttime);
}

static void fill_random(char *x, size_t n) {
  static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char r[16];
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
    for (size_t i = 0; i < sizeof r; i++) r[i] = (unsigned char)(rand() ^ (int)getpid());
  for (size_t i = 0; i < n; i++) x[i] = abc[r[i % sizeof r] % (sizeof abc - 1)];
}

int cmn_pending_dir(const char *parent, const char *label, char *out, size_t len) {
  char tag[TAG_MAX];
  own_tag(tag, sizeof tag);
  if ((size_t)snprintf(out, len, "%s/.new-%s-%s-XXXXXX", parent, tag, label) >= len)
    return -ENAMETOOLONG;
  return mkdtemp(out) ? 0 : -errno;
}

int cmn_rename_fresh(const char *from, const char *dir, const char *prefix, char *out, size_t len) {
  size_t n = (size_t)snprintf(out, len, "%s/%sXXXXXX", dir, prefix);
  if (n >= len) return -ENAMETOOLONG;
  for (int tries = 0; tries < 100; tries++) {
    fill_random(out + n - 6, 6);
    if (renameat2(AT_FDCWD, from, AT_FDCWD, out, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EEXIST) return -errno;
  }
  return -EEXIST;
}

int cmn_pending_remove(const char *path) {
  char *a = strdup(path), *b = strdup(path), prefix[TAG_MAX + NAME_MAX + 8], aside[PATH_MAX],
       tag[TAG_MAX];
  int rc = -ENOMEM;
  if (a && b) {
    own_tag(tag, sizeof tag);
    snprintf(prefix, sizeof prefix, ".new-%s-%s-", tag, basename(b));
    rc = cmn_rename_fresh(path, dirname(a), prefix, aside, sizeof aside);
    /* a name too long to go aside is removed where it is */
    rc = rc == 0 ? cmn_remove_tree(aside) : rc == -ENOENT ? rc : cmn_remove_tree(path);
  }
  free(a);
  free(b);
  return rc;
}

/* A number of a tag, up to `end` (the next separator): 0, or -1. */
static int tag_num(const char **p, char end, unsigned long long *v) {
  char *e;
  if (**p < '0' || **p > '9') return -1;
  errno = 0;
  *v = strtoull(*p, &e, 10);
  if (errno || *e != end) return -1;
  *p = e + 1;
  return 0;
}

/* 1 when the maker a pending name tags is gone (or a zombie, which holds
 * no lock), 0 when it lives, -1 when that cannot be told from here. */
static int maker_gone(const char *name) {
  unsigned long long pns, tns, pid, start;
  const char *p = name + 5;
  char v[64], want[64], path[64];
  cmn_proc_stat_t st;
  struct stat gone;
  if (strncmp(name, ".new-", 5) || tag_num(&p, '.', &pns) || tag_num(&p, '.', &tns) ||
      tag_num(&p, '.', &pid) || tag_num(&p, '-', &start) || pid == 0 || pid > INT_MAX)
    return -1;
  snprintf(want, sizeof want, "%llu.%llu", pns, tns);
  if (view(v, sizeof v) < 0 || strcmp(v, want)) return -1;
  if (cmn_proc_stat((int)pid, &st) == 0)
    return st.starttime != start || st.state == 'Z' || st.state == 'X';
  snprintf(path, sizeof path, "/proc/%llu", pid);
  return lstat(path, &gone) < 0 && errno == ENOENT ? 1 : -1;
}

int cmn_pending_stale(const char *parent, const char *name) {
  struct stat st;
  int dfd, gone = maker_gone(name);
  long age;
  if (gone == 1) return 1;
  dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  age = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (long)(time(NULL) - st.st_mtime) : -1;
  close(dfd);
  return age > (gone < 0 ? CMN_PENDING_GRACE : CMN_PENDING_OLD);
}
