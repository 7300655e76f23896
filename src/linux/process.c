/* Processes in a compute system: HcsCreateProcess and friends.  Each
 * process handle has its own monitor connection, so it outlives the system
 * handle, and the monitor keeps a stopped system (and its exit codes)
 * while any of them is open. */
#include "linux/compute/monclient.h"

#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

plat_hresult plat_HcsCreateProcess(plat_system system, const char *parameters,
                                   plat_process_info *info, plat_process *process, char **result) {
  hl_system *s = system;
  hl_procconf pc;
  json_t *req = NULL, *st = NULL, *rep = NULL;
  plat_hresult hr;
  int fd = -1, rootfd = -1, pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}}, child[3], nchild = 0,
      rfds[CMN_MAX_FDS], nr = 0;
  hl_process *p = NULL;
  memset(&pc, 0, sizeof pc);
  if (result) *result = NULL;
  if (process) *process = NULL;
  if (info) {
    info->ProcessId = 0;
    info->StdInput = info->StdOutput = info->StdError = PLAT_NO_HANDLE;
  }
  if (!s) return cmn_fail(result, PLAT_E_INVALID_HANDLE, "invalid compute system handle");
  req = json_pack("{s:s}", "op", "state");
  hr = hl_mon_call(s->fd, &s->mu, s->id, req, NULL, 0, &st, NULL, NULL, result);
  json_decref(req);
  req = NULL;
  if (hr < 0) return hr;
  if (strcmp(cmn_str(st, "State") ? cmn_str(st, "State") : "", "Running") != 0) {
    hr = cmn_fail(result, PLAT_HCS_E_INVALID_STATE,
                  "compute system %s is %s, not Running: cannot create a process", s->id,
                  cmn_str(st, "State") ? cmn_str(st, "State") : "in an unknown state");
    goto out;
  }
  {
    /* the container's own view of its root, mounts included */
    char rp[64];
    snprintf(rp, sizeof rp, "/proc/%d/root", (int)json_integer_value(cmn_get(st, "InitPid")));
    rootfd = open(rp, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
      hr = cmn_fail(result, PLAT_HCS_E_INVALID_STATE, "compute system %s: cannot open its root: %s",
                    s->id, strerror(errno));
      goto out;
    }
  }
  if ((hr = hl_parse_process(parameters, rootfd, &pc, result)) < 0) goto out;
  if (!pc.console) {
    int want[3] = {pc.in, pc.out, pc.err};
    for (int i = 0; i < 3; i++) {
      if (!want[i]) continue;
      if (pipe2(pipes[i], O_CLOEXEC) < 0) {
        hr = cmn_fail(result, PLAT_E_FAIL, "pipe: %s", strerror(errno));
        goto out;
      }
      child[nchild++] = i == 0 ? pipes[i][0] : pipes[i][1];
    }
  }
  if ((hr = hl_mon_connect(s->id, &fd, result)) < 0) goto out;
  req = json_pack("{s:s,s:O,s:b,s:b,s:b,s:b}", "op", "exec", "Process", pc.process, "In", pc.in,
                  "Out", pc.out, "Err", pc.err, "Console", pc.console);
  hr = hl_mon_call(fd, NULL, s->id, req, child, nchild, &rep, rfds, &nr, result);
  if (hr < 0) goto out;
  if ((hr = hl_new_process_handle(s->id, (uint32_t)json_integer_value(cmn_get(rep, "Pid")),
                                  (uint64_t)json_integer_value(cmn_get(rep, "Start")), fd, &p,
                                  result)) < 0)
    goto out;
  fd = -1;
  if (info) {
    info->ProcessId = p->pid;
    if (pc.console && nr > 0) {
      info->StdInput = rfds[0];
      info->StdOutput = hl_pty_reader(fcntl(rfds[0], F_DUPFD_CLOEXEC, 0));
      nr = 0;
    } else {
      if (pc.in) {
        info->StdInput = pipes[0][1];
        pipes[0][1] = -1;
      }
      if (pc.out) {
        info->StdOutput = pipes[1][0];
        pipes[1][0] = -1;
      }
      if (pc.err) {
        info->StdError = pipes[2][0];
        pipes[2][0] = -1;
      }
    }
  }
  if (process) *process = p;
  else plat_HcsCloseProcess(p);
out:
  for (int i = 0; i < nr; i++) close(rfds[i]);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++)
      if (pipes[i][j] >= 0) close(pipes[i][j]);
  if (fd >= 0) close(fd);
  if (rootfd >= 0) close(rootfd);
  json_decref(pc.process);
  json_decref(req);
  json_decref(st);
  json_decref(rep);
  return hr;
}

