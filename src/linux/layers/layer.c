/* Layer functions of the Linux host compute service (vmcompute's
 * ActivateLayer ... UnprepareLayer), on plain folders and overlayfs.
 *
 * On-disk format.  A layer is the folder DriverInfo.HomeDir/<id>:
 *
 *   layer.json       {"Type": "ReadOnly"|"Sandbox", "Parent": "<parent id or "">",
 *                     "Parents": ["<parent layer path>", ...]}   nearest parent first;
 *                     replaced atomically (temp file + fsync + rename)
 *   rootfs/          read-only layer: its filesystem diff, with overlay whiteouts
 *                    (char device 0:0) and opaque dirs (trusted.overlay.opaque=y)
 *   upper/ work/     sandbox layer: overlay upperdir and workdir
 *   layerchain.json  sandbox layer: the parent paths as a JSON array (as docker)
 *   mount/           sandbox layer, present while ACTIVE: the overlay mount
 *                    point while PREPARED; GetLayerMountPath returns it
 *   empty/           sandbox layer without parents: an empty lowerdir
 *
 * HomeDir is created 0700 on demand.  New layers are assembled in
 * HomeDir/.new-<maker>-<id>-XXXXXX, locked, renamed to
 * HomeDir/.staging-<maker>-<id>-XXXXXX, filled and renamed into place (RENAME_NOREPLACE), so a
 * layer exists completely or not at all; DestroyLayer renames the folder to
 * HomeDir/.trash-<id>-XXXXXX before deleting it.  Operations on one layer are
 * serialised with flock() on its folder.
 *
 * State model (decisions where vmcompute's is unpublished):
 *   Activate    read-only: checks the layer exists.  Sandbox: creates mount/.
 *               Idempotent (no refcount: the folder state is the truth, so a
 *               crashed caller leaves nothing to balance).
 *   Prepare     sandbox: mounts the overlay on mount/ (activating implicitly);
 *               already prepared -> PLAT_E_BUSY.  Read-only layer: no-op (its
 *               rootfs/ is already readable).
 *   Unprepare   unmounts (plain umount2, never lazily); not prepared -> S_OK;
 *               mount still in use -> PLAT_E_BUSY.
 *   Deactivate  unprepares first if needed, then removes mount/; a layer that is
 *               not active -> S_OK, as on Windows.
 *   Destroy     any mount inside the layer -> PLAT_E_BUSY.
 *   A missing layer -> PLAT_E_NOT_FOUND (0x80070490, ERROR_NOT_FOUND, which
 *   hcsshim's IsNotExist matches); a missing parent path -> PLAT_E_PATH_NOT_FOUND.
 * lay_last_error() explains every failure. */
#include "linux/layers/layers.h"
#include "linux/common/common.h"
#include "linux/layers/layer_store.h"
#include "linux/layers/layer_holds.h"
#include "linux/layers/layer_users.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static plat_hresult errno_hr(int e) {
  switch (e) {
  case ENOENT: return PLAT_E_PATH_NOT_FOUND;
  case EACCES:
  case EPERM: return PLAT_E_ACCESSDENIED;
  case ENOSPC:
  case EDQUOT: return PLAT_E_DISK_FULL;
  case ENOMEM: return PLAT_E_OUTOFMEMORY;
  case EBUSY: return PLAT_E_BUSY;
  default: return PLAT_E_FAIL;
  }
}

static plat_hresult mkdir_in(const lyr *l, const char *dir, const char *leaf, mode_t mode) {
  char path[LYR_PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, leaf);
  if (mkdir(path, mode) < 0 && errno != EEXIST)
    return lyr_fail(errno_hr(errno), "%s layer %s: mkdir %s: %s", l->op, l->id, path,
                    strerror(errno));
  return PLAT_S_OK;
}

