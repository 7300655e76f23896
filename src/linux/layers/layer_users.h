/* Which prepared sandboxes use a read-only layer as a lower layer. */
#ifndef HCSSHIM_LINUX_LAYER_USERS_H
#define HCSSHIM_LINUX_LAYER_USERS_H

#include <stddef.h>

/* Records that the sandbox in `sandbox_dir` now mounts the layers in
 * `layer_dirs` (layer folders, not their rootfs).  Returns 0 or -errno. */
int layer_users_add(const char *sandbox_dir, const char *const *layer_dirs, size_t n);
/* Forgets what layer_users_add recorded for the sandbox (after unmount). */
void layer_users_remove(const char *sandbox_dir);
/* 1 if a mounted sandbox still uses the layer (its folder is copied into
 * `who`), 0 if none; stale records are dropped on the way. */
int layer_users_busy(const char *layer_dir, char *who, size_t wholen);

#endif
