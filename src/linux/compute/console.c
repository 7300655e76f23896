/* Process handles and console output (see process.c at the top level). */
#include "linux/compute/monclient.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

plat_hresult hl_new_process_handle(const char *id, uint32_t pid, uint64_t start, int fd,
                                   hl_process **out, char **result) {
  hl_process *p = calloc(1, sizeof *p);
  if (!p || !(p->id = strdup(id))) {
    free(p);
    return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  }
  p->pid = pid;
  p->start = start;
  p->fd = fd;
  pthread_mutex_init(&p->mu, NULL);
  *out = p;
  return PLAT_S_OK;
}

/* Reading a pty master after the process has gone fails with EIO, and Lua's
 * file:read("a") then throws away everything it had read.  So the console
 * output is handed over through a socket that a small thread fills from the
 * master and closes at EIO: an ordinary end of file.  A socket rather than a
 * pipe, so that a reader who closes early costs EPIPE, not SIGPIPE. */
static void *pty_copy(void *arg) {
  int *fds = arg, master = fds[0], out = fds[1];
  char buf[16384];
  free(fds);
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf), off = 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    while (off < n) {
      ssize_t w = send(out, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) goto done;
      off += w;
    }
  }
done:
  close(master);
  close(out);
  return NULL;
}

/* Takes ownership of master; returns the reading end, or -1. */
int hl_pty_reader(int master) {
  int sv[2], *arg;
  pthread_t t;
  pthread_attr_t at;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    close(master);
    return -1;
  }
  shutdown(sv[0], SHUT_WR);
  arg = malloc(2 * sizeof *arg);
  if (!arg) goto fail;
  arg[0] = master;
  arg[1] = sv[1];
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &at, pty_copy, arg) != 0) {
    pthread_attr_destroy(&at);
    free(arg);
    goto fail;
  }
  pthread_attr_destroy(&at);
  return sv[0];
fail:
  close(master);
  close(sv[0]);
  close(sv[1]);
  return -1;
}
