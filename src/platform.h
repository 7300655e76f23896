/*
 * The seam between the Lua binding and the platform: the vmcompute.dll API
 * (HCS v1, HNS, layer functions) restated in C with UTF-8 strings instead of
 * UTF-16.  Everything above this header is one code path on every platform.
 *
 *   src/win32/  marshals each call to vmcompute.dll / ole32 / iphlpapi.
 *   src/linux/  is the Linux host compute service (crun, overlayfs, ...).
 *
 * Rules shared by both sides (they are vmcompute's own rules):
 *   - Every function returns an HRESULT; < 0 is failure.
 *   - "result" out-parameters receive a heap string (a JSON HCS result
 *     document, or NULL) that the caller frees with plat_free().  Every other
 *     char** out-parameter is freed the same way.
 *   - Callbacks run on a platform thread.  They must only copy and enqueue;
 *     they never touch a lua_State.  Unregistering blocks until an in-flight
 *     callback has returned (unless called from that callback).
 *   - Stdio handles in plat_process_info are OS handles the caller owns:
 *     file descriptors on Linux, HANDLEs on Windows; PLAT_NO_HANDLE if absent.
 */
#ifndef HCSSHIM_PLATFORM_H
#define HCSSHIM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef int32_t plat_hresult;
typedef void *plat_system;   /* HCS_SYSTEM   */
typedef void *plat_process;  /* HCS_PROCESS  */
typedef void *plat_callback; /* HCS_CALLBACK */
typedef intptr_t plat_handle;
#define PLAT_NO_HANDLE ((plat_handle)-1)

/* HRESULTs, with the values vmcompute (0xC037xxxx) and Win32 use.  The one
 * source of these values: src/constants.c hands them to Lua as
 * core.hresult (names without the PLAT_ prefix). */
#define PLAT_S_OK ((plat_hresult)0)
#define PLAT_E_NOTIMPL ((plat_hresult)0x80004001)
#define PLAT_E_INVALIDARG ((plat_hresult)0x80070057)
#define PLAT_E_OUTOFMEMORY ((plat_hresult)0x8007000E)
#define PLAT_E_ACCESSDENIED ((plat_hresult)0x80070005)
#define PLAT_E_FAIL ((plat_hresult)0x80004005)
#define PLAT_E_ABORT ((plat_hresult)0x80004004) /* cancelled by the caller */
#define PLAT_E_FILE_NOT_FOUND ((plat_hresult)0x80070002)
#define PLAT_E_PATH_NOT_FOUND ((plat_hresult)0x80070003)
#define PLAT_E_INVALID_HANDLE ((plat_hresult)0x80070006)
#define PLAT_E_INVALID_DATA ((plat_hresult)0x8007000D)
#define PLAT_E_NOT_SUPPORTED ((plat_hresult)0x80070032)
#define PLAT_E_ALREADY_EXISTS ((plat_hresult)0x800700B7)
#define PLAT_E_DIR_NOT_EMPTY ((plat_hresult)0x80070091)
#define PLAT_E_BUSY ((plat_hresult)0x800700AA)
#define PLAT_E_NOT_FOUND ((plat_hresult)0x80070490)
#define PLAT_E_PROC_NOT_FOUND ((plat_hresult)0x8007007F)
#define PLAT_E_NO_MORE_FILES ((plat_hresult)0x80070012)
#define PLAT_E_BAD_FORMAT ((plat_hresult)0x8007000B) /* bad/hostile archive */
#define PLAT_E_DISK_FULL ((plat_hresult)0x80070070)
#define PLAT_E_CRC ((plat_hresult)0x80070017) /* a digest mismatch */
#define PLAT_E_TIMEOUT ((plat_hresult)0x800705B4)
#define PLAT_E_NOT_ALL_ASSIGNED ((plat_hresult)0x80070514) /* token privileges */
#define PLAT_E_NO_SUCH_PRIVILEGE ((plat_hresult)0x80070521)
#define PLAT_E_PRIVILEGE_NOT_HELD ((plat_hresult)0x80070522)
#define PLAT_STATUS_CONTROL_C_EXIT ((plat_hresult)0xC000013A) /* an exit code */
#define PLAT_HCS_E_UNKNOWN_MESSAGE ((plat_hresult)0xC037010B)
#define PLAT_HCS_E_INVALID_JSON ((plat_hresult)0xC037010D)
#define PLAT_HCS_E_SYSTEM_NOT_FOUND ((plat_hresult)0xC037010E)
#define PLAT_HCS_E_SYSTEM_ALREADY_EXISTS ((plat_hresult)0xC037010F)
#define PLAT_HCS_E_SYSTEM_ALREADY_STOPPED ((plat_hresult)0xC0370110)
/* winerror.h's own form of the same code (hcsshim's are the 0xC037 ones) */
#define PLAT_HCS_E_SYSTEM_ALREADY_STOPPED_SDK ((plat_hresult)0x80370110)
#define PLAT_HCS_E_OPERATION_PENDING ((plat_hresult)0xC0370103)
#define PLAT_HCS_E_INVALID_STATE ((plat_hresult)0xC0370105)
#define PLAT_HCS_E_UNEXPECTED_EXIT ((plat_hresult)0xC0370106)
#define PLAT_HCS_E_TERMINATED ((plat_hresult)0xC0370107)
#define PLAT_HCS_E_CONNECTION_CLOSED ((plat_hresult)0xC037010A)
#define PLAT_HCS_E_PROCESS_ALREADY_STOPPED ((plat_hresult)0x8037011F)

