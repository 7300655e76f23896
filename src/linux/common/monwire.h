/* The monitor protocol: fixed binary records over SOCK_SEQPACKET at
 * <sysdir>/monitor.sock, descriptors as SCM_RIGHTS, so that the monitor
 * needs no JSON library.  A datagram is one record; `text` (len bytes, no
 * NUL) follows it: the OCI process (JSON, passed through unparsed) for
 * exec, the endpoint id for network, the message of an error reply.
 * Events ({kind MON_EVENT, pid, status}) follow a subscribe: pid 0 = the
 * system (status an HRESULT), else status is the raw wait status.
 * A reply carries the seq of its request: a runtime step (start, pause,
 * resume, exec) answers when it ends, after later requests of the same
 * connection (a terminate) were answered, and a client that stopped
 * waiting for a reply must know a late one for what it is.  Events have
 * seq 0. */
#ifndef HCSSHIM_LINUX_COMMON_MONWIRE_H
#define HCSSHIM_LINUX_COMMON_MONWIRE_H

#include <stdint.h>

enum mon_op {
  MON_OPEN = 1,
  MON_STATE,
  MON_START,
  MON_PAUSE,
  MON_RESUME,
  MON_SHUTDOWN,
  MON_TERMINATE,
  MON_EXEC,
  MON_SUBSCRIBE,
  MON_NETWORK,
  MON_PROC,
  MON_SIGNAL,
  MON_RESIZE,
  MON_CLOSESTDIN,
  MON_GETPTY,
  MON_CREATE /* the monitor's own first step (crun create); never a request */
};

/* The descriptors a monitor starts with (compute/spawn.c): the creator's
 * report pipe, the system's lock and the listening monitor.sock. */
enum mon_fd { MON_FD_REPORT = 3, MON_FD_LOCK, MON_FD_LISTEN, MON_FD_END };

/* request flags */
#define MON_F_HANDLE 1u /* open: this connection counts as a handle */
#define MON_F_IN 2u     /* exec: stdio pipes passed (in this order) */
#define MON_F_OUT 4u
#define MON_F_ERR 8u
#define MON_F_CONSOLE 16u
#define MON_F_ADD 32u /* network: attach (else detach) */
/* open: the creator's own handle, which takes over the one the monitor
 * held for it from the start (as HcsCreateComputeSystem's handle exists
 * from the create on) */
#define MON_F_CREATOR 64u

enum mon_state { MON_CREATED, MON_RUNNING, MON_PAUSED, MON_STOPPED };
enum mon_exit { MON_EXIT_UNEXPECTED, MON_EXIT_SHUTDOWN, MON_EXIT_TERMINATED };
enum mon_kind { MON_REPLY = 1, MON_EVENT = 2 };

typedef struct mon_req {
  uint64_t start; /* process ops: the start time the handle knows (0: any) */
  uint32_t seq;
  int32_t op, pid, signal;
  uint32_t flags;
  uint32_t rows, cols;
  uint32_t len;
} mon_req;

typedef struct mon_rep {
  uint32_t seq;
  int32_t kind;
  int32_t hr; /* >= 0: ok */
  int32_t pid, exited, status;
  int32_t state, init_pid, exit_type, exit_hr;
  int64_t created_sec, created_nsec, started_sec, started_nsec;
  int64_t oom_kills; /* state: the system's OOM kills so far */
  int32_t oom;       /* proc: killed by the OOM killer */
  uint64_t start;    /* proc, exec: the process's start time (identity) */
  uint32_t len;
} mon_rep;

#endif
