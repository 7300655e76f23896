/* Functions of vmcompute.dll / iphlpapi that have no Linux counterpart in
 * the Linux host compute service: each fails with ERROR_NOT_SUPPORTED. */
#include "linux/common/json.h"

#define UNUSED(x) (void)(x)

plat_hresult plat_HcsModifyServiceSettings(const char *settings, char **result) {
  UNUSED(settings);
  return cmn_fail(result, PLAT_E_NOT_SUPPORTED,
                  "HcsModifyServiceSettings is not supported on this platform");
}

plat_hresult plat_ExportLayer(const plat_driver_info *info, const char *id, const char *folder,
                              const plat_layer_descriptor *layers, size_t count) {
  UNUSED(info);
  UNUSED(id);
  UNUSED(folder);
  UNUSED(layers);
  UNUSED(count);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ImportLayer(const plat_driver_info *info, const char *id, const char *folder,
                              const plat_layer_descriptor *layers, size_t count) {
  UNUSED(info);
  UNUSED(id);
  UNUSED(folder);
  UNUSED(layers);
  UNUSED(count);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ProcessBaseImage(const char *path) {
  UNUSED(path);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ProcessUtilityImage(const char *path) {
  UNUSED(path);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ImportLayerBegin(const plat_driver_info *info, const char *id,
                                   const plat_layer_descriptor *layers, size_t count,
                                   plat_layer_stream *ctx) {
  UNUSED(info);
  UNUSED(id);
  UNUSED(layers);
  UNUSED(count);
  *ctx = NULL;
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ImportLayerNext(plat_layer_stream ctx, const char *name,
                                  const plat_file_basic_info *info) {
  UNUSED(ctx);
  UNUSED(name);
  UNUSED(info);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ImportLayerWrite(plat_layer_stream ctx, const void *buf, uint32_t len) {
  UNUSED(ctx);
  UNUSED(buf);
  UNUSED(len);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ImportLayerLink(plat_layer_stream ctx, const char *name, const char *target) {
  UNUSED(ctx);
  UNUSED(name);
  UNUSED(target);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ImportLayerEnd(plat_layer_stream ctx) {
  UNUSED(ctx);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ExportLayerBegin(const plat_driver_info *info, const char *id,
                                   const plat_layer_descriptor *layers, size_t count,
                                   plat_layer_stream *ctx) {
  UNUSED(info);
  UNUSED(id);
  UNUSED(layers);
  UNUSED(count);
  *ctx = NULL;
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ExportLayerNext(plat_layer_stream ctx, char **name, plat_file_basic_info *info,
                                  int64_t *size, int *deleted) {
  UNUSED(ctx);
  UNUSED(info);
  UNUSED(size);
  UNUSED(deleted);
  *name = NULL;
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ExportLayerRead(plat_layer_stream ctx, void *buf, uint32_t len, uint32_t *read) {
  UNUSED(ctx);
  UNUSED(buf);
  UNUSED(len);
  *read = 0;
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_ExportLayerEnd(plat_layer_stream ctx) {
  UNUSED(ctx);
  return PLAT_E_NOT_SUPPORTED;
}

plat_hresult plat_SetCurrentThreadCompartmentId(uint32_t compartment) {
  UNUSED(compartment);
  return PLAT_E_NOT_SUPPORTED;
}
