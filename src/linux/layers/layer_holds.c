/* Holds: which compute systems use a layer.  A compute system holds every
 * layer its configuration names (its sandbox, the sandbox's parents, the
 * layer behind VolumePath), so that no layer call pulls the files from
 * under it: on Linux the container's mount namespace keeps its own copy of
 * the overlay, so the host's umount2 and rename succeed while the container
 * runs, and only a record can say the layer is in use.
 *
 *   <layer>/holders/<system id>   holding the holder's "alive" path
 *
 * The alive path (the system's folder in the runtime root) exists exactly
 * as long as the system does, so a hold left by a crash or a reboot is
 * recognised as stale and dropped by whoever finds it.  Callers hold the
 * layer's lock (lyr_open). */
#include "linux/layers/layer_holds.h"
#include "linux/common/common.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void hold_path(const char *layer_dir, const char *system, char *out, size_t len) {
  snprintf(out, len, "%s/holders/%s", layer_dir, system);
}

int layer_holds_add(const char *layer_dir, const char *system, const char *alive) {
  char path[PATH_MAX + 300], tmp[PATH_MAX + 300];
  int rc;
  snprintf(path, sizeof path, "%s/holders", layer_dir);
  if (mkdir(path, 0700) < 0 && errno != EEXIST) return -errno;
  /* written as ".<id>" and renamed: whatever a crash leaves starts with
   * '.', which no system id does, so a half-written hold never counts */
  snprintf(tmp, sizeof tmp, "%s/holders/.%s", layer_dir, system);
  hold_path(layer_dir, system, path, sizeof path);
  if ((rc = cmn_write_file(tmp, alive, strlen(alive), 0600)) < 0) return rc;
  if (rename(tmp, path) == 0) return 0;
  rc = -errno;
  unlink(tmp);
  return rc;
}

void layer_holds_remove(const char *layer_dir, const char *system) {
  char path[PATH_MAX + 300];
  hold_path(layer_dir, system, path, sizeof path);
  unlink(path);
}

int layer_records_live(const char *layer_dir, const char *sub, layer_record_live live, char *who,
                       size_t wholen) {
  char dir[PATH_MAX + 16], path[PATH_MAX + 300];
  DIR *d;
  struct dirent *e;
  int found = 0;
  snprintf(dir, sizeof dir, "%s/%s", layer_dir, sub);
  d = opendir(dir);
  if (!d) return 0;
  while (!found && (e = readdir(d))) {
    int r;
    if (e->d_name[0] == '.') continue; /* no record name starts with '.' */
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if ((r = live(path, e->d_name, who, wholen)) == 0) unlink(path);
    found = r == 1;
  }
  closedir(d);
  return found;
}

/* A hold counts while its alive path exists; an unreadable one counts too
 * (a layer is never given up on a guess). */
static int hold_live(const char *path, const char *system, char *who, size_t wholen) {
  char *alive = cmn_read_file(path, NULL);
  int live = !alive || !*alive || access(alive, F_OK) == 0 || errno != ENOENT;
  free(alive);
  if (live) snprintf(who, wholen, "%s", system);
  return live;
}

int layer_holds_live(const char *layer_dir, char *who, size_t wholen) {
  return layer_records_live(layer_dir, "holders", hold_live, who, wholen);
}
