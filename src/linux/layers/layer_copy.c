/* CopyLayer on Linux: the source layer's diff goes through an anonymous
 * tar (O_TMPFILE in HomeDir, so nothing is left behind even by a crash)
 * into a new read-only layer by the same import as ImportLayerTar; so a
 * sandbox's changes become a layer (a commit) and a read-only layer is
 * duplicated, whiteouts and opaque directories included. */
#include "linux/layers/layer_store.h"
#include "linux/layers/layers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lyr_tmpfile(const lyr *l) {
  char path[LYR_PATH_MAX];
  int fd = open(l->home, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR)) return fd;
  /* filesystems without O_TMPFILE: a named file, unlinked at once */
  lyr_pathf(path, "%s/.tmp-%s-XXXXXX", l->home, l->id);
  fd = mkostemp(path, O_CLOEXEC);
  if (fd >= 0) unlink(path);
  return fd;
}

plat_hresult lay_copy(const plat_driver_info *info, const char *src_id, const char *dst_id,
                      const plat_layer_descriptor *layers, size_t count) {
  lyr src, dst;
  char via[64];
  plat_hresult hr;
  int fd;
  lyr_clear_error();
  if ((hr = lyr_init(&dst, info, dst_id, "copy to")) < 0) return hr;
  if ((hr = lyr_init(&src, info, src_id, "copy of")) < 0) return hr;
  if ((hr = lyr_check_parents(&dst, layers, count)) < 0) return hr;
  if ((hr = lyr_ensure_home(&src)) < 0) return hr;
  if ((fd = lyr_tmpfile(&src)) < 0)
    return lyr_fail(errno == ENOSPC ? PLAT_E_DISK_FULL : PLAT_E_FAIL,
                    "copy of layer %s: temporary file in %s: %s", src_id, src.home,
                    strerror(errno));
  if ((hr = lyr_open(&src, 1)) >= 0) {
    hr = lyr_export_fd(&src, fd, NULL, NULL);
    lyr_close(&src);
  }
  /* the import opens its own description of the file, from the start */
  snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
  if (hr >= 0) hr = lay_import_tar(info, dst_id, via, layers, count, NULL, NULL, NULL);
  close(fd);
  return hr;
}
