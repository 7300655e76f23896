/* Running a CNI plugin list, as libcni does (linux-host.md section 5):
 * every plugin gets its own object plus cniVersion and name, prevResult
 * (ADD: the previous plugin's output; DEL/CHECK: the cached final result)
 * and the runtimeConfig keys its capabilities ask for.  DEL runs in
 * reverse order and goes on past a failing plugin, so one failure never
 * strands the rules of the others.  CHECK skips portmap (plugins#819). */
#include "linux/network/hns.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *hns_cni_path(void) {
  const char *e = getenv("HCSSHIM_CNI_PATH");
  return e && *e ? e : "/usr/lib/cni";
}

/* Runs one plugin: stdin in, stdout into *out; returns the exit status. */
static int run_plugin(const char *type, const char *cmd, const char *cid, const char *netns,
                      const char *ifname, const char *in, char **out, char **err) {
  char *prog, *envv[7];
  const char *argv[2];
  cmn_cmd c = CMN_CMD_INIT;
  int status;
  *out = NULL;
  if (strchr(type, '/') || !*type) {
    *err = cmn_printf("CNI plugin type `%s` is not a plain name", type);
    return -1;
  }
  prog = cmn_printf("%s/%s", hns_cni_path(), type);
  envv[0] = cmn_printf("CNI_COMMAND=%s", cmd);
  envv[1] = cmn_printf("CNI_CONTAINERID=%s", cid);
  envv[2] = cmn_printf("CNI_NETNS=%s", netns ? netns : "");
  envv[3] = cmn_printf("CNI_IFNAME=%s", ifname);
  envv[4] = cmn_printf("CNI_PATH=%s", hns_cni_path());
  envv[5] = cmn_printf("PATH=%s", CMN_DEFAULT_PATH); /* plugins exec iptables from /usr/sbin */
  envv[6] = NULL;
  argv[0] = prog;
  argv[1] = NULL;
  c.prog = prog;
  c.argv = argv;
  c.envp = envv;
  c.input = in;
  c.out = out;
  c.deadline = cmn_now_ms() + CMN_CMD_MAX_MS;
  c.keep_fd = hns_plumbing_fd();
  status = prog ? cmn_run(&c) : -ENOMEM;
  if (status == -ETIMEDOUT) {
    *err = cmn_printf("the CNI plugin `%s` did not end within %d s and was killed", prog,
                      CMN_CMD_MAX_MS / 1000);
    status = -1;
  } else if (status < 0) {
    *err = cmn_printf("cannot run the CNI plugin `%s`: %s", prog ? prog : type, strerror(-status));
    status = -1;
  }
  free(prog);
  for (int i = 0; i < 6; i++) free(envv[i]);
  return status;
}

/* The plugin's object as it receives it on stdin. */
static char *plugin_input(json_t *list, json_t *plugin, json_t *rt, json_t *prev) {
  json_t *o = json_deep_copy(plugin), *caps = json_object_get(plugin, "capabilities");
  char *s;
  json_object_set(o, "cniVersion", json_object_get(list, "cniVersion"));
  json_object_set(o, "name", json_object_get(list, "name"));
  if (prev) json_object_set(o, "prevResult", prev);
  if (json_is_object(caps) && json_is_object(rt)) {
    json_t *r = json_object(), *v;
    const char *k;
    json_object_foreach(caps, k, v) {
      if (json_is_true(v) && json_object_get(rt, k)) json_object_set(r, k, json_object_get(rt, k));
    }
    if (json_object_size(r)) json_object_set_new(o, "runtimeConfig", r);
    else json_decref(r);
  }
  s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static char *plugin_error(const char *type, const char *cmd, int status, const char *out) {
  json_t *j = out ? json_loads(out, 0, NULL) : NULL;
  const char *msg = cmn_str(j, "msg"), *details = cmn_str(j, "details");
  char *s;
  if (msg)
    s = cmn_printf("CNI %s of plugin `%s` failed: %s%s%s", cmd, type, msg,
                   details && *details ? ": " : "", details && *details ? details : "");
  else
    s = cmn_printf("CNI %s of plugin `%s` failed (status 0x%x)%s%s", cmd, type, (unsigned)status,
                   out && *out ? ": " : "", out && *out ? out : "");
  json_decref(j);
  return s;
}

int hns_cni(const char *cmd, json_t *list, const char *cid, const char *netns, const char *ifname,
            json_t *rt, json_t *prev, json_t **result, char **err) {
  json_t *plugins = json_object_get(list, "plugins");
  size_t n = json_array_size(plugins);
  int is_add = strcmp(cmd, "ADD") == 0, is_del = strcmp(cmd, "DEL") == 0, rc = 0;
  json_t *cur = prev ? json_incref(prev) : NULL;
  if (result) *result = NULL;
  *err = NULL;
  for (size_t k = 0; k < n; k++) {
    size_t i = is_del ? n - 1 - k : k;
    json_t *p = json_array_get(plugins, i);
    const char *type = cmn_str(p, "type");
    char *in, *out = NULL, *perr = NULL;
    int st;
    if (!type) continue;
    if (strcmp(cmd, "CHECK") == 0 && strcmp(type, "portmap") == 0) continue;
    in = plugin_input(list, p, rt, cur);
    if (!in) {
      rc = -1;
      if (!*err) *err = strdup("out of memory");
      break;
    }
    st = run_plugin(type, cmd, cid, netns, ifname, in, &out, &perr);
    free(in);
    if (st != 0) {
      if (!*err) *err = perr ? perr : plugin_error(type, cmd, st, out);
      else free(perr);
      free(out);
      rc = -1;
      if (is_del) continue;
      break;
    }
    free(perr);
    if (is_add) {
      json_t *r = out ? json_loads(out, 0, NULL) : NULL;
      if (!json_is_object(r)) {
        json_decref(r);
        *err = cmn_printf("CNI ADD of plugin `%s` printed no result", type);
        free(out);
        rc = -1;
        break;
      }
      json_decref(cur);
      cur = r;
    }
    free(out);
  }
  if (is_add && rc < 0) {
    /* undo what the plugins before the failing one did */
    char *e2 = NULL;
    hns_cni("DEL", list, cid, netns, ifname, rt, cur, NULL, &e2);
    free(e2);
  }
  if (is_add && rc == 0 && result) *result = cur;
  else json_decref(cur);
  return rc;
}