static plat_hresult create_common(const plat_driver_info *info, const char *id, const char *parent,
                                  const plat_layer_descriptor *layers, size_t count, int sandbox) {
  lyr l;
  char staging[LYR_PATH_MAX];
  struct stat st;
  plat_hresult hr;
  lyr_clear_error();
  hr = lyr_init(&l, info, id, sandbox ? "create sandbox" : "create");
  if (hr < 0) return hr;
  if (parent && parent[0]) {
    /* the parent is recorded, not required to exist: vmcompute takes it as a
     * name only, and the descriptors carry the real chain */
    lyr p;
    if (lyr_init(&p, info, parent, l.op) < 0)
      return lyr_fail(PLAT_E_INVALIDARG, "%s layer %s: invalid parent id \"%.200s\"", l.op, id,
                      parent);
  }
  if ((hr = lyr_check_parents(&l, layers, count)) < 0) return hr;
  if ((hr = lyr_ensure_home(&l)) < 0) return hr;
  if (lstat(l.dir, &st) == 0)
    return lyr_fail(PLAT_E_ALREADY_EXISTS, "%s layer %s: the layer already exists in %s", l.op, id,
                    l.home);
  if ((hr = lyr_staging_new(&l, staging)) < 0) return hr;
  if (sandbox) {
    if ((hr = mkdir_in(&l, staging, "upper", 0755)) >= 0) hr = mkdir_in(&l, staging, "work", 0700);
  } else {
    hr = mkdir_in(&l, staging, "rootfs", 0755);
  }
  if (hr >= 0) hr = lyr_meta_write(&l, staging, sandbox, parent, layers, count);
  if (hr >= 0) hr = lyr_staging_publish(&l, staging);
  if (hr < 0) lyr_staging_remove(&l, staging);
  return hr;
}

plat_hresult lay_create(const plat_driver_info *info, const char *id, const char *parent) {
  return create_common(info, id, parent, NULL, 0, 0);
}

plat_hresult lay_create_sandbox(const plat_driver_info *info, const char *id, const char *parent,
                                const plat_layer_descriptor *layers, size_t count) {
  return create_common(info, id, parent, layers, count, 1);
}

/* Opens, locks and reads the layer; the caller must lyr_close(). */
static plat_hresult open_layer(lyr *l, const plat_driver_info *info, const char *id,
                               const char *op) {
  plat_hresult hr;
  lyr_clear_error();
  hr = lyr_init(l, info, id, op);
  if (hr >= 0) hr = lyr_open(l, 1);
  return hr;
}

plat_hresult lay_exists(const plat_driver_info *info, const char *id, int *exists) {
  lyr l;
  struct stat st;
  plat_hresult hr;
  lyr_clear_error();
  if (!exists) return lyr_fail(PLAT_E_INVALIDARG, "layer exists: NULL out-parameter");
  *exists = 0;
  if ((hr = lyr_init(&l, info, id, "check")) < 0) return hr;
  if (lstat(l.dir, &st) == 0) {
    char meta[LYR_PATH_MAX];
    /* a layer is a folder with its layer.json; any other folder is not */
    lyr_sub(&l, "layer.json", meta);
    *exists = S_ISDIR(st.st_mode) && lstat(meta, &st) == 0 && S_ISREG(st.st_mode);
    return PLAT_S_OK;
  }
  if (errno == ENOENT || errno == ENOTDIR) return PLAT_S_OK;
  return lyr_fail(errno_hr(errno), "check layer %s: %s: %s", id, l.dir, strerror(errno));
}

plat_hresult lay_expand_sandbox(const plat_driver_info *info, const char *id, uint64_t size) {
  /* A no-op: an overlay upper dir is a plain directory bounded only by its
   * filesystem; there is no volume to grow unless project quotas were set up,
   * which this store does not do.  It still checks the layer is a sandbox. */
  lyr l;
  plat_hresult hr = open_layer(&l, info, id, "expand sandbox");
  (void)size;
  if (hr < 0) return hr;
  if (!l.meta.sandbox)
    hr = lyr_fail(PLAT_E_INVALIDARG, "expand sandbox layer %s: not a sandbox layer", id);
  lyr_close(&l);
  return hr;
}

plat_hresult lay_activate(const plat_driver_info *info, const char *id) {
  lyr l;
  plat_hresult hr = open_layer(&l, info, id, "activate");
  if (hr < 0) return hr;
  if (l.meta.sandbox) hr = mkdir_in(&l, l.dir, "mount", 0755);
  lyr_close(&l);
  return hr;
}

