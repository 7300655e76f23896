/* The layers room (lay_, lyr_): the layer store, use records, tar
 * import, sandbox mounts.  The calls behind the layer functions of
 * platform.h (same arguments, same results); it never calls compute or
 * network.  Errors: a plat_hresult, and the message in lay_last_error()
 * (thread-local). */
#ifndef HCSSHIM_LINUX_LAYERS_H
#define HCSSHIM_LINUX_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

/* Message explaining the last layer-function failure on this thread ("" after
 * a success).  Valid until the next layer call on the same thread. */
const char *lay_last_error(void);

plat_hresult lay_activate(const plat_driver_info *info, const char *id);
plat_hresult lay_create(const plat_driver_info *info, const char *id, const char *parent);
plat_hresult lay_create_sandbox(const plat_driver_info *info, const char *id, const char *parent,
                                const plat_layer_descriptor *layers, size_t count);
plat_hresult lay_expand_sandbox(const plat_driver_info *info, const char *id, uint64_t size);
plat_hresult lay_deactivate(const plat_driver_info *info, const char *id);
plat_hresult lay_destroy(const plat_driver_info *info, const char *id);
plat_hresult lay_mount_path(const plat_driver_info *info, const char *id, size_t *length,
                            char *buffer);
plat_hresult lay_base_images(char **buffer);
plat_hresult lay_exists(const plat_driver_info *info, const char *id, int *exists);
plat_hresult lay_name_to_guid(const char *name, uint8_t guid[16]);
plat_hresult lay_prepare(const plat_driver_info *info, const char *id,
                         const plat_layer_descriptor *layers, size_t count);
plat_hresult lay_unprepare(const plat_driver_info *info, const char *id);
plat_hresult lay_import_tar(const plat_driver_info *info, const char *id, const char *tar_path,
                            const plat_layer_descriptor *layers, size_t count,
                            const plat_progress *progress, uint64_t *size, char **result);
/* tar_export.c: the layer's diff as an OCI layer tar at tar_path (replaced
 * atomically); *size: bytes of regular file data */
plat_hresult lay_export_tar(const plat_driver_info *info, const char *id, const char *tar_path,
                            const plat_layer_descriptor *layers, size_t count,
                            const plat_progress *progress, uint64_t *size);
/* layer_copy.c: a new read-only layer dst_id holding src_id's diff */
plat_hresult lay_copy(const plat_driver_info *info, const char *src_id, const char *dst_id,
                      const plat_layer_descriptor *layers, size_t count);

/* Compute systems use layers (layer_use.c).  A layer that a compute system
 * holds is never unprepared, deactivated or destroyed: those calls fail
 * with PLAT_E_BUSY naming the system.  `alive` is a path that exists
 * exactly as long as the system (its folder in the runtime root): a hold
 * whose path is gone is stale.  `path` is a layer folder, or its mount/ or
 * rootfs/; a path that is no layer is not held (S_OK). */
plat_hresult lay_hold(const char *path, const char *system, const char *alive);
void lay_release(const char *path, const char *system);
/* LayerFolderPath: activates and prepares the sandbox and holds it for
 * the system, under the layer's lock; a failure undoes only what this
 * call did (it never unmounts a mount it did not make). */
plat_hresult lay_mount_for(const plat_driver_info *info, const char *id,
                           const plat_layer_descriptor *layers, size_t count, const char *system,
                           const char *alive);
/* Drops the system's hold and unprepares and deactivates the sandbox,
 * unless another live system holds it too. */
plat_hresult lay_unmount_for(const plat_driver_info *info, const char *id, const char *system);

/* layer_stubs.c: before the runtime mounts over `targets` (absolute paths
 * in the container) in `rootfs`, records those missing as mount stubs of
 * the sandbox whose mount rootfs is, which its exports leave out.  A
 * rootfs that is no sandbox's mount: nothing to do. */
plat_hresult lay_note_stubs(const char *rootfs, const char *const *targets, size_t count);

/* The body of the extract helper program (see tar_import.c). */
int lay_extract_main(void);

#endif
