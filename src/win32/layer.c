/* Layer (graph driver) functions of vmcompute.dll.  DriverInfo,
 * WC_LAYER_DESCRIPTOR and FILE_BASIC_INFO are marshalled into their exact x64
 * layouts (static asserts in w32.h).  Failures leave the FormatMessageW text
 * of the HRESULT as the thread's last error (plat_last_error). */
#include <stdlib.h>
#include <string.h>

#include "win32/w32.h"

typedef HRESULT(WINAPI *info_id_fn)(const w32_driver_info *, LPCWSTR);
typedef HRESULT(WINAPI *create_fn)(const w32_driver_info *, LPCWSTR, LPCWSTR);
typedef HRESULT(WINAPI *sandbox_fn)(const w32_driver_info *, LPCWSTR, LPCWSTR,
                                    const w32_layer_descriptor *, ULONG);
typedef HRESULT(WINAPI *copy_fn)(const w32_driver_info *, LPCWSTR, LPCWSTR,
                                 const w32_layer_descriptor *, ULONG);
typedef HRESULT(WINAPI *expand_fn)(const w32_driver_info *, LPCWSTR, ULONGLONG);
typedef HRESULT(WINAPI *mount_fn)(const w32_driver_info *, LPCWSTR, SIZE_T *, PWSTR);
typedef HRESULT(WINAPI *base_images_fn)(PWSTR *);
typedef HRESULT(WINAPI *exists_fn)(const w32_driver_info *, LPCWSTR, BOOL *);
typedef HRESULT(WINAPI *n2g_fn)(LPCWSTR, GUID *);
typedef HRESULT(WINAPI *prepare_fn)(const w32_driver_info *, LPCWSTR, const w32_layer_descriptor *,
                                    ULONG);
typedef HRESULT(WINAPI *path_fn)(LPCWSTR);
typedef HRESULT(WINAPI *begin_fn)(const w32_driver_info *, LPCWSTR, const w32_layer_descriptor *,
                                  ULONG, HANDLE *);
typedef HRESULT(WINAPI *inext_fn)(HANDLE, LPCWSTR, const w32_file_basic_info *);
typedef HRESULT(WINAPI *iwrite_fn)(HANDLE, const BYTE *, DWORD);
typedef HRESULT(WINAPI *end_fn)(HANDLE);
typedef HRESULT(WINAPI *enext_fn)(HANDLE, PWSTR *, w32_file_basic_info *, LARGE_INTEGER *, BOOL *);
typedef HRESULT(WINAPI *eread_fn)(HANDLE, BYTE *, DWORD, DWORD *);

void w32_layer_args_free(w32_layer_args *a) {
  size_t i;
  free(a->home);
  for (i = 0; i < a->count; i++) free(a->paths ? a->paths[i] : NULL);
  free(a->paths);
  free(a->descs);
  memset(a, 0, sizeof *a);
}

plat_hresult w32_layer_args_init(w32_layer_args *a, const plat_driver_info *info,
                                 const plat_layer_descriptor *layers, size_t count) {
  plat_hresult hr = PLAT_S_OK;
  size_t i;
  memset(a, 0, sizeof *a);
  if (info) {
    a->home = w32_wide(info->HomeDir, "DriverInfo.HomeDir", &hr);
    if (!a->home) return hr;
    a->info.Flavour = info->Flavour;
    a->info.HomeDir = a->home;
  }
  if (count == 0) return PLAT_S_OK;
  if (count > 0xFFFFFFFFu) return PLAT_E_INVALIDARG;
  a->descs = calloc(count, sizeof *a->descs);
  a->paths = calloc(count, sizeof *a->paths);
  a->count = count;
  if (!a->descs || !a->paths) {
    w32_layer_args_free(a);
    return PLAT_E_OUTOFMEMORY;
  }
  for (i = 0; i < count; i++) {
    a->paths[i] = w32_wide(layers[i].Path, "layer path", &hr);
    if (!a->paths[i]) {
      w32_layer_args_free(a);
      return hr;
    }
    memcpy(&a->descs[i].LayerId, layers[i].LayerId, 16); /* both in Windows GUID layout */
    a->descs[i].Flags = layers[i].Flags;
    a->descs[i].Path = a->paths[i];
  }
  return PLAT_S_OK;
}