/* Notification types (vmcompute numbering, hcs-api.md section 2); Lua reads
 * them as core.notification (src/constants.c). */
#define PLAT_N_INVALID 0x00000000u
#define PLAT_N_SYSTEM_EXITED 0x00000001u
#define PLAT_N_CREATE_COMPLETED 0x00000002u
#define PLAT_N_START_COMPLETED 0x00000003u
#define PLAT_N_PAUSE_COMPLETED 0x00000004u
#define PLAT_N_RESUME_COMPLETED 0x00000005u
#define PLAT_N_PROCESS_EXITED 0x00010000u
#define PLAT_N_SERVICE_DISCONNECT 0x01000000u

typedef void (*plat_notification_cb)(uint32_t type, void *context, plat_hresult status,
                                     const char *data);

/* HCS_PROCESS_INFORMATION */
typedef struct plat_process_info {
  uint32_t ProcessId;
  plat_handle StdInput, StdOutput, StdError;
} plat_process_info;

/* DriverInfo */
typedef struct plat_driver_info {
  int Flavour;         /* 0 DiffDriver, 1 FilterDriver */
  const char *HomeDir; /* UTF-8 */
} plat_driver_info;

/* WC_LAYER_DESCRIPTOR */
typedef struct plat_layer_descriptor {
  uint8_t LayerId[16]; /* GUID, Windows byte layout */
  uint32_t Flags;
  const char *Path; /* UTF-8 */
} plat_layer_descriptor;

void plat_free(void *p); /* CoTaskMemFree of every returned string */

/* A message describing the calling thread's last failure of a function
 * that has no result document (layer functions, NameToGuid), or NULL.
 * Windows: FormatMessageW text of the HRESULT; Linux: the service's own
 * specific message (which path, which entry, why). */
const char *plat_last_error(void);

/* Availability: NULL when the platform can call the named function, else a
 * static message naming why not (a missing vmcompute export, for example). */
const char *plat_unavailable(const char *function);

/* Releases what the platform keeps for the whole process (open stores,
 * loaded libraries) once the last Lua state using the module closes. */
void plat_shutdown(void);

/* The timeout of the calls this thread makes from now on, in seconds
 * (< 0: back to the platform's default; HUGE_VAL: none), until the next
 * call of this.  HCS's functions take none: on Windows they return
 * HCS_E_OPERATION_PENDING and the caller's wait for the completion has the
 * timeout, so this does nothing there.  The Linux service answers
 * synchronously; past the deadline a call gives up with PLAT_E_TIMEOUT
 * and the handle stays usable (src/linux/compute/monclient.c). */
