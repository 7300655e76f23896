/* Running crun and undoing what a compute system left behind; used by the
 * monitor (normal teardown) and by the library (a monitor that died). */
#include "hcs_internal.h"
#include "hns.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Layer functions live in layer*.c; weak so this part builds and is
 * testable on its own. */
#pragma weak plat_UnprepareLayer
#pragma weak plat_DeactivateLayer


static char *crun_error(const char *log) {
  char *text = hl_read_file(log, NULL), *msg = NULL;
  char *line, *save = NULL;
  if (!text) return NULL;
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_t *j = json_loads(line, 0, NULL);
    const char *m = hl_str(j, "msg");
    if (m) {
      free(msg);
      msg = strdup(m);
    } else if (!j && *line) {
      free(msg);
      msg = strdup(line);
    }
    json_decref(j);
  }
  free(text);
  return msg;
}

int hl_run_crun(const char *id, const char *const *args, int in, int out, int err, char **errmsg) {
  static atomic_uint counter;
  const char *argv[32];
  char *rootarg, *log, *logarg;
  int n = 0, status = -1;
  pid_t pid;
  (void)id;
  rootarg = hl_strdup_printf("--root=%s/crun", hl_runtime_root());
  log = hl_strdup_printf("%s/crun-%d-%u.log", hl_runtime_root(), (int)getpid(),
                         atomic_fetch_add(&counter, 1));
  logarg = hl_strdup_printf("--log=%s", log ? log : "/dev/null");
  if (errmsg) *errmsg = NULL;
  if (!rootarg || !log || !logarg) goto out;
  argv[n++] = hl_crun();
  argv[n++] = rootarg;
  argv[n++] = logarg;
  argv[n++] = "--log-format=json";
  for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  {
    int fds[3] = {in, out, err}, e = hl_spawn(&pid, argv[0], 1, fds, argv, environ);
    if (e != 0) {
      if (errmsg) *errmsg = hl_strdup_printf("cannot run `%s`: %s", argv[0], strerror(e));
      goto out;
    }
  }
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) { status = -1; break; }
  }
  if (status != 0 && errmsg) {
    *errmsg = crun_error(log);
    if (!*errmsg) *errmsg = hl_strdup_printf("crun %s failed (status %d)", args[0], status);
  }
out:
  if (log) unlink(log);
  free(rootarg);
  free(log);
  free(logarg);
  return status;
}

void hl_teardown_system(const char *id, json_t *meta) {
  const char *cg = hl_str(meta, "CgroupsPath");
  json_t *layer = hl_get(meta, "Layer");
  const char *args[] = {"delete", "--force", id, NULL};
  char *msg = NULL, *netns;
  /* CNI DEL while the namespace file still exists (linux-host.md 5) */
  hns_detach_all(id);
  hl_run_crun(id, args, -1, -1, -1, &msg);
  free(msg);
  netns = hns_netns_path(id);
  hns_netns_remove(netns);
  free(netns);
  if (cg) hl_cgroup_remove(cg);
  if (layer && plat_UnprepareLayer && plat_DeactivateLayer) {
    plat_driver_info di = {1, hl_str(layer, "HomeDir")};
    const char *lid = hl_str(layer, "Id");
    if (di.HomeDir && lid) {
      plat_UnprepareLayer(&di, lid);
      plat_DeactivateLayer(&di, lid);
    }
  }
}