static plat_hresult done(HRESULT hr) {
  if (FAILED(hr)) w32_set_error_hr((plat_hresult)hr);
  else w32_set_error(NULL);
  return (plat_hresult)hr;
}

/* info + one string */
static plat_hresult info_id(const char *name, const plat_driver_info *info, const char *id) {
  w32_layer_args a;
  WCHAR *wid;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, info_id_fn, fn, name, NULL);
  if ((hr = w32_layer_args_init(&a, info, NULL, 0)) < 0) return hr;
  if (!(wid = w32_wide(id, "layer id", &hr))) {
    w32_layer_args_free(&a);
    return hr;
  }
  hr = done(fn(&a.info, wid));
  free(wid);
  w32_layer_args_free(&a);
  return hr;
}

plat_hresult plat_ActivateLayer(const plat_driver_info *info, const char *id) {
  return info_id("ActivateLayer", info, id);
}
plat_hresult plat_DeactivateLayer(const plat_driver_info *info, const char *id) {
  return info_id("DeactivateLayer", info, id);
}
plat_hresult plat_DestroyLayer(const plat_driver_info *info, const char *id) {
  return info_id("DestroyLayer", info, id);
}
plat_hresult plat_UnprepareLayer(const plat_driver_info *info, const char *id) {
  return info_id("UnprepareLayer", info, id);
}

plat_hresult plat_CreateLayer(const plat_driver_info *info, const char *id, const char *parent) {
  w32_layer_args a;
  WCHAR *wid = NULL, *wp = NULL;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, create_fn, fn, "CreateLayer", NULL);
  if ((hr = w32_layer_args_init(&a, info, NULL, 0)) < 0) return hr;
  if ((wid = w32_wide(id, "layer id", &hr)) && (wp = w32_wide(parent, "parent id", &hr)))
    hr = done(fn(&a.info, wid, wp));
  free(wid);
  free(wp);
  w32_layer_args_free(&a);
  return hr;
}

/* info, id, [second string], descriptors */
static plat_hresult with_descs(const char *name, const plat_driver_info *info, const char *id,
                               const char *second, const char *second_what,
                               const plat_layer_descriptor *layers, size_t count) {
  w32_layer_args a;
  WCHAR *wid = NULL, *w2 = NULL;
  plat_hresult hr;
  FARPROC p = w32_proc(W32_VMCOMPUTE, name);
  if (!p) return w32_missing(name, NULL);
  if ((hr = w32_layer_args_init(&a, info, layers, count)) < 0) return hr;
  if (!(wid = w32_wide(id, "layer id", &hr))) goto out;
  if (second_what && !(w2 = w32_wide(second, second_what, &hr))) goto out;
  if (!second_what) {
    prepare_fn fn = (prepare_fn)(void (*)(void))p;
    hr = done(fn(&a.info, wid, a.descs, (ULONG)a.count));
  } else {
    sandbox_fn fn = (sandbox_fn)(void (*)(void))p;
    hr = done(fn(&a.info, wid, w2, a.descs, (ULONG)a.count));
  }
out:
  free(wid);
  free(w2);
  w32_layer_args_free(&a);
  return hr;
}