plat_hresult lyr_check_unheld(const lyr *l) {
  char who[256];
  if (!layer_holds_live(l->dir, who, sizeof who)) return PLAT_S_OK;
  return lyr_fail(PLAT_E_BUSY, "%s layer %s: in use by compute system %s; stop it first", l->op,
                  l->id, who);
}

plat_hresult lyr_unmount(lyr *l) {
  char mnt[LYR_PATH_MAX];
  int m;
  lyr_sub(l, "mount", mnt);
  m = cmn_is_mountpoint(mnt);
  if (m == -ENOENT || m == 0) return PLAT_S_OK;
  if (m < 0) return lyr_fail(errno_hr(-m), "%s layer %s: %s: %s", l->op, l->id, mnt, strerror(-m));
  if (umount2(mnt, UMOUNT_NOFOLLOW) == 0) {
    layer_users_remove(l->dir);
    return PLAT_S_OK;
  }
  if (errno == EBUSY)
    return lyr_fail(PLAT_E_BUSY,
                    "%s layer %s: %s is busy (a container or process still uses the overlay); "
                    "stop it first",
                    l->op, l->id, mnt);
  return lyr_fail(errno_hr(errno), "%s layer %s: umount %s: %s", l->op, l->id, mnt,
                  strerror(errno));
}

plat_hresult lay_unprepare(const plat_driver_info *info, const char *id) {
  lyr l;
  plat_hresult hr = open_layer(&l, info, id, "unprepare");
  if (hr < 0) return hr;
  if (l.meta.sandbox && (hr = lyr_check_unheld(&l)) >= 0) hr = lyr_unmount(&l);
  lyr_close(&l);
  return hr;
}

plat_hresult lay_deactivate(const plat_driver_info *info, const char *id) {
  lyr l;
  plat_hresult hr = open_layer(&l, info, id, "deactivate");
  if (hr < 0) return hr;
  if (l.meta.sandbox && (hr = lyr_check_unheld(&l)) >= 0) hr = lyr_deactivate(&l);
  lyr_close(&l);
  return hr;
}

plat_hresult lyr_deactivate(lyr *l) {
  char mnt[LYR_PATH_MAX];
  plat_hresult hr = lyr_unmount(l);
  if (hr < 0) return hr;
  lyr_sub(l, "mount", mnt);
  if (rmdir(mnt) < 0 && errno != ENOENT)
    hr = lyr_fail(errno_hr(errno), "%s layer %s: rmdir %s: %s", l->op, l->id, mnt, strerror(errno));
  return hr;
}

/* overlay options; "/proc/self/fd/N" lowerdirs keep 60+ layers under the
 * one-page limit of mount(2) data, and need no chdir (thread-safe) */
static plat_hresult mount_overlay(lyr *l, const char *const *lowers, size_t n) {
  char upper[LYR_PATH_MAX], work[LYR_PATH_MAX], mnt[LYR_PATH_MAX];
  int *fds = calloc(n + 2, sizeof *fds);
  size_t optcap = 64 + (n + 2) * 32, len = 0;
  char *opts = malloc(optcap);
  plat_hresult hr = PLAT_S_OK;
  size_t opened = 0;
  if (!fds || !opts) {
    free(fds);
    free(opts);
    return lyr_fail(PLAT_E_OUTOFMEMORY, "prepare layer %s: out of memory", l->id);
  }
  lyr_sub(l, "upper", upper);
  lyr_sub(l, "work", work);
  lyr_sub(l, "mount", mnt);
  for (size_t i = 0; i < n + 2 && hr >= 0; i++) {
    const char *p = i < n ? lowers[i] : i == n ? upper : work;
    fds[i] = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fds[i] < 0)
      hr = lyr_fail(errno == ENOENT ? PLAT_E_PATH_NOT_FOUND : errno_hr(errno),
                    "prepare layer %s: %s: %s", l->id, p, strerror(errno));
    else opened++;
  }
  for (size_t i = 0; i < n + 2 && hr >= 0; i++) {
    const char *key = i == 0 ? "lowerdir=" : i < n ? ":" : i == n ? ",upperdir=" : ",workdir=";
    len += (size_t)snprintf(opts + len, optcap - len, "%s/proc/self/fd/%d", key, fds[i]);
  }
  if (hr >= 0 && len >= 4096)
    hr = lyr_fail(PLAT_E_NOT_SUPPORTED,
                  "prepare layer %s: %zu parent layers exceed the mount option limit", l->id, n);
  if (hr >= 0 && mount("overlay", mnt, "overlay", 0, opts) < 0)
    hr = lyr_fail(errno_hr(errno), "prepare layer %s: mount overlay on %s (%zu parent layers): %s",
                  l->id, mnt, n, strerror(errno));
  for (size_t i = 0; i < opened; i++) close(fds[i]);
  free(fds);
  free(opts);
  return hr;
}

