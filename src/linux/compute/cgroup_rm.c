/* Removing a compute system's cgroup on either layout.  A cgroup can be
 * removed only once no process is left in it, and a monitor killed in the
 * middle of crun create leaves the container's init there, waiting on its
 * exec fifo, which `crun delete --force` does not always reach (no state
 * yet).  So teardown empties the tree itself: thaw, kill, wait, rmdir. */
#include "linux/compute/hcs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Sub-cgroups a container may make (systemd inside it does) are followed
 * this deep; deeper ones keep the tree from being removed. */
#define MAX_DEPTH 8

typedef int (*cg_fn)(const char *dir);

static int put(const char *dir, const char *file, const char *text) {
  char p[PATH_MAX];
  int fd, rc;
  snprintf(p, sizeof p, "%s/%s", dir, file);
  fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  rc = cmn_write_all(fd, text, strlen(text));
  close(fd);
  return rc;
}

/* A frozen task keeps a SIGKILL pending and a frozen cgroup cannot go. */
static int thaw(const char *dir) {
  put(dir, cmn_cgroup_v2() ? "cgroup.freeze" : "freezer.state", cmn_cgroup_v2() ? "0" : "THAWED");
  return 0;
}

/* SIGKILL to every process still listed; returns how many were. */
static int kill_all(const char *dir) {
  char p[PATH_MAX], *procs;
  int n;
  snprintf(p, sizeof p, "%s/cgroup.procs", dir);
  procs = cmn_read_file(p, NULL);
  n = procs ? cmn_signal_listed(procs, SIGKILL, 0, 0) : 0;
  free(procs);
  return n;
}

/* 1 when it stays (busy); gone already counts as removed */
static int remove_dir(const char *dir) { return rmdir(dir) == 0 || errno == ENOENT ? 0 : 1; }

/* fn on every cgroup of the tree at dir, children before their parent;
 * returns the sum of its results. */
static int walk(const char *dir, cg_fn fn, int depth) {
  DIR *d = depth < MAX_DEPTH ? opendir(dir) : NULL;
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d))) {
    char sub[PATH_MAX];
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) < (int)sizeof sub)
      n += walk(sub, fn, depth + 1);
  }
  if (d) closedir(d);
  return n + fn(dir);
}

/* Each hierarchy's copy of cgpath: one on v2, one per controller on v1
 * (and hybrid's named and unified trees). */
static int each_copy(const char *cgpath, cg_fn fn) {
  const char *rel = cgpath[0] == '/' ? cgpath + 1 : cgpath;
  char p[PATH_MAX];
  DIR *d;
  struct dirent *e;
  int n = 0;
  if (cmn_cgroup_v2()) {
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s", rel);
    return walk(p, fn, 0);
  }
  if (!(d = opendir("/sys/fs/cgroup"))) return 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s/%s", e->d_name, rel);
    n += walk(p, fn, 0);
  }
  closedir(d);
  return n;
}

/* crun removes only the leaf: the parents (HCSSHIM_CGROUP_PARENT) that
 * this system left empty go too; those others still use stay (EBUSY). */
static int remove_parents(const char *dir) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s", dir);
  for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
    *slash = '\0';
    if (rmdir(p) < 0) break;
  }
  return 0;
}

/* the hierarchy's root stops the climb: its rmdir fails (EBUSY/EPERM) */
static int remove_tree(const char *dir) {
  return walk(dir, remove_dir, 0) ? 0 : remove_parents(dir);
}

/* v2 (kernel 5.14+): the whole tree at once, forks racing it included */
static int kill_tree(const char *dir) { return put(dir, "cgroup.kill", "1") < 0; }

/* A name systemd gives its units' cgroups: with HCSSHIM_CGROUP_PARENT at
 * /system.slice, a system named ssh.service would be sshd's cgroup. */
static int unit_like(const char *id) {
  static const char *const kinds[] = {".service", ".scope", ".slice", ".socket", ".mount"};
  size_t n = strlen(id);
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    size_t k = strlen(kinds[i]);
    if (n > k && strcmp(id + n - k, kinds[i]) == 0) return 1;
  }
  return 0;
}

void hl_cgroup_remove(const char *id, const char *cgpath) {
  const char *last = strrchr(cgpath, '/');
  int64_t deadline = cmn_now_ms() + HL_CGROUP_KILL_MS;
  /* the path comes from the system's meta.json: never act on a cgroup
   * that is not this system's own (a root or parent would be the host's) */
  if (strcmp(last ? last + 1 : cgpath, id) != 0 || strstr(cgpath, "..") || unit_like(id)) return;
  each_copy(cgpath, thaw); /* all first: v1's freezer is one tree of many */
  if (cmn_cgroup_v2()) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s", cgpath[0] == '/' ? cgpath + 1 : cgpath);
    kill_tree(p);
  }
  while (each_copy(cgpath, kill_all) > 0 && cmn_now_ms() < deadline) usleep(10 * 1000);
  each_copy(cgpath, remove_tree);
}