void plat_set_timeout(double seconds);

/* Service options ("RuntimeRoot", "DataRoot", "CgroupParent" on Linux),
 * settable only before the service first uses them.  Windows has none. */
plat_hresult plat_set_option(const char *name, const char *value);

/* ---- compute systems (vmcompute Hcs* functions) ---- */
plat_hresult plat_HcsEnumerateComputeSystems(const char *query, char **systems, char **result);
plat_hresult plat_HcsCreateComputeSystem(const char *id, const char *configuration,
                                         plat_system *system, char **result);
plat_hresult plat_HcsOpenComputeSystem(const char *id, plat_system *system, char **result);
plat_hresult plat_HcsCloseComputeSystem(plat_system system);
plat_hresult plat_HcsStartComputeSystem(plat_system system, const char *options, char **result);
plat_hresult plat_HcsShutdownComputeSystem(plat_system system, const char *options, char **result);
plat_hresult plat_HcsTerminateComputeSystem(plat_system system, const char *options, char **result);
plat_hresult plat_HcsPauseComputeSystem(plat_system system, const char *options, char **result);
plat_hresult plat_HcsResumeComputeSystem(plat_system system, const char *options, char **result);
plat_hresult plat_HcsGetComputeSystemProperties(plat_system system, const char *query,
                                                char **properties, char **result);
plat_hresult plat_HcsModifyComputeSystem(plat_system system, const char *configuration,
                                         char **result);
plat_hresult plat_HcsRegisterComputeSystemCallback(plat_system system, plat_notification_cb cb,
                                                   void *context, plat_callback *callback);
plat_hresult plat_HcsUnregisterComputeSystemCallback(plat_callback callback);
plat_hresult plat_HcsGetServiceProperties(const char *query, char **properties, char **result);

/* ---- processes ---- */
plat_hresult plat_HcsCreateProcess(plat_system system, const char *parameters,
                                   plat_process_info *info, plat_process *process, char **result);
plat_hresult plat_HcsOpenProcess(plat_system system, uint32_t pid, plat_process *process,
                                 char **result);
plat_hresult plat_HcsCloseProcess(plat_process process);
plat_hresult plat_HcsTerminateProcess(plat_process process, char **result);
/* HcsSignalProcess (v0.7.12+); options is {"Signal": n} on Linux */
plat_hresult plat_HcsSignalProcess(plat_process process, const char *options, char **result);
plat_hresult plat_HcsGetProcessInfo(plat_process process, plat_process_info *info, char **result);
plat_hresult plat_HcsGetProcessProperties(plat_process process, char **properties, char **result);
plat_hresult plat_HcsModifyProcess(plat_process process, const char *settings, char **result);
plat_hresult plat_HcsRegisterProcessCallback(plat_process process, plat_notification_cb cb,
                                             void *context, plat_callback *callback);
plat_hresult plat_HcsUnregisterProcessCallback(plat_callback callback);

/* ---- HNS ---- */
plat_hresult plat_HNSCall(const char *method, const char *path, const char *request,
                          char **response);

/* ---- layers ---- */
plat_hresult plat_ActivateLayer(const plat_driver_info *info, const char *id);
plat_hresult plat_CreateLayer(const plat_driver_info *info, const char *id, const char *parent);
plat_hresult plat_CreateSandboxLayer(const plat_driver_info *info, const char *id,
                                     const char *parent, const plat_layer_descriptor *layers,
                                     size_t count);
plat_hresult plat_ExpandSandboxSize(const plat_driver_info *info, const char *id, uint64_t size);
plat_hresult plat_DeactivateLayer(const plat_driver_info *info, const char *id);
plat_hresult plat_DestroyLayer(const plat_driver_info *info, const char *id);
plat_hresult plat_GetLayerMountPath(const plat_driver_info *info, const char *id, size_t *length,
                                    char *buffer);
