/* Client side of the monitor protocol; handle types of the library. */
#ifndef HCSSHIM_LINUX_MONCLIENT_H
#define HCSSHIM_LINUX_MONCLIENT_H

#include <pthread.h>

#include "linux/compute/hcs_internal.h"

typedef struct hl_system {
  char *id;
  int fd;             /* this handle's connection: counts as an open handle */
  pthread_mutex_t mu; /* one request at a time on fd */
  json_t *meta;
} hl_system;

typedef struct hl_process {
  char *id;
  uint32_t pid;
  uint64_t start; /* with pid, the process's identity (monitor/state.c) */
  int fd;
  pthread_mutex_t mu;
} hl_process;

/* Every monitor exchange (connect, send, receive) has a deadline: the
 * caller's (plat_set_timeout, for this thread's calls until reset; < 0
 * resets, infinity = none), else this much per exchange (hcsshim's
 * default of 4 minutes). */
#define HL_DEFAULT_TIMEOUT_MS (240 * 1000)
/* Seconds a system folder may be without its lock file before it counts
 * as a killed creator's (its creator makes the lock right after mkdir). */
#define HL_NO_LOCK_GRACE 2.0
void hl_set_timeout(double seconds);
/* The deadline of this thread's next exchange; *seconds what it allows. */
int64_t hl_deadline(double *seconds);
/* A terminate to the monitor at sysdir, whatever its outcome: a create
 * that outlived its deadline is cut short so.  0 once sent, else -errno
 * (a monitor not listening yet refuses the connection). */
int hl_mon_cut_short(const char *sysdir, int64_t deadline);
/* Reaps system id's folder if nobody holds it (no creator, no monitor):
 * 1 if it was stale and is gone. */
int hl_reap_stale(const char *id);
/* Removes pending system folder `name` (create's make_dir, a name in
 * <runtime root>/systems starting ".new-") when its maker is gone. */
void hl_sweep_pending(const char *name);
/* Puts dir/lock in place already locked (a locked anonymous file linked
 * in): the locked fd, or -EEXIST when dir/lock exists (another process
 * got there first), or -errno.  No window in which a live holder looks
 * dead, and no name left behind by a holder killed half-way. */
int hl_lock_claim(const char *dir);
plat_hresult hl_mon_connect(const char *id, int *fd, char **result);
plat_hresult hl_mon_call(int fd, pthread_mutex_t *mu, const char *id, json_t *req, const int *fds,
                         int nfds, json_t **reply, int *rfds, int *nrfds, char **result);
/* A monitor record as JSON: a reply to op (a mon_op; -1 for the create
 * report), an error {"Error","ErrorMessage"} or an event. */
json_t *hl_mon_decode(const void *data, size_t n, int op);
/* The next record on fd (NULL + errno, 0 on EOF). */
json_t *hl_mon_recv(int fd, int *fds, int *nfds, int op);
/* Starts the monitor of a new system (its bundle and meta.json are
 * written) and returns its create report; NULL + *why on failure.  *cut:
 * 0, or when the report did not come by the deadline of this thread's
 * call, the one deadline (now + HL_CUT_SHORT_MS) for cutting the create
 * short and all that follows (a terminate; the report is then its
 * outcome). */
#define HL_CUT_SHORT_MS (30 * 1000)
json_t *hl_spawn_monitor(const char *id, const char *sysdir, int lockfd, json_t *meta, char **why,
                         int64_t *cut);
json_t *hl_read_meta(const char *id); /* the system's meta.json, or NULL */
/* A new handle: a connection opened with Handle=true; creator: the
 * creator's own, right after its create (it takes over the handle the
 * monitor held for it). */
plat_hresult hl_open_handle(const char *id, int creator, hl_system **out, char **result);
/* A process handle on connection fd (owned from here on success). */
plat_hresult hl_new_process_handle(const char *id, uint32_t pid, uint64_t start, int fd,
                                   hl_process **out, char **result);
/* Takes ownership of a pty master; returns a socket that reads its output
 * and ends with an ordinary EOF when the process is gone, or -1. */
int hl_pty_reader(int master);
/* HcsGetComputeSystemProperties and HcsEnumerateComputeSystems */
plat_hresult hl_system_properties(hl_system *h, const char *query, char **properties,
                                  char **result);
plat_hresult hl_enumerate_systems(const char *query, char **systems, char **result);
/* one request on a fresh connection */
plat_hresult hl_mon_simple(const char *id, json_t *req, json_t **reply, char **result);

#endif
