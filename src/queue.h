/* Per-handle notification queues.  The platform calls back on its own
 * threads; the callback only copies the notification into the queue of the
 * handle it belongs to and signals.  Lua-side waits read the queue. */
#ifndef HCSSHIM_QUEUE_H
#define HCSSHIM_QUEUE_H

#include "platform.h"

typedef struct notif {
  uint32_t type;
  plat_hresult status;
  char *data;
  struct notif *next;
} notif;

typedef struct nqueue {
  plat_lock *lock;
  notif *head, *tail;
  int closed;
  uintptr_t id; /* the callback context: an id, never a pointer */
} nqueue;

typedef enum {
  NQ_OK = 0,       /* the expected notification arrived */
  NQ_TIMEOUT,      /* ErrTimeout */
  NQ_EXITED,       /* ErrUnexpectedContainerExit: the system exited first */
  NQ_DISCONNECTED, /* ErrUnexpectedProcessAbort: lost the compute service */
  NQ_CLOSED        /* ErrHandleClose */
} nq_result;

nqueue *nq_new(void);     /* registered; NULL on memory failure */
void nq_close(nqueue *q); /* wakes waiters; call before unregistering */
void nq_free(nqueue *q);  /* after the platform callback is unregistered */
/* Frees the registry when no queue is left (the module's state closes). */
void nq_shutdown(void);
/* The platform callback: context is the queue id. */
void nq_callback(uint32_t type, void *context, plat_hresult status, const char *data);
/* Waits for `expected`.  Completion notifications are consumed; exits and
 * disconnects stay queued so that every later waiter sees them.  timeout in
 * seconds, < 0 forever.  *status and *data (borrowed) describe the
 * notification that ended the wait. */
nq_result nq_wait(nqueue *q, uint32_t expected, double timeout, plat_hresult *status, char **data);
/* Non-blocking look: 1 if a notification of this type is queued. */
int nq_has(nqueue *q, uint32_t type, plat_hresult *status);

#endif