plat_hresult plat_GetBaseImages(char **buffer);
plat_hresult plat_LayerExists(const plat_driver_info *info, const char *id, int *exists);
plat_hresult plat_NameToGuid(const char *name, uint8_t guid[16]);
plat_hresult plat_PrepareLayer(const plat_driver_info *info, const char *id,
                               const plat_layer_descriptor *layers, size_t count);
plat_hresult plat_UnprepareLayer(const plat_driver_info *info, const char *id);

/* Progress of a layer tar import or export, reported on the calling
 * thread (so a binding may call its language from it): `bytes` of the tar
 * read or written so far and `entries` done.  A nonzero return cancels the
 * call, which fails with PLAT_E_ABORT and rolls back as any failure does.
 * The callback may run the binding's language: an implementation copies
 * what it needs of its string arguments before the first report (a binding
 * keeps them alive, but a callback may drop the caller's references). */
typedef struct plat_progress {
  int (*report)(void *ctx, uint64_t bytes, uint64_t entries);
  void *ctx;
} plat_progress;

/* Linux addition: import an OCI layer tar (libarchive) into a new read-only
 * layer `id` whose parents are `layers`.  *size receives the sum of regular
 * file sizes (bytes).  On failure nothing of the layer is left behind and
 * *result carries a result document naming the offending entry.  progress
 * may be NULL. */
plat_hresult plat_ImportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count,
                                 const plat_progress *progress, uint64_t *size, char **result);

/* Linux addition: the layer's diff (a sandbox's changes, a read-only
 * layer's contents) as an OCI layer tar: overlay whiteouts become
 * ".wh.<name>", opaque directories ".wh..wh..opq"; deterministic (sorted,
 * stable headers).  tar_path is replaced atomically; *size receives the
 * bytes of regular file data.  The parents are checked, not read.  progress
 * may be NULL. */
plat_hresult plat_ExportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count,
                                 const plat_progress *progress, uint64_t *size);

/* CopyLayer; Linux: a new read-only layer dst_id holding src_id's diff
 * (a sandbox's changes become a layer), parents `layers`. */
plat_hresult plat_CopyLayer(const plat_driver_info *info, const char *src_id, const char *dst_id,
                            const plat_layer_descriptor *layers, size_t count);

/* ---- functions vmcompute.dll / iphlpapi have that the Linux host compute
 * service does not: Linux returns PLAT_E_NOT_SUPPORTED (src/linux/
 * win_only.c).  Windows binds them in src/win32/. ---- */
plat_hresult plat_HcsModifyServiceSettings(const char *settings, char **result);
/* ExportLayer/ImportLayer: the legacy transport folder (hcs-api.md 7.1) */
plat_hresult plat_ExportLayer(const plat_driver_info *info, const char *id, const char *folder,
                              const plat_layer_descriptor *layers, size_t count);
plat_hresult plat_ImportLayer(const plat_driver_info *info, const char *id, const char *folder,
                              const plat_layer_descriptor *layers, size_t count);
plat_hresult plat_ProcessBaseImage(const char *path);
plat_hresult plat_ProcessUtilityImage(const char *path);

/* FILE_BASIC_INFO (times in 100 ns since 1601-01-01 UTC) */
typedef struct plat_file_basic_info {
  int64_t CreationTime, LastAccessTime, LastWriteTime, ChangeTime;
  uint32_t FileAttributes;
} plat_file_basic_info;
typedef void *plat_layer_stream;
/* Streaming import: names start with "\"; info NULL = tombstone (delete);
 * data is a Win32 backup stream.  End must be checked. */
plat_hresult plat_ImportLayerBegin(const plat_driver_info *info, const char *id,
                                   const plat_layer_descriptor *layers, size_t count,
                                   plat_layer_stream *ctx);
plat_hresult plat_ImportLayerNext(plat_layer_stream ctx, const char *name,
                                  const plat_file_basic_info *info);