plat_hresult plat_HcsOpenProcess(plat_system system, uint32_t pid, plat_process *process,
                                 char **result) {
  hl_system *s = system;
  json_t *req, *rep = NULL;
  plat_hresult hr;
  hl_process *p;
  int fd;
  if (result) *result = NULL;
  *process = NULL;
  if (!s) return cmn_fail(result, PLAT_E_INVALID_HANDLE, "invalid compute system handle");
  if ((hr = hl_mon_connect(s->id, &fd, result)) < 0) return hr;
  req = json_pack("{s:s,s:i}", "op", "proc", "Pid", (int)pid);
  hr = hl_mon_call(fd, NULL, s->id, req, NULL, 0, &rep, NULL, NULL, result);
  json_decref(req);
  /* the newest process with this pid, from here on by its identity */
  if (hr < 0 ||
      (hr = hl_new_process_handle(s->id, pid, (uint64_t)json_integer_value(cmn_get(rep, "Start")),
                                  fd, &p, result)) < 0) {
    json_decref(rep);
    close(fd);
    return hr;
  }
  json_decref(rep);
  *process = p;
  return PLAT_S_OK;
}

plat_hresult plat_HcsCloseProcess(plat_process process) {
  hl_process *p = process;
  if (!p) return PLAT_E_INVALID_HANDLE;
  close(p->fd);
  pthread_mutex_destroy(&p->mu);
  free(p->id);
  free(p);
  return PLAT_S_OK;
}

static plat_hresult proc_call(hl_process *p, json_t *req, json_t **rep, int *rfds, int *nr,
                              char **result) {
  plat_hresult hr;
  if (!p) {
    json_decref(req);
    return cmn_fail(result, PLAT_E_INVALID_HANDLE, "invalid process handle");
  }
  json_object_set_new(req, "Pid", json_integer(p->pid));
  json_object_set_new(req, "Start", json_integer((json_int_t)p->start));
  hr = hl_mon_call(p->fd, &p->mu, p->id, req, NULL, 0, rep, rfds, nr, result);
  json_decref(req);
  return hr;
}

plat_hresult plat_HcsTerminateProcess(plat_process process, char **result) {
  if (result) *result = NULL;
  return proc_call(process, json_pack("{s:s,s:i}", "op", "signal", "Signal", SIGKILL), NULL, NULL,
                   NULL, result);
}

plat_hresult plat_HcsSignalProcess(plat_process process, const char *options, char **result) {
  json_t *o, *sig;
  json_int_t n;
  const char *k;
  json_t *v;
  if (result) *result = NULL;
  o = options && *options ? json_loads(options, 0, NULL) : NULL;
  if (!json_is_object(o)) {
    json_decref(o);
    return cmn_fail(result, PLAT_E_INVALIDARG, "signal options: expected {\"Signal\": n}");
  }
  json_object_foreach(o, k, v) {
    if (strcasecmp(k, "Signal") != 0) {
      json_decref(o);
      return cmn_fail(result, PLAT_E_INVALIDARG, "signal options: unknown field `%s`", k);
    }
  }
  sig = cmn_get(o, "Signal");
  if (!json_is_integer(sig)) {
    json_decref(o);
    return cmn_fail(result, PLAT_E_NOT_SUPPORTED,
                    "Signal: only numeric signals are supported on this platform");
  }
  n = json_integer_value(sig);
  json_decref(o);
  if (n < 1 || n > 64)
    return cmn_fail(result, PLAT_E_INVALIDARG, "Signal %lld: must be 1..64", (long long)n);
  return proc_call(process, json_pack("{s:s,s:I}", "op", "signal", "Signal", n), NULL, NULL, NULL,
                   result);
}

plat_hresult plat_HcsGetProcessInfo(plat_process process, plat_process_info *info, char **result) {
  hl_process *p = process;
  int rfds[CMN_MAX_FDS], nr = 0;
  plat_hresult hr;
  if (result) *result = NULL;
  info->ProcessId = p ? p->pid : 0;
  info->StdInput = info->StdOutput = info->StdError = PLAT_NO_HANDLE;
  /* pipe ends exist once, in the creator; a console can be re-attached */
  hr = proc_call(p, json_pack("{s:s}", "op", "getpty"), NULL, rfds, &nr, result);
  if (hr < 0) return hr;
  if (nr > 0) {
    info->StdInput = rfds[0];
    info->StdOutput = hl_pty_reader(fcntl(rfds[0], F_DUPFD_CLOEXEC, 0));
    for (int i = 1; i < nr; i++) close(rfds[i]);
  }
  return PLAT_S_OK;
}

