/* Compute systems using layers: holds (layer_holds.c) taken and dropped
 * under each layer's lock, and the sandbox mount of LayerFolderPath. */
#include "linux/layers/layers.h"
#include "linux/common/common.h"
#include "linux/layers/layer_holds.h"
#include "linux/layers/layer_store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int has_meta(const char *dir) {
  char p[PATH_MAX + 16];
  struct stat st;
  snprintf(p, sizeof p, "%s/layer.json", dir);
  return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The layer folder behind path (itself, or the parent of its mount/ or
 * rootfs/), split into HomeDir and id; 0 if path is no layer. */
static int layer_of(const char *path, char *home, char *id) {
  char real[PATH_MAX], *slash;
  if (!path || !realpath(path, real)) return 0;
  if (!has_meta(real)) {
    slash = strrchr(real, '/');
    if (!slash || (strcmp(slash, "/mount") != 0 && strcmp(slash, "/rootfs") != 0)) return 0;
    *slash = '\0';
    if (!has_meta(real)) return 0;
  }
  slash = strrchr(real, '/');
  if (!slash || slash == real || strlen(slash + 1) >= LYR_ID_MAX) return 0;
  *slash = '\0';
  snprintf(home, LYR_PATH_MAX, "%s", real);
  snprintf(id, LYR_ID_MAX, "%s", slash + 1);
  return 1;
}

plat_hresult lyr_open_path(lyr *l, const char *path, const char *op, char *home, char *id,
                           int want_meta) {
  plat_driver_info di = {1, home};
  plat_hresult hr;
  if (!layer_of(path, home, id)) return PLAT_E_NOT_FOUND;
  if ((hr = lyr_init(l, &di, id, op)) < 0) return hr;
  return lyr_open(l, want_meta);
}

plat_hresult lay_hold(const char *path, const char *system, const char *alive) {
  lyr l;
  char home[LYR_PATH_MAX], id[LYR_ID_MAX];
  plat_hresult hr;
  int rc;
  lyr_clear_error();
  hr = lyr_open_path(&l, path, "hold", home, id, 0);
  if (hr == PLAT_E_NOT_FOUND) return PLAT_S_OK; /* not a layer of a store */
  if (hr < 0) return hr;
  rc = layer_holds_add(l.dir, system, alive);
  if (rc < 0)
    hr = lyr_fail(PLAT_E_FAIL, "layer %s: recording its use by compute system %s: %s", l.dir,
                  system, strerror(-rc));
  lyr_close(&l);
  return hr;
}

void lay_release(const char *path, const char *system) {
  lyr l;
  char home[LYR_PATH_MAX], id[LYR_ID_MAX];
  if (lyr_open_path(&l, path, "release", home, id, 0) < 0) return;
  layer_holds_remove(l.dir, system);
  lyr_close(&l);
}

plat_hresult lay_mount_for(const plat_driver_info *info, const char *id,
                           const plat_layer_descriptor *layers, size_t count, const char *system,
                           const char *alive) {
  lyr l;
  char mnt[LYR_PATH_MAX];
  struct stat st;
  int was_active, rc;
  plat_hresult hr;
  lyr_clear_error();
  if ((hr = lyr_init(&l, info, id, "prepare")) < 0 || (hr = lyr_open(&l, 1)) < 0) return hr;
  if (!l.meta.sandbox) {
    hr = lyr_fail(PLAT_E_INVALIDARG, "prepare layer %s: not a sandbox layer", id);
    goto out;
  }
  lyr_sub(&l, "mount", mnt);
  was_active = lstat(mnt, &st) == 0;
  if ((hr = lyr_prepare(&l, layers, count)) < 0) {
    /* undo the activation only if this call made it */
    if (!was_active) rmdir(mnt);
    goto out;
  }
  if ((rc = layer_holds_add(l.dir, system, alive)) < 0) {
    hr = lyr_fail(PLAT_E_FAIL, "prepare layer %s: recording its use by compute system %s: %s", id,
                  system, strerror(-rc));
    if (was_active) lyr_unmount(&l);
    else lyr_deactivate(&l);
  }
out:
  lyr_close(&l);
  return hr;
}

plat_hresult lay_unmount_for(const plat_driver_info *info, const char *id, const char *system) {
  lyr l;
  char who[256];
  plat_hresult hr;
  lyr_clear_error();
  if ((hr = lyr_init(&l, info, id, "unprepare")) < 0 || (hr = lyr_open(&l, 1)) < 0) return hr;
  layer_holds_remove(l.dir, system);
  /* another system may use this mount (its VolumePath): it stays */
  if (l.meta.sandbox && !layer_holds_live(l.dir, who, sizeof who)) hr = lyr_deactivate(&l);
  lyr_close(&l);
  return hr;
}