plat_hresult plat_ImportLayerWrite(plat_layer_stream ctx, const void *buf, uint32_t len);
/* hcsshim's LayerWriter.AddLink (no vmcompute export): name becomes a hard
 * link of target, a file added before or of a parent layer */
plat_hresult plat_ImportLayerLink(plat_layer_stream ctx, const char *name, const char *target);
plat_hresult plat_ImportLayerEnd(plat_layer_stream ctx);
/* Streaming export: Next gives PLAT_E_NO_MORE_FILES at the end; *name is
 * freed with plat_free; Read's *read == 0 ends the current file. */
plat_hresult plat_ExportLayerBegin(const plat_driver_info *info, const char *id,
                                   const plat_layer_descriptor *layers, size_t count,
                                   plat_layer_stream *ctx);
plat_hresult plat_ExportLayerNext(plat_layer_stream ctx, char **name, plat_file_basic_info *info,
                                  int64_t *size, int *deleted);
plat_hresult plat_ExportLayerRead(plat_layer_stream ctx, void *buf, uint32_t len, uint32_t *read);
plat_hresult plat_ExportLayerEnd(plat_layer_stream ctx);
/* iphlpapi: network compartment of the calling thread */
plat_hresult plat_SetCurrentThreadCompartmentId(uint32_t compartment);
#ifdef _WIN32
/* Switches the named privileges ("SeBackupPrivilege", ...) on in the
 * process token (go-winio EnableProcessPrivileges).  Windows only: Linux
 * has no token privileges, and the core offers no such function there. */
plat_hresult plat_EnableProcessPrivileges(const char *const *names, size_t count);
#endif

/* ---- helpers the core needs from the OS ---- */
#ifdef _WIN32
/* Windows: pushes stdin, stdout and stderr as the module's own file
 * objects (src/win32/stdio.c; nil for PLAT_NO_HANDLE), which own the
 * handles; on failure every handle is closed and a Lua error raised. */
struct lua_State;
void plat_push_stdio(struct lua_State *L, const plat_handle h[3]);
/* For core.read_ready/core.fileno: the stdio object at idx (raises when
 * it is none or closed); whether a read will not block; a non-blocking
 * read (>0 bytes, 0 at the end, -1 nothing yet); its HANDLE's value. */
void *plat_stdio_check(struct lua_State *L, int idx);
int plat_stdio_ready(void *f);
long plat_stdio_read_some(void *f, char *buf, size_t len);
/* Writes what the pipe takes within timeout_ms (a write that is still
 * pending then is cancelled): the bytes written (maybe 0), or -1 with the
 * Win32 error in *error (ERROR_NO_DATA / ERROR_BROKEN_PIPE: the reader
 * is gone). */
long plat_stdio_write_some(void *f, const char *buf, size_t len, unsigned long timeout_ms,
                           unsigned long *error);
long long plat_stdio_handle(void *f);
#else
/* Wrap an owned stdio handle in a FILE* ("r" or "w"); the FILE owns it. */
FILE *plat_handle_fdopen(plat_handle h, const char *mode);
#endif
void plat_handle_close(plat_handle h);
/* Cryptographic random bytes. */
int plat_random(void *buf, size_t n);

/* Locked queue primitives for notification queues. */
typedef struct plat_lock plat_lock;
plat_lock *plat_lock_new(void);
void plat_lock_free(plat_lock *l);
void plat_lock_enter(plat_lock *l);
void plat_lock_leave(plat_lock *l);
void plat_lock_signal(plat_lock *l); /* wake waiters; call while held */
/* Wait while held; timeout in seconds (< 0 = forever); returns 0 if signalled,
 * 1 on timeout.  Spurious wake-ups are possible. */
int plat_lock_wait(plat_lock *l, double timeout);
/* A descriptor that becomes readable after plat_lock_signal (event loops);
 * -1 where the platform has none. */
intptr_t plat_lock_pollfd(plat_lock *l);
void plat_lock_drain(plat_lock *l);
double plat_monotime(void);

#endif
