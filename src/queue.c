/* Notification queues and the registry that maps callback contexts to them.
 * The context handed to the platform is an integer id looked up under a
 * global lock, as hcsshim does, so a callback that arrives late for a closed
 * handle finds nothing and is dropped instead of touching freed memory. */
#include <stdlib.h>
#include <string.h>

#include "queue.h"

static plat_lock *registry_lock;
static nqueue **registry;
static size_t registry_len;
static uintptr_t next_id = 1;

static int registry_init(void) {
  /* the module is opened before any callback can exist, and Lua states
   * that load it concurrently are not supported on one process */
  if (!registry_lock) registry_lock = plat_lock_new();
  return registry_lock ? 0 : -1;
}

nqueue *nq_new(void) {
  nqueue *q;
  size_t i;
  if (registry_init() != 0) return NULL;
  q = calloc(1, sizeof *q);
  if (!q) return NULL;
  q->lock = plat_lock_new();
  if (!q->lock) {
    free(q);
    return NULL;
  }
  plat_lock_enter(registry_lock);
  for (i = 0; i < registry_len && registry[i]; i++) {}
  if (i == registry_len) {
    size_t n = registry_len ? registry_len * 2 : 16;
    nqueue **r = realloc(registry, n * sizeof *r);
    if (!r) {
      plat_lock_leave(registry_lock);
      plat_lock_free(q->lock);
      free(q);
      return NULL;
    }
    memset(r + registry_len, 0, (n - registry_len) * sizeof *r);
    registry = r;
    registry_len = n;
  }
  q->id = next_id++;
  registry[i] = q;
  plat_lock_leave(registry_lock);
  return q;
}

void nq_close(nqueue *q) {
  plat_lock_enter(q->lock);
  q->closed = 1;
  plat_lock_signal(q->lock);
  plat_lock_leave(q->lock);
}

void nq_free(nqueue *q) {
  size_t i;
  notif *n, *next;
  plat_lock_enter(registry_lock);
  for (i = 0; i < registry_len; i++)
    if (registry[i] == q) registry[i] = NULL;
  plat_lock_leave(registry_lock);
  for (n = q->head; n; n = next) {
    next = n->next;
    free(n->data);
    free(n);
  }
  plat_lock_free(q->lock);
  free(q);
}

void nq_shutdown(void) {
  size_t i;
  if (!registry_lock) return;
  plat_lock_enter(registry_lock);
  for (i = 0; i < registry_len; i++)
    if (registry[i]) break;
  if (i < registry_len) {
    /* a handle outlives the module (another Lua state): keep it all */
    plat_lock_leave(registry_lock);
    return;
  }
  free(registry);
  registry = NULL;
  registry_len = 0;
  plat_lock_leave(registry_lock);
  plat_lock_free(registry_lock);
  registry_lock = NULL;
}

static int known_type(uint32_t type) {
  switch (type) {
  case PLAT_N_SYSTEM_EXITED:
  case PLAT_N_CREATE_COMPLETED:
  case PLAT_N_START_COMPLETED:
  case PLAT_N_PAUSE_COMPLETED:
  case PLAT_N_RESUME_COMPLETED:
  case PLAT_N_PROCESS_EXITED:
  case PLAT_N_SERVICE_DISCONNECT: return 1;
  default: return 0;
  }
}

void nq_callback(uint32_t type, void *context, plat_hresult status, const char *data) {
  uintptr_t id = (uintptr_t)context;
  notif *n;
  size_t i;
  /* v0.5.2 blocked the HCS thread forever on types it had no channel for;
   * we drop them */
  if (!known_type(type)) return;
  n = calloc(1, sizeof *n);
  if (!n) return;
  n->type = type;
  n->status = status;
  n->data = data ? strdup(data) : NULL;
  plat_lock_enter(registry_lock);
  for (i = 0; i < registry_len; i++) {
    nqueue *q = registry[i];
    if (q && q->id == id) {
      plat_lock_enter(q->lock);
      if (q->tail) q->tail->next = n;
      else q->head = n;
      q->tail = n;
      n = NULL;
      plat_lock_signal(q->lock);
      plat_lock_leave(q->lock);
      break;
    }
  }
  plat_lock_leave(registry_lock);
  if (n) {
    free(n->data);
    free(n);
  }
}

static notif *find(nqueue *q, uint32_t type, notif **prev) {
  notif *p = NULL, *n;
  for (n = q->head; n; p = n, n = n->next)
    if (n->type == type) {
      if (prev) *prev = p;
      return n;
    }
  return NULL;
}

static int sticky(uint32_t type) {
  return type == PLAT_N_SYSTEM_EXITED || type == PLAT_N_PROCESS_EXITED ||
         type == PLAT_N_SERVICE_DISCONNECT;
}

nq_result nq_wait(nqueue *q, uint32_t expected, double timeout, plat_hresult *status, char **data) {
  double deadline = timeout < 0 ? -1 : plat_monotime() + timeout;
  nq_result r;
  *status = 0;
  *data = NULL;
  plat_lock_enter(q->lock);
  for (;;) {
    notif *prev = NULL, *n;
    if (q->closed) {
      r = NQ_CLOSED;
      break;
    }
    n = find(q, expected, &prev);
    if (n) {
      *status = n->status;
      r = NQ_OK;
      if (!sticky(expected)) {
        /* a completion belongs to one operation: consume it */
        if (prev) prev->next = n->next;
        else q->head = n->next;
        if (q->tail == n) q->tail = prev;
        free(n->data);
        free(n);
      } else {
        *data = n->data;
      }
      break;
    }
    if ((n = find(q, PLAT_N_SYSTEM_EXITED, NULL)) != NULL) {
      *status = n->status;
      *data = n->data;
      r = NQ_EXITED;
      break;
    }
    if ((n = find(q, PLAT_N_SERVICE_DISCONNECT, NULL)) != NULL) {
      *status = n->status;
      r = NQ_DISCONNECTED;
      break;
    }
    if (deadline >= 0) {
      double left = deadline - plat_monotime();
      if (left <= 0) {
        r = NQ_TIMEOUT;
        break;
      }
      plat_lock_wait(q->lock, left);
    } else {
      plat_lock_wait(q->lock, -1);
    }
  }
  plat_lock_drain(q->lock);
  plat_lock_leave(q->lock);
  return r;
}

int nq_has(nqueue *q, uint32_t type, plat_hresult *status) {
  notif *n;
  plat_lock_enter(q->lock);
  n = find(q, type, NULL);
  if (n && status) *status = n->status;
  plat_lock_leave(q->lock);
  return n != NULL;
}
