/* Internals of the Windows backend: vmcompute.dll, ole32 and iphlpapi bound
 * lazily, UTF-8 <-> UTF-16 at the seam, the exact x64 struct layouts. */
#ifndef HCSSHIM_W32_H
#define HCSSHIM_W32_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stddef.h>

#include "platform.h"

/* ---- dll.c: lazy binding ---- */
typedef enum { W32_VMCOMPUTE = 0, W32_OLE32, W32_IPHLPAPI, W32_NDLLS } w32_dll;
/* The export `name` of the DLL, or NULL when the DLL or the export is
 * missing (the reason is then available from plat_unavailable(name)). */
FARPROC w32_proc(w32_dll dll, const char *name);
/* A missing export: records the not-supported message naming the function
 * as the thread's last error, fills *result (when given) with an HCS result
 * document carrying it, and returns ERROR_PROC_NOT_FOUND as an HRESULT. */
plat_hresult w32_missing(const char *name, char **result);
/* CoTaskMemFree through ole32 (once per callee-allocated pointer). */
void w32_cotask_free(void *p);

/* Resolves `fn` (a function pointer variable of the right type) or returns
 * the missing-export error from the calling plat_* function. */
#define W32_BIND(dll, type, fn, name, result)          \
  type fn = (type)(void (*)(void))w32_proc(dll, name); \
  if (!fn) return w32_missing(name, result)

/* ---- system.c: callback registration shared with process.c ---- */
plat_hresult w32_register(const char *name, HANDLE h, plat_notification_cb cb, void *context,
                          plat_callback *callback, int process);
plat_hresult w32_unregister(const char *name, plat_callback callback);

/* ---- utf.c ---- */
/* UTF-8 -> new UTF-16 string (free with free()).  NULL on invalid UTF-8 or
 * memory failure; *hr then says which (E_INVALIDARG with a last-error
 * message naming `what`, or E_OUTOFMEMORY). */
WCHAR *w32_wide(const char *s, const char *what, plat_hresult *hr);
/* A string argument failed to convert: *result (when given) gets a result
 * document with the message ("invalid UTF-8 in ..."); returns hr. */
plat_hresult w32_arg_fail(plat_hresult hr, char **result);
/* UTF-16 -> new UTF-8 string (free with free()); NULL in -> NULL out. */
char *w32_utf8(const WCHAR *w);
/* A callee-allocated UTF-16 string -> our UTF-8 copy; the original is
 * freed with CoTaskMemFree exactly once.  NULL in -> NULL out. */
char *w32_take(WCHAR *w);
/* The thread's last-error message (plat_last_error). */
void w32_set_error(const char *msg);
void w32_set_error_hr(plat_hresult hr);
/* An HCS result document {"Error":hr,"ErrorMessage":msg} (malloc'd). */
char *w32_result_doc(plat_hresult hr, const char *msg);

/* ---- layer structs: exact x64 layouts (hcs-api.md 1.3) ---- */
typedef struct w32_driver_info {
  int Flavour; /* enum GraphDriverType, 32 bits */
  LPCWSTR HomeDir;
} w32_driver_info;

typedef struct w32_layer_descriptor {
  GUID LayerId;
  ULONG Flags; /* {Reserved:31, Dirty:1} */
  PCWSTR Path;
} w32_layer_descriptor;

typedef struct w32_file_basic_info {
  LARGE_INTEGER CreationTime;
  LARGE_INTEGER LastAccessTime;
  LARGE_INTEGER LastWriteTime;
  LARGE_INTEGER ChangeTime;
  DWORD FileAttributes;
} w32_file_basic_info;

typedef struct w32_process_information {
  DWORD ProcessId;
  DWORD Reserved;
  HANDLE StdInput;
  HANDLE StdOutput;
  HANDLE StdError;
} w32_process_information;

/* A compile-time check in C89/C99 form: MSVC's default C mode and
 * LuaRocks' flags have no _Static_assert.  A false condition gives an array
 * of negative size; the typedef name says which layout broke. */
#define W32_STATIC_ASSERT(cond, name) typedef char w32_layout_##name[(cond) ? 1 : -1]