plat_hresult plat_HcsGetProcessProperties(plat_process process, char **properties, char **result) {
  hl_process *p = process;
  json_t *rep = NULL, *out;
  plat_hresult hr;
  if (result) *result = NULL;
  *properties = NULL;
  hr = proc_call(p, json_pack("{s:s}", "op", "proc"), &rep, NULL, NULL, result);
  if (hr < 0) return hr;
  out = json_pack("{s:i,s:b,s:i,s:i}", "ProcessId", (int)p->pid, "Exited",
                  json_is_true(cmn_get(rep, "Exited")), "ExitCode", 0, "LastWaitResult", 0);
  if (json_is_true(cmn_get(rep, "Exited"))) {
    json_t *sj = cmn_get(rep, "Status");
    int st;
    if (!json_is_integer(sj)) {
      json_decref(rep);
      json_decref(out);
      return cmn_fail(result, PLAT_E_FAIL,
                      "the exit status of process %u in compute system %s is unknown", p->pid,
                      p->id);
    }
    st = (int)json_integer_value(sj);
    if (WIFSIGNALED(st)) {
      json_object_set_new(out, "ExitCode", json_integer(128 + WTERMSIG(st)));
      json_object_set_new(out, "Signal", json_integer(WTERMSIG(st)));
      if (json_is_true(cmn_get(rep, "OOMKilled")))
        json_object_set_new(out, "OOMKilled", json_true());
    } else {
      json_object_set_new(out, "ExitCode", json_integer(WEXITSTATUS(st)));
    }
  }
  json_decref(rep);
  *properties = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  return *properties ? PLAT_S_OK : cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
}

plat_hresult plat_HcsModifyProcess(plat_process process, const char *settings, char **result) {
  json_t *o, *req = NULL;
  const char *op, *k;
  json_t *v;
  plat_hresult hr;
  if (result) *result = NULL;
  o = settings && *settings ? json_loads(settings, 0, NULL) : NULL;
  if (!json_is_object(o)) {
    json_decref(o);
    return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "process modify request: not a JSON object");
  }
  json_object_foreach(o, k, v) {
    if (strcasecmp(k, "Operation") && strcasecmp(k, "ConsoleSize") &&
        strcasecmp(k, "CloseHandle")) {
      json_decref(o);
      return cmn_fail(result, PLAT_E_INVALIDARG, "process modify request: unknown field `%s`", k);
    }
  }
  op = cmn_str(o, "Operation");
  if (op && strcmp(op, "ConsoleSize") == 0) {
    json_t *cs = cmn_get(o, "ConsoleSize");
    json_t *hh = cmn_get(cs, "Height"), *ww = cmn_get(cs, "Width");
    if (!json_is_integer(hh) || !json_is_integer(ww) || json_integer_value(hh) < 0 ||
        json_integer_value(hh) > 65535 || json_integer_value(ww) < 0 ||
        json_integer_value(ww) > 65535) {
      json_decref(o);
      return cmn_fail(result, PLAT_E_INVALIDARG,
                      "ConsoleSize: expected {\"Height\": h, \"Width\": w} with values 0..65535");
    }
    req = json_pack("{s:s,s:O,s:O}", "op", "resize", "Height", hh, "Width", ww);
  } else if (op && strcmp(op, "CloseHandle") == 0) {
    const char *which = cmn_str(cmn_get(o, "CloseHandle"), "Handle");
    if (!which || (strcmp(which, "StdIn") && strcmp(which, "StdOut") && strcmp(which, "StdErr") &&
                   strcmp(which, "All"))) {
      json_decref(o);
      return cmn_fail(result, PLAT_E_INVALIDARG,
                      "CloseHandle.Handle `%s`: expected StdIn, StdOut, StdErr or All",
                      which ? which : "");
    }
    /* pipes: the caller closes its own end; a console gets ^D */
    if (strcmp(which, "StdIn") == 0 || strcmp(which, "All") == 0)
      req = json_pack("{s:s}", "op", "closestdin");
    else req = json_pack("{s:s}", "op", "proc");
  } else {
    hr = cmn_fail(result, PLAT_E_INVALIDARG, "process modify request: unknown Operation `%s`",
                  op ? op : "");
    json_decref(o);
    return hr;
  }
  json_decref(o);
  return proc_call(process, req, NULL, NULL, NULL, result);
}
