/* The layer functions of platform.h: the layers room does the work. */
#include "linux/layers/layers.h"
#include "platform.h"

plat_hresult plat_ActivateLayer(const plat_driver_info *info, const char *id) {
  return lay_activate(info, id);
}

plat_hresult plat_CreateLayer(const plat_driver_info *info, const char *id, const char *parent) {
  return lay_create(info, id, parent);
}

plat_hresult plat_CreateSandboxLayer(const plat_driver_info *info, const char *id,
                                     const char *parent, const plat_layer_descriptor *layers,
                                     size_t count) {
  return lay_create_sandbox(info, id, parent, layers, count);
}

plat_hresult plat_ExpandSandboxSize(const plat_driver_info *info, const char *id, uint64_t size) {
  return lay_expand_sandbox(info, id, size);
}

plat_hresult plat_DeactivateLayer(const plat_driver_info *info, const char *id) {
  return lay_deactivate(info, id);
}

plat_hresult plat_DestroyLayer(const plat_driver_info *info, const char *id) {
  return lay_destroy(info, id);
}

plat_hresult plat_GetLayerMountPath(const plat_driver_info *info, const char *id, size_t *length,
                                    char *buffer) {
  return lay_mount_path(info, id, length, buffer);
}

plat_hresult plat_GetBaseImages(char **buffer) { return lay_base_images(buffer); }

plat_hresult plat_LayerExists(const plat_driver_info *info, const char *id, int *exists) {
  return lay_exists(info, id, exists);
}

plat_hresult plat_NameToGuid(const char *name, uint8_t guid[16]) {
  return lay_name_to_guid(name, guid);
}

plat_hresult plat_PrepareLayer(const plat_driver_info *info, const char *id,
                               const plat_layer_descriptor *layers, size_t count) {
  return lay_prepare(info, id, layers, count);
}

plat_hresult plat_UnprepareLayer(const plat_driver_info *info, const char *id) {
  return lay_unprepare(info, id);
}

plat_hresult plat_ExportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count,
                                 const plat_progress *progress, uint64_t *size) {
  return lay_export_tar(info, id, tar_path, layers, count, progress, size);
}

plat_hresult plat_CopyLayer(const plat_driver_info *info, const char *src_id, const char *dst_id,
                            const plat_layer_descriptor *layers, size_t count) {
  return lay_copy(info, src_id, dst_id, layers, count);
}

plat_hresult plat_ImportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count,
                                 const plat_progress *progress, uint64_t *size, char **result) {
  return lay_import_tar(info, id, tar_path, layers, count, progress, size, result);
}