plat_hresult plat_CreateSandboxLayer(const plat_driver_info *info, const char *id,
                                     const char *parent, const plat_layer_descriptor *layers,
                                     size_t count) {
  return with_descs("CreateSandboxLayer", info, id, parent ? parent : "", "parent id", layers,
                    count);
}
plat_hresult plat_CopyLayer(const plat_driver_info *info, const char *src_id, const char *dst_id,
                            const plat_layer_descriptor *layers, size_t count) {
  return with_descs("CopyLayer", info, src_id, dst_id, "destination id", layers, count);
}
plat_hresult plat_ExportLayer(const plat_driver_info *info, const char *id, const char *folder,
                              const plat_layer_descriptor *layers, size_t count) {
  return with_descs("ExportLayer", info, id, folder, "export folder", layers, count);
}
plat_hresult plat_ImportLayer(const plat_driver_info *info, const char *id, const char *folder,
                              const plat_layer_descriptor *layers, size_t count) {
  return with_descs("ImportLayer", info, id, folder, "import folder", layers, count);
}
/* HCS has a race in PrepareLayer: hcsshim serialises every call with one
 * process-wide lock (wclayer's prepareLayerLock); so do we. */
static SRWLOCK prepare_lock = SRWLOCK_INIT;

plat_hresult plat_PrepareLayer(const plat_driver_info *info, const char *id,
                               const plat_layer_descriptor *layers, size_t count) {
  plat_hresult hr;
  AcquireSRWLockExclusive(&prepare_lock);
  hr = with_descs("PrepareLayer", info, id, NULL, NULL, layers, count);
  ReleaseSRWLockExclusive(&prepare_lock);
  return hr;
}

plat_hresult plat_ExpandSandboxSize(const plat_driver_info *info, const char *id, uint64_t size) {
  w32_layer_args a;
  WCHAR *wid;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, expand_fn, fn, "ExpandSandboxSize", NULL);
  if ((hr = w32_layer_args_init(&a, info, NULL, 0)) < 0) return hr;
  if ((wid = w32_wide(id, "layer id", &hr))) hr = done(fn(&a.info, wid, (ULONGLONG)size));
  free(wid);
  w32_layer_args_free(&a);
  return hr;
}

/* vmcompute's two-call pattern (length in WCHARs, then a caller-allocated
 * buffer, never CoTaskMem) is done here, again while the path outgrows the
 * buffer between the two calls.  The seam then hands the UTF-8 length and
 * text to the core's own two calls; a buffer that became too small for the
 * text is an error with the needed *length, never a cut path. */
static plat_hresult mount_path_wide(mount_fn fn, const w32_driver_info *info, LPCWSTR id,
                                    WCHAR **out) {
  SIZE_T wlen = 0;
  int tries;
  plat_hresult hr;
  *out = NULL;
  for (tries = 0; tries < 8; tries++) {
    SIZE_T cap;
    WCHAR *wbuf;
    hr = done(fn(info, id, &wlen, NULL));
    if (hr < 0 || wlen == 0) return hr;
    cap = wlen;
    wbuf = calloc(cap + 1, sizeof *wbuf);
    if (!wbuf) return PLAT_E_OUTOFMEMORY;
    hr = done(fn(info, id, &wlen, wbuf));
    if (hr >= 0 && wlen <= cap) {
      *out = wbuf;
      return hr;
    }
    free(wbuf);
    if (hr < 0 && hr != (plat_hresult)HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)) return hr;
  }
  return hr < 0 ? hr : (plat_hresult)HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
}

plat_hresult plat_GetLayerMountPath(const plat_driver_info *info, const char *id, size_t *length,
                                    char *buffer) {
  w32_layer_args a;
  WCHAR *wid = NULL, *wbuf = NULL;
  char *path = NULL;
  size_t n;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, mount_fn, fn, "GetLayerMountPath", NULL);
  if ((hr = w32_layer_args_init(&a, info, NULL, 0)) < 0) return hr;
  if (!(wid = w32_wide(id, "layer id", &hr))) goto out;
  if ((hr = mount_path_wide(fn, &a.info, wid, &wbuf)) < 0) goto out;
  if (!wbuf) { /* not mounted: length 0 */
    if (buffer && *length > 0) buffer[0] = 0;
    *length = 0;
    goto out;
  }
  if (!(path = w32_utf8(wbuf))) {
    hr = PLAT_E_OUTOFMEMORY;
    goto out;
  }
  n = strlen(path);
  if (buffer && n > *length) {
    w32_set_error("the mount path grew between the calls: the buffer is too small");
    hr = (plat_hresult)HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
  } else if (buffer) {
    memcpy(buffer, path, n);
  }
  *length = n;