/* "already prepared", naming the compute system that uses the mount */
static plat_hresult already_prepared(const lyr *l, const char *mnt) {
  char who[256];
  if (layer_holds_live(l->dir, who, sizeof who))
    return lyr_fail(PLAT_E_BUSY,
                    "%s layer %s: already prepared (mounted on %s) and in use by compute "
                    "system %s",
                    l->op, l->id, mnt, who);
  return lyr_fail(PLAT_E_BUSY, "%s layer %s: already prepared (mounted on %s); unprepare it first",
                  l->op, l->id, mnt);
}

plat_hresult lyr_prepare(lyr *l, const plat_layer_descriptor *layers, size_t count) {
  char mnt[LYR_PATH_MAX], empty[LYR_PATH_MAX];
  const char **lowers = NULL;
  char(*buf)[LYR_PATH_MAX] = NULL;
  size_t n;
  int m;
  plat_hresult hr;
  if ((hr = lyr_check_parents(l, layers, count)) < 0) return hr;
  for (size_t i = 0; count == 0 && i < l->meta.nparents; i++)
    if ((hr = lyr_check_parent_path(l, l->meta.parents[i])) < 0) return hr;
  if ((hr = mkdir_in(l, l->dir, "mount", 0755)) < 0) return hr;
  lyr_sub(l, "mount", mnt);
  m = cmn_is_mountpoint(mnt);
  if (m > 0) return already_prepared(l, mnt);
  if (m < 0) return lyr_fail(errno_hr(-m), "%s layer %s: %s: %s", l->op, l->id, mnt, strerror(-m));
  n = count ? count : l->meta.nparents;
  lowers = calloc(n ? n : 1, sizeof *lowers);
  buf = calloc(n ? n : 1, sizeof *buf);
  if (!lowers || !buf) {
    hr = lyr_fail(PLAT_E_OUTOFMEMORY, "%s layer %s: out of memory", l->op, l->id);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    snprintf(buf[i], LYR_PATH_MAX, "%s/rootfs", count ? layers[i].Path : l->meta.parents[i]);
    lowers[i] = buf[i];
  }
  if (n == 0) { /* overlay needs at least one lowerdir */
    if ((hr = mkdir_in(l, l->dir, "empty", 0755)) < 0) goto out;
    lyr_sub(l, "empty", empty);
    lowers[0] = empty;
    n = 1;
  }
  hr = mount_overlay(l, lowers, n);
  if (hr >= 0 && n > 0 && lowers[0] != empty) {
    /* lowers[i] is "<layer>/rootfs": record the layer folders */
    for (size_t i = 0; i < n; i++) buf[i][strlen(buf[i]) - strlen("/rootfs")] = '\0';
    if ((m = layer_users_add(l->dir, lowers, n)) < 0) {
      lyr_unmount(l);
      hr = lyr_fail(errno_hr(-m), "%s layer %s: recording its lower layers: %s", l->op, l->id,
                    strerror(-m));
    }
  }
out:
  free(lowers);
  free(buf);
  return hr;
}

plat_hresult lay_prepare(const plat_driver_info *info, const char *id,
                         const plat_layer_descriptor *layers, size_t count) {
  lyr l;
  plat_hresult hr = open_layer(&l, info, id, "prepare");
  if (hr < 0) return hr;
  /* a read-only layer's rootfs/ needs no mount */
  if (l.meta.sandbox) hr = lyr_prepare(&l, layers, count);
  lyr_close(&l);
  return hr;
}

