/* Use records between layers.  A read-only layer under a prepared sandbox
 * is not a mount point of its own (the overlay names it through
 * /proc/self/fd), so DestroyLayer cannot see from mountinfo that deleting it
 * would pull the files from under running containers.  PrepareLayer
 * therefore leaves a marker in each lower layer:
 *
 *   <layer>/users/<hash of the sandbox folder>   holding the sandbox folder
 *   <sandbox>/lowers                              the layer folders, one a line
 *
 * A marker counts only while its sandbox is really mounted, so a crash
 * between mount and record, or between unmount and removal, errs on the
 * side of "busy" only as long as the mount exists. */
#include "linux/layers/layer_users.h"
#include "linux/common/common.h"
#include "linux/layers/layer_holds.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void marker_path(const char *layer_dir, const char *sandbox_dir, char *out, size_t len) {
  /* FNV-1a: a name for the marker, not a security boundary (its content,
   * the sandbox folder, is what is compared) */
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)sandbox_dir; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ULL;
  }
  snprintf(out, len, "%s/users/%016" PRIx64, layer_dir, h);
}

int layer_users_add(const char *sandbox_dir, const char *const *layer_dirs, size_t n) {
  char path[PATH_MAX + 64], *list = NULL;
  size_t len = 0;
  int rc = 0;
  for (size_t i = 0; i < n; i++) len += strlen(layer_dirs[i]) + 1;
  list = malloc(len + 1);
  if (!list) return -ENOMEM;
  list[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/users", layer_dirs[i]);
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
      rc = -errno;
      break;
    }
    marker_path(layer_dirs[i], sandbox_dir, path, sizeof path);
    if ((rc = cmn_write_file(path, sandbox_dir, strlen(sandbox_dir), 0644)) < 0) break;
    strcat(list, layer_dirs[i]);
    strcat(list, "\n");
  }
  snprintf(path, sizeof path, "%s/lowers", sandbox_dir);
  if (rc == 0) rc = cmn_write_file(path, list, strlen(list), 0644);
  free(list);
  if (rc < 0) layer_users_remove(sandbox_dir);
  return rc;
}

void layer_users_remove(const char *sandbox_dir) {
  char path[PATH_MAX + 64], *list = NULL;
  snprintf(path, sizeof path, "%s/lowers", sandbox_dir);
  if (!(list = cmn_read_file(path, NULL))) return;
  for (char *s = list, *line; (line = strsep(&s, "\n"));) {
    if (!*line) continue;
    marker_path(line, sandbox_dir, path, sizeof path);
    unlink(path);
  }
  free(list);
  snprintf(path, sizeof path, "%s/lowers", sandbox_dir);
  unlink(path);
}

/* A marker counts while its sandbox is mounted; an unreadable one is kept. */
static int user_live(const char *path, const char *name, char *who, size_t wholen) {
  char mnt[PATH_MAX + 16], *sandbox = cmn_read_file(path, NULL);
  int live;
  (void)name;
  if (!sandbox) return -1;
  snprintf(mnt, sizeof mnt, "%s/mount", sandbox);
  live = cmn_is_mountpoint(mnt) > 0;
  if (live) snprintf(who, wholen, "%s", sandbox);
  free(sandbox);
  return live;
}

int layer_users_busy(const char *layer_dir, char *who, size_t wholen) {
  return layer_records_live(layer_dir, "users", user_live, who, wholen);
}