out:
  free(path);
  free(wbuf);
  free(wid);
  w32_layer_args_free(&a);
  return hr;
}

plat_hresult plat_GetBaseImages(char **buffer) {
  PWSTR out = NULL;
  HRESULT hr;
  *buffer = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, base_images_fn, fn, "GetBaseImages", NULL);
    hr = done(fn(&out));
  }
  *buffer = w32_take(out);
  return (plat_hresult)hr;
}

plat_hresult plat_LayerExists(const plat_driver_info *info, const char *id, int *exists) {
  w32_layer_args a;
  WCHAR *wid;
  BOOL b = FALSE;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, exists_fn, fn, "LayerExists", NULL);
  *exists = 0;
  if ((hr = w32_layer_args_init(&a, info, NULL, 0)) < 0) return hr;
  if ((wid = w32_wide(id, "layer id", &hr))) hr = done(fn(&a.info, wid, &b));
  free(wid);
  w32_layer_args_free(&a);
  *exists = hr >= 0 && b != FALSE;
  return hr;
}

plat_hresult plat_NameToGuid(const char *name, uint8_t guid[16]) {
  WCHAR *wn;
  GUID g;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, n2g_fn, fn, "NameToGuid", NULL);
  if (!(wn = w32_wide(name, "name", &hr))) return hr;
  memset(&g, 0, sizeof g);
  hr = done(fn(wn, &g));
  free(wn);
  memcpy(guid, &g, 16);
  return hr;
}

static plat_hresult path_call(const char *name, const char *path) {
  WCHAR *wp;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, path_fn, fn, name, NULL);
  if (!(wp = w32_wide(path, "path", &hr))) return hr;
  hr = done(fn(wp));
  free(wp);
  return hr;
}

plat_hresult plat_ProcessBaseImage(const char *path) { return path_call("ProcessBaseImage", path); }
plat_hresult plat_ProcessUtilityImage(const char *path) {
  return path_call("ProcessUtilityImage", path);
}

/* ---- streams ---- */

static plat_hresult begin(const char *name, const plat_driver_info *info, const char *id,
                          const plat_layer_descriptor *layers, size_t count,
                          plat_layer_stream *ctx) {
  w32_layer_args a;
  WCHAR *wid;
  HANDLE h = NULL;
  plat_hresult hr;
  *ctx = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, begin_fn, fn, name, NULL);
    if ((hr = w32_layer_args_init(&a, info, layers, count)) < 0) return hr;
    if ((wid = w32_wide(id, "layer id", &hr)))
      hr = done(fn(&a.info, wid, a.descs, (ULONG)a.count, &h));
  }
  free(wid);
  w32_layer_args_free(&a);
  if (hr >= 0) *ctx = h;
  return hr;
}

plat_hresult plat_ImportLayerBegin(const plat_driver_info *info, const char *id,
                                   const plat_layer_descriptor *layers, size_t count,
                                   plat_layer_stream *ctx) {
  return begin("ImportLayerBegin", info, id, layers, count, ctx);
}

plat_hresult plat_ExportLayerBegin(const plat_driver_info *info, const char *id,
                                   const plat_layer_descriptor *layers, size_t count,
                                   plat_layer_stream *ctx) {
  return begin("ExportLayerBegin", info, id, layers, count, ctx);
}

plat_hresult plat_ImportLayerNext(plat_layer_stream ctx, const char *name,
                                  const plat_file_basic_info *info) {
  WCHAR *wn;
  w32_file_basic_info fi;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, inext_fn, fn, "ImportLayerNext", NULL);
  if (!(wn = w32_wide(name, "file name", &hr))) return hr;
  if (info) {
    memset(&fi, 0, sizeof fi);
    fi.CreationTime.QuadPart = info->CreationTime;
    fi.LastAccessTime.QuadPart = info->LastAccessTime;
    fi.LastWriteTime.QuadPart = info->LastWriteTime;
    fi.ChangeTime.QuadPart = info->ChangeTime;
    fi.FileAttributes = info->FileAttributes;
  }
  hr = done(fn((HANDLE)ctx, wn, info ? &fi : NULL)); /* NULL info = tombstone */
  free(wn);
  return hr;
}