plat_hresult lay_mount_path(const plat_driver_info *info, const char *id, size_t *length,
                            char *buffer) {
  lyr l;
  char path[LYR_PATH_MAX];
  struct stat st;
  size_t need;
  plat_hresult hr;
  if (!length) {
    lyr_clear_error();
    return lyr_fail(PLAT_E_INVALIDARG, "get layer mount path: NULL length");
  }
  if ((hr = open_layer(&l, info, id, "get mount path of")) < 0) return hr;
  lyr_sub(&l, l.meta.sandbox ? "mount" : "rootfs", path);
  lyr_close(&l);
  if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) { /* sandbox not active */
    if (buffer && *length > 0) buffer[0] = '\0';
    *length = 0;
    return PLAT_S_OK;
  }
  need = strlen(path) + 1;
  if (buffer) {
    if (*length < need) {
      *length = need;
      return lyr_fail(PLAT_E_INVALIDARG,
                      "get mount path of layer %s: buffer of %zu chars is too "
                      "small (%zu needed)",
                      id, *length, need);
    }
    memcpy(buffer, path, need);
  }
  *length = need;
  return PLAT_S_OK;
}

plat_hresult lay_base_images(char **buffer) {
  lyr_clear_error();
  if (!buffer) return lyr_fail(PLAT_E_INVALIDARG, "get base images: NULL out-parameter");
  *buffer = strdup("{\"Images\":[]}");
  return *buffer ? PLAT_S_OK : lyr_fail(PLAT_E_OUTOFMEMORY, "get base images: out of memory");
}

/* A read-only layer under a prepared sandbox, naming the compute system
 * that uses the sandbox, if any. */
static plat_hresult check_no_users(const lyr *l) {
  char sandbox[LYR_PATH_MAX], who[256];
  if (!layer_users_busy(l->dir, sandbox, sizeof sandbox)) return PLAT_S_OK;
  if (layer_holds_live(sandbox, who, sizeof who))
    return lyr_fail(PLAT_E_BUSY,
                    "%s layer %s: in use by compute system %s (a lower layer of its sandbox %s)",
                    l->op, l->id, who, sandbox);
  return lyr_fail(PLAT_E_BUSY,
                  "%s layer %s: the prepared sandbox %s uses it as a lower layer; "
                  "unprepare that first",
                  l->op, l->id, sandbox);
}

plat_hresult lay_destroy(const plat_driver_info *info, const char *id) {
  lyr l;
  char trash[LYR_PATH_MAX], prefix[LYR_PATH_MAX];
  int m, rc;
  plat_hresult hr;
  lyr_clear_error();
  if ((hr = lyr_init(&l, info, id, "destroy")) < 0) return hr;
  /* only a real layer (with layer.json) is ever destroyed: an id that
   * names some other folder under HomeDir is refused, not deleted */
  if ((hr = lyr_open(&l, 1)) < 0) return hr;
  if ((hr = lyr_check_unheld(&l)) < 0 || (hr = check_no_users(&l)) < 0) {
    lyr_close(&l);
    return hr;
  }
  m = cmn_has_mounts_under(l.dir);
  if (m != 0) {
    hr = m > 0 ? lyr_fail(PLAT_E_BUSY,
                          "destroy layer %s: the layer is mounted (prepared); "
                          "unprepare and deactivate it first",
                          id)
               : lyr_fail(PLAT_E_FAIL, "destroy layer %s: reading mountinfo: %s", id, strerror(-m));
    lyr_close(&l);
    return hr;
  }
  /* rename first: the id disappears atomically even if deletion is slow;
   * to a name never used before (no placeholder folder another call's
   * sweep could take meanwhile) */
  lyr_pathf(prefix, ".trash-%s-", id);
  if ((rc = cmn_rename_fresh(l.dir, l.home, prefix, trash, sizeof trash)) < 0) {
    hr = lyr_fail(errno_hr(-rc), "destroy layer %s: moving %s aside: %s", id, l.dir, strerror(-rc));
    lyr_close(&l);
    return hr;
  }
  /* the lock moved with the folder: it keeps lyr_sweep off the trash
   * folder until this deletion is over */
  rc = cmn_remove_tree(trash);
  lyr_close(&l);
  lyr_sweep(&l);
  if (rc < 0)
    return lyr_fail(errno_hr(-rc), "destroy layer %s: removing %s: %s", id, trash, strerror(-rc));
  return PLAT_S_OK;
}
