/* Internals shared by layer.c and tar_import.c (see layer.c for the on-disk
 * format).  All paths are fixed-size buffers: ids and HomeDir are bounded. */
#ifndef HCSSHIM_LINUX_LAYER_STORE_H
#define HCSSHIM_LINUX_LAYER_STORE_H

#include "platform.h"

#include <sys/stat.h>

#define LYR_ID_MAX 128
#define LYR_PATH_MAX 4096
#define LYR_HOME_MAX 3000 /* leaves room for "/<id>/<leaf>" and staging names */

typedef struct lyr_meta {
  int sandbox;    /* 0: ReadOnly, 1: Sandbox */
  char *parent;   /* parent id or "" */
  char **parents; /* parent layer paths, nearest first */
  size_t nparents;
} lyr_meta;

typedef struct lyr {
  const char *id;
  const char *op; /* for messages: "create", "prepare", ... */
  char home[LYR_PATH_MAX];
  char dir[LYR_PATH_MAX];
  int dfd; /* layer folder, flock'ed; -1 when not open */
  int sfd; /* staging folder, flock'ed; -1 when none */
  int have_meta;
  lyr_meta meta;
} lyr;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
plat_hresult
lyr_fail(plat_hresult hr, const char *fmt, ...);
/* snprintf into a LYR_PATH_MAX buffer; -1 if truncated (the bounds on
 * HomeDir and ids keep store paths well inside, so callers may ignore it) */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int lyr_pathf(char *out, const char *fmt, ...);
void lyr_clear_error(void);

/* Validates info and id and fills l->home / l->dir (nothing touches disk). */
plat_hresult lyr_init(lyr *l, const plat_driver_info *info, const char *id, const char *op);
/* Creates HomeDir (0700) if missing, and sweeps it (lyr_sweep). */
plat_hresult lyr_ensure_home(const lyr *l);
/* Opens and locks the layer folder; with want_meta also reads layer.json.
 * A missing layer -> PLAT_E_NOT_FOUND. */
plat_hresult lyr_open(lyr *l, int want_meta);
void lyr_close(lyr *l);
/* l->dir + "/" + leaf */
void lyr_sub(const lyr *l, const char *leaf, char *out);

/* Validates parent descriptors: absolute paths of existing read-only layers. */
plat_hresult lyr_check_parents(const lyr *l, const plat_layer_descriptor *layers, size_t count);
plat_hresult lyr_check_parent_path(const lyr *l, const char *path);

/* New layers are assembled in a staging folder and renamed into place, so a
 * layer either exists completely or not at all. */
plat_hresult lyr_staging_new(lyr *l, char *out);
plat_hresult lyr_staging_publish(lyr *l, const char *staging);
/* Removes an unpublished staging folder; returns cmn_remove_tree's code. */
int lyr_staging_remove(lyr *l, const char *staging);
/* Removes the .staging-* and .trash-* folders of HomeDir that no call is
 * using (left by a crash or a failed deletion). */
void lyr_sweep(const lyr *l);

/* layer.json (and layerchain.json for sandboxes) in `dir`, atomically. */
plat_hresult lyr_meta_write(const lyr *l, const char *dir, int sandbox, const char *parent,
                            const plat_layer_descriptor *layers, size_t count);
plat_hresult lyr_meta_read(const char *dir, lyr_meta *m, char *why, size_t whylen);
void lyr_meta_free(lyr_meta *m);

/* tar_export.c: the layer's diff folder (upper/ or rootfs/), and the diff
 * as a tar into fd (l open with its meta) */
void lyr_diff_dir(const lyr *l, char *out);
plat_hresult lyr_export_fd(lyr *l, int fd, const plat_progress *progress, uint64_t *size);
/* layer_use.c: opens and locks the layer behind path (the layer folder, or
 * its mount/ or rootfs/), filling home and id (LYR_PATH_MAX, LYR_ID_MAX);
 * PLAT_E_NOT_FOUND if path is no layer. */
plat_hresult lyr_open_path(lyr *l, const char *path, const char *op, char *home, char *id,
                           int want_meta);
/* layer_stubs.c: a sandbox's stub list (NULL: none), and whether a diff
 * entry is a listed stub still as the runtime made it */
char *lyr_stubs_read(const lyr *l);
int lyr_is_stub(const char *stubs, const char *name, const struct stat *st, int dirfd,
                const char *base);
/* layer_copy.c: an anonymous read-write file in HomeDir: an fd or -1 (errno) */
int lyr_tmpfile(const lyr *l);
/* With the layer locked and its meta read (a sandbox): */
/* PLAT_E_BUSY naming the compute system if a live one holds the layer. */
plat_hresult lyr_check_unheld(const lyr *l);
/* mounts the overlay on mount/ (creating mount/); already mounted -> busy */
plat_hresult lyr_prepare(lyr *l, const plat_layer_descriptor *layers, size_t count);
/* umount2 of mount/ (not mounted -> S_OK) */
plat_hresult lyr_unmount(lyr *l);
/* lyr_unmount, then removes mount/ */
plat_hresult lyr_deactivate(lyr *l);

#endif