plat_hresult plat_ImportLayerWrite(plat_layer_stream ctx, const void *buf, uint32_t len) {
  W32_BIND(W32_VMCOMPUTE, iwrite_fn, fn, "ImportLayerWrite", NULL);
  return done(fn((HANDLE)ctx, (const BYTE *)buf, (DWORD)len));
}

plat_hresult plat_ImportLayerEnd(plat_layer_stream ctx) {
  W32_BIND(W32_VMCOMPUTE, end_fn, fn, "ImportLayerEnd", NULL);
  return done(fn((HANDLE)ctx));
}

plat_hresult plat_ExportLayerNext(plat_layer_stream ctx, char **name, plat_file_basic_info *info,
                                  int64_t *size, int *deleted) {
  PWSTR wn = NULL;
  w32_file_basic_info fi;
  LARGE_INTEGER sz;
  BOOL del = FALSE;
  HRESULT hr;
  *name = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, enext_fn, fn, "ExportLayerNext", NULL);
    memset(&fi, 0, sizeof fi);
    sz.QuadPart = 0;
    hr = fn((HANDLE)ctx, &wn, &fi, &sz, &del);
  }
  *name = w32_take(wn);
  if (FAILED(hr)) {
    if (hr != (HRESULT)PLAT_E_NO_MORE_FILES) w32_set_error_hr((plat_hresult)hr);
    return (plat_hresult)hr;
  }
  info->CreationTime = fi.CreationTime.QuadPart;
  info->LastAccessTime = fi.LastAccessTime.QuadPart;
  info->LastWriteTime = fi.LastWriteTime.QuadPart;
  info->ChangeTime = fi.ChangeTime.QuadPart;
  info->FileAttributes = fi.FileAttributes;
  *size = sz.QuadPart;
  *deleted = del != FALSE;
  return (plat_hresult)hr;
}

plat_hresult plat_ExportLayerRead(plat_layer_stream ctx, void *buf, uint32_t len, uint32_t *read) {
  DWORD n = 0;
  plat_hresult hr;
  W32_BIND(W32_VMCOMPUTE, eread_fn, fn, "ExportLayerRead", NULL);
  hr = done(fn((HANDLE)ctx, (BYTE *)buf, (DWORD)len, &n));
  *read = hr >= 0 ? n : 0;
  return hr;
}

plat_hresult plat_ExportLayerEnd(plat_layer_stream ctx) {
  W32_BIND(W32_VMCOMPUTE, end_fn, fn, "ExportLayerEnd", NULL);
  return done(fn((HANDLE)ctx));
}

/* The Linux service's OCI tar export; Windows layers leave through the
 * streaming Export* functions or the legacy folder instead. */
plat_hresult plat_ExportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count,
                                 const plat_progress *progress, uint64_t *size) {
  (void)info;
  (void)progress;
  (void)id;
  (void)tar_path;
  (void)layers;
  (void)count;
  *size = 0;
  w32_set_error_hr(PLAT_E_NOT_SUPPORTED);
  return PLAT_E_NOT_SUPPORTED;
}

/* The Linux service's OCI tar import; Windows layers come through the
 * streaming Import* functions or the legacy folder instead. */
plat_hresult plat_ImportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count,
                                 const plat_progress *progress, uint64_t *size, char **result) {
  (void)info;
  (void)progress;
  (void)id;
  (void)tar_path;
  (void)layers;
  (void)count;
  *size = 0;
  *result = w32_result_doc(PLAT_E_NOT_SUPPORTED,
                           "importing an OCI layer tar is not supported on Windows");
  return PLAT_E_NOT_SUPPORTED;
}
