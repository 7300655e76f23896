/* Notification callbacks: one thread per registration, subscribed to the
 * system's monitor.  The thread only calls cb (which only enqueues). */
#include "linux/compute/monclient.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct hl_cb {
  int fd;
  pthread_t th;
  plat_notification_cb cb;
  void *ctx;
  int pid;
  atomic_int stop, detached;
} hl_cb;

static void *cb_thread(void *arg) {
  hl_cb *c = arg;
  for (;;) {
    json_t *ev = hl_mon_recv(c->fd, NULL, NULL, 0);
    if (!ev) {
      if (!atomic_load(&c->stop))
        c->cb(PLAT_N_SERVICE_DISCONNECT, c->ctx, PLAT_HCS_E_CONNECTION_CLOSED, NULL);
      break;
    }
    if (strcmp(cmn_str(ev, "Event") ? cmn_str(ev, "Event") : "", "exit") == 0 &&
        !atomic_load(&c->stop)) {
      if (c->pid) c->cb(PLAT_N_PROCESS_EXITED, c->ctx, PLAT_S_OK, NULL);
      else
        c->cb(PLAT_N_SYSTEM_EXITED, c->ctx, (plat_hresult)json_integer_value(cmn_get(ev, "Status")),
              NULL);
    }
    json_decref(ev);
    if (atomic_load(&c->stop)) break;
  }
  if (atomic_load(&c->detached)) {
    /* unregistered from inside the callback: nobody joins us */
    close(c->fd);
    free(c);
  }
  return NULL;
}

static plat_hresult do_register(const char *id, int pid, uint64_t start, plat_notification_cb cb,
                                void *ctx, plat_callback *out) {
  hl_cb *c;
  json_t *req;
  plat_hresult hr;
  int fd;
  *out = NULL;
  if (!cb) return PLAT_E_INVALIDARG;
  if ((hr = hl_mon_connect(id, &fd, NULL)) < 0) return hr;
  req = json_pack("{s:s,s:i,s:I}", "op", "subscribe", "Pid", pid, "Start", (json_int_t)start);
  hr = hl_mon_call(fd, NULL, id, req, NULL, 0, NULL, NULL, NULL, NULL);
  json_decref(req);
  if (hr < 0) {
    close(fd);
    return hr;
  }
  c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return PLAT_E_OUTOFMEMORY;
  }
  c->fd = fd;
  c->cb = cb;
  c->ctx = ctx;
  c->pid = pid;
  if (pthread_create(&c->th, NULL, cb_thread, c) != 0) {
    close(fd);
    free(c);
    return PLAT_E_OUTOFMEMORY;
  }
  *out = c;
  return PLAT_S_OK;
}

static plat_hresult do_unregister(plat_callback callback) {
  hl_cb *c = callback;
  if (!c) return PLAT_E_INVALID_HANDLE;
  atomic_store(&c->stop, 1);
  if (pthread_equal(pthread_self(), c->th)) {
    atomic_store(&c->detached, 1);
    pthread_detach(c->th);
    return PLAT_S_OK;
  }
  shutdown(c->fd, SHUT_RDWR);
  pthread_join(c->th, NULL);
  close(c->fd);
  free(c);
  return PLAT_S_OK;
}

plat_hresult plat_HcsRegisterComputeSystemCallback(plat_system system, plat_notification_cb cb,
                                                   void *context, plat_callback *callback) {
  hl_system *s = system;
  if (!s) return PLAT_E_INVALID_HANDLE;
  return do_register(s->id, 0, 0, cb, context, callback);
}

plat_hresult plat_HcsUnregisterComputeSystemCallback(plat_callback callback) {
  return do_unregister(callback);
}

plat_hresult plat_HcsRegisterProcessCallback(plat_process process, plat_notification_cb cb,
                                             void *context, plat_callback *callback) {
  hl_process *p = process;
  if (!p) return PLAT_E_INVALID_HANDLE;
  return do_register(p->id, (int)p->pid, p->start, cb, context, callback);
}

plat_hresult plat_HcsUnregisterProcessCallback(plat_callback callback) {
  return do_unregister(callback);
}
