/* Undoing what a compute system left behind; run by the compute helper
 * for the monitor (normal teardown) and by the library (a monitor that
 * died). */
#include "linux/compute/hcs_internal.h"
#include "linux/layers/layers.h"
#include "linux/network/hns.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* 1 while a process of group pg runs: zombies count as gone (they make no
 * cgroup), and a host whose init reaps late keeps them in the group. */
static int group_runs(pid_t pg) {
  DIR *d;
  struct dirent *e;
  int runs = 0;
  if (kill(-pg, 0) < 0) return 0;
  if (!(d = opendir("/proc"))) return 1;
  while (!runs && (e = readdir(d))) {
    cmn_proc_stat_t st;
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    runs = cmn_proc_stat(atoi(e->d_name), &st) == 0 && st.pgrp == pg && st.state != 'Z' &&
           st.state != 'X';
  }
  closedir(d);
  return runs;
}

/* A killed monitor's step dies with it, but not at once: crun making the
 * container's cgroups in the meantime would make them after their removal.
 * So wait (at most HL_CGROUP_KILL_MS) until its process group is gone.
 * Looks only: a group id reused meanwhile costs a wait, no harm. */
static void wait_step_gone(const char *id) {
  char *dir = cmn_sysdir(id), *p = dir ? cmn_path(dir, CMN_SYS_STEP) : NULL;
  char *text = p ? cmn_read_file(p, NULL) : NULL;
  pid_t pg = text ? (pid_t)atoi(text) : 0;
  int64_t deadline = cmn_now_ms() + HL_CGROUP_KILL_MS;
  while (pg > 1 && group_runs(pg) && cmn_now_ms() < deadline) usleep(5 * 1000);
  free(text);
  free(p);
  free(dir);
}

void hl_runtime_remove(const char *id, const char *cgpath) {
  const char *args[] = {"delete", "--force", id, NULL};
  char *msg = NULL;
  wait_step_gone(id);
  cmn_crun_run(args, cmn_now_ms() + CMN_CMD_MAX_MS, &msg);
  free(msg);
  if (cgpath) hl_cgroup_remove(id, cgpath);
}

void hl_teardown_system(const char *id, json_t *meta) {
  json_t *layer = cmn_get(meta, "Layer");
  char *netns;
  netns = hns_netns_path(id);
  hns_container_unplumb(id, netns);
  free(netns);
  hl_runtime_remove(id, cmn_str(meta, "CgroupsPath"));
  {
    char *dir = cmn_sysdir(id);
    if (dir) hl_files_unmount(dir);
    free(dir);
  }
  if (layer) {
    plat_driver_info di = {1, cmn_str(layer, "HomeDir")};
    const char *lid = cmn_str(layer, "Id");
    if (di.HomeDir && lid) lay_unmount_for(&di, lid, id);
  }
  hl_release_layers(id, cmn_get(meta, "Holds"));
}

void hl_files_unmount(const char *sysdir) {
  char *p = cmn_path(sysdir, CMN_SYS_FILES);
  /* lazily: a process of the host may still be rewriting resolv.conf */
  if (p && cmn_is_mountpoint(p) > 0) umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW);
  free(p);
}

void hl_release_layers(const char *id, json_t *paths) {
  for (size_t i = 0; i < json_array_size(paths); i++)
    lay_release(json_string_value(json_array_get(paths, i)), id);
}

/* /etc/resolv.conf of a running system after a hot attach or detach: the
 * DNS settings of its endpoints, else the image's own (resolv.image).
 * Rewritten in place: it is bind-mounted into the container. */
int hl_update_resolv(const char *id) {
  char *text = hns_resolv_conf(id, NULL), *dir = cmn_sysdir(id);
  char *p = dir ? cmn_path(dir, CMN_SYS_FILES "/resolv.conf") : NULL;
  int fd, rc = -1;
  if (!text) {
    char *ip = dir ? cmn_path(dir, "resolv.image") : NULL;
    text = ip ? cmn_read_file(ip, NULL) : NULL;
    free(ip);
  }
  fd = p ? open(p, O_WRONLY | O_TRUNC | O_CLOEXEC) : -1;
  if (fd >= 0) {
    rc = cmn_write_all(fd, text ? text : "", text ? strlen(text) : 0);
    close(fd);
  }
  free(text);
  free(dir);
  free(p);
  return rc;
}
