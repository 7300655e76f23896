/* Small filesystem helpers for the layer store (src/linux/fsutil.c).
 * Every function returns 0 on success or a negative errno. */
#ifndef HCSSHIM_LINUX_FSUTIL_H
#define HCSSHIM_LINUX_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: missing parents get 0755, the last component gets `mode`. */
int fs_mkdir_p(const char *path, mode_t mode);
/* Replace `path` atomically (temp file in the same directory, fsync, rename). */
int fs_write_atomic(const char *path, const char *data, size_t len);
/* Read a whole (small) file into a NUL-terminated heap buffer. */
int fs_read_file(const char *path, char **out, size_t max);
/* rm -rf without following symlinks or crossing into other mounts. */
int fs_remove_tree(const char *path);
/* 1 if path is the root of a mount, 0 if not, < 0 on error. */
int fs_is_mountpoint(const char *path);
/* 1 if any mount point lies at or below `dir` (per /proc/self/mountinfo). */
int fs_has_mounts_under(const char *dir);

#endif