#ifdef _WIN64
W32_STATIC_ASSERT(sizeof(w32_driver_info) == 16, driver_info_is_16_bytes);
W32_STATIC_ASSERT(offsetof(w32_driver_info, HomeDir) == 8, driver_info_homedir_at_8);
W32_STATIC_ASSERT(sizeof(w32_layer_descriptor) == 32, layer_descriptor_is_32_bytes);
W32_STATIC_ASSERT(offsetof(w32_layer_descriptor, Flags) == 16, layer_descriptor_flags_at_16);
W32_STATIC_ASSERT(offsetof(w32_layer_descriptor, Path) == 24, layer_descriptor_path_at_24);
W32_STATIC_ASSERT(sizeof(w32_file_basic_info) == 40, file_basic_info_is_40_bytes);
W32_STATIC_ASSERT(offsetof(w32_file_basic_info, FileAttributes) == 32, file_attributes_at_32);
W32_STATIC_ASSERT(sizeof(w32_process_information) == 32, process_information_is_32_bytes);
W32_STATIC_ASSERT(offsetof(w32_process_information, StdInput) == 8, stdinput_at_8);
W32_STATIC_ASSERT(offsetof(w32_process_information, StdError) == 24, stderror_at_24);
#endif
W32_STATIC_ASSERT(sizeof(GUID) == 16, guid_is_16_bytes);

/* Marshalled DriverInfo + descriptors (layer.c) */
typedef struct w32_layer_args {
  w32_driver_info info;
  WCHAR *home;
  w32_layer_descriptor *descs;
  WCHAR **paths;
  size_t count;
} w32_layer_args;
plat_hresult w32_layer_args_init(w32_layer_args *a, const plat_driver_info *info,
                                 const plat_layer_descriptor *layers, size_t count);
void w32_layer_args_free(w32_layer_args *a);

/* ---- bstream.c: Win32 backup stream records (hcs-api.md 7.2) ---- */
#define W32_BACKUP_DATA 1
#define W32_BACKUP_EA_DATA 2
#define W32_BACKUP_SECURITY_DATA 3
#define W32_BACKUP_ALTERNATE_DATA 4
#define W32_BACKUP_REPARSE_DATA 8
/* a range of a sparse file: 8 bytes of file offset, then its bytes */
#define W32_BACKUP_SPARSE_BLOCK 9
/* dwStreamAttributes: the stream is sparse (its data in sparse blocks) */
#define W32_STREAM_SPARSE_ATTRIBUTE 8

/* Where records go: WriteFile on h, or BackupWrite on h (backup != 0,
 * security processed, ctx its context). */
typedef struct w32_sink {
  HANDLE h;
  int backup;
  void *ctx;
} w32_sink;
/* 0, or -1 with the Win32 error in GetLastError() */
int w32_sink_write(w32_sink *s, const void *p, size_t n);
/* ends a BackupWrite context and closes the handle (both once) */
void w32_sink_close(w32_sink *s);
/* a record header (stream id, attributes, data size, UTF-16 name or NULL) */
int w32_bs_header(w32_sink *s, uint32_t id, uint32_t attrs, uint64_t size, const WCHAR *name);
/* a whole record: header and data */
int w32_bs_record(w32_sink *s, uint32_t id, const void *data, size_t n);

typedef struct w32_ea {
  const char *name;
  const void *value;
  size_t size;
} w32_ea;
/* FILE_FULL_EA_INFORMATION chain of n EAs (malloc'd; NULL: a name over 255
 * bytes, a value over 65535, or no memory) */
BYTE *w32_ea_encode(const w32_ea *eas, size_t n, size_t *len);
/* REPARSE_DATA_BUFFER of a symlink or mount point to target (malloc'd) */
BYTE *w32_reparse_encode(const WCHAR *target, int mount_point, size_t *len);

/* A record header read from h, whose stream has `left` bytes from here:
 * 1 (r filled, the file positioned at its data), 0 at the end (left 0),
 * -1 for a truncated or malformed record. */
typedef struct w32_bs_rec {
  uint32_t id, attrs, name_bytes;
  uint64_t size, total; /* data bytes; header, name and data */
  WCHAR name[256];      /* NUL-terminated */
} w32_bs_rec;
int w32_bs_next(HANDLE h, uint64_t left, w32_bs_rec *r);
/* WIN32_STREAM_ID up to cStreamName: 20 bytes, packed, little-endian */
#define W32_BS_HEADER 20
void w32_bs_pack(BYTE *h, uint32_t id, uint32_t attrs, uint64_t size, uint32_t name_bytes);
/* r's id, attrs, size and name_bytes from a packed header */
void w32_bs_unpack(const BYTE *h, w32_bs_rec *r);
/* little-endian fields of the records (and of EAs, reparse buffers) */
uint32_t w32_get32(const BYTE *p);
unsigned w32_get16(const BYTE *p);
uint64_t w32_get64(const BYTE *p);

#endif
