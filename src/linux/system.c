/* Compute systems: HcsCreate/Open/Close/Start/Shutdown/Terminate/Pause/
 * Resume/GetProperties/Modify/Enumerate on top of crun, through one
 * monitor process per system (src/linux/monitor/). */
#include "linux/compute/monclient.h"
#include "linux/layers/layers.h"
#include "linux/network/hns.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Starts the monitor fully detached (setsid + double fork: it is never
 * our child, so the caller's waitpid(-1) or SIGCHLD handling never sees
 * it) and returns its create report. */
static json_t *spawn_monitor(const char *id, const char *sysdir, int lockfd, json_t *meta, char **why) {
  char *mon = cmn_program_path("monitor", "HCSSHIM_MONITOR"), *log = cmn_path(sysdir, "monitor.log");
  char *helper = cmn_program_path("helper", "HCSSHIM_HELPER");
  const char *cg = cmn_str(meta, "CgroupsPath"), *ns = cmn_str(meta, "NetNs");
  const char *tolhc = json_is_true(cmn_get(meta, "TerminateOnLastHandleClosed")) ? "1" : "0";
  const char *root = cmn_runtime_root();
  int rp[2];
  pid_t pid;
  json_t *rep = NULL;
  *why = NULL;
  if (!mon || !log || !helper || pipe2(rp, O_CLOEXEC) < 0) {
    *why = cmn_printf("cannot start the monitor: %s", strerror(errno));
    free(mon);
    free(helper);
    free(log);
    return NULL;
  }
  pid = fork();
  if (pid == 0) {
    /* only async-signal-safe calls until execv */
    int hi_r, hi_l, lf, nul;
    char *const argv[] = {mon, (char *)(uintptr_t)root, (char *)(uintptr_t)id, (char *)(uintptr_t)"3",
                          (char *)(uintptr_t)"4", helper, (char *)(uintptr_t)(cg ? cg : ""),
                          (char *)(uintptr_t)tolhc, (char *)(uintptr_t)(ns ? ns : ""), NULL};
    setsid();
    if (fork() != 0) _exit(0);
    hi_r = fcntl(rp[1], F_DUPFD, 100);
    hi_l = fcntl(lockfd, F_DUPFD, 100);
    nul = open("/dev/null", O_RDWR);
    lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (hi_r < 0 || hi_l < 0 || nul < 0 || lf < 0 || chdir(sysdir) < 0) _exit(127);
    dup2(nul, 0);
    dup2(lf, 1);
    dup2(lf, 2);
    dup2(hi_r, 3);
    dup2(hi_l, 4);
    syscall(SYS_close_range, 5U, ~0U, 0U);
    execv(mon, argv);
    _exit(127);
  }
  close(rp[1]);
  if (pid < 0) {
    *why = cmn_printf("cannot start the monitor: fork: %s", strerror(errno));
  } else {
    char buf[8192];
    size_t n = 0;
    ssize_t r;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    while (n < sizeof buf - 1 && ((r = read(rp[0], buf + n, sizeof buf - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
      if (r > 0) n += (size_t)r;
    buf[n] = 0;
    rep = n ? hl_mon_decode(buf, n, -1) : NULL;
    if (!rep)
      *why = cmn_printf("the monitor `%s` exited without reporting (see %s)", mon, log);
  }
  close(rp[0]);
  free(mon);
  free(helper);
  free(log);
  return rep;
}

static json_t *read_meta(const char *id) {
  char *dir = cmn_sysdir(id), *p = dir ? cmn_path(dir, "meta.json") : NULL, *t = p ? cmn_read_file(p, NULL) : NULL;
  json_t *m = t ? json_loads(t, 0, NULL) : NULL;
  free(dir);
  free(p);
  free(t);
  return m;
}

static plat_hresult open_handle(const char *id, hl_system **out, char **result) {
  hl_system *s;
  json_t *req, *rep = NULL;
  plat_hresult hr;
  int fd;
  *out = NULL;
  hr = hl_mon_connect(id, &fd, result);
  if (hr < 0) return hr;
  req = json_pack("{s:s,s:b}", "op", "open", "Handle", 1);
  hr = hl_mon_call(fd, NULL, id, req, NULL, 0, &rep, NULL, NULL, result);
  json_decref(req);
  json_decref(rep);
  if (hr < 0) { close(fd); return hr; }
  s = calloc(1, sizeof *s);
  if (!s || !(s->id = strdup(id))) {
    free(s);
    close(fd);
    return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  }
  s->fd = fd;
  pthread_mutex_init(&s->mu, NULL);
  s->meta = read_meta(id);
  if (!s->meta) s->meta = json_object();
  *out = s;
  return PLAT_S_OK;
}

plat_hresult plat_HcsCreateComputeSystem(const char *id, const char *configuration, plat_system *system,
                                         char **result) {
  hl_sysconf c;
  plat_hresult hr;
  char *dir = NULL, *rootfs = NULL, *netns = NULL, *why = NULL, *lockp = NULL;
  char layer_home[PATH_MAX] = "", layer_id[256] = "";
  int lockfd = -1, layers_up = 0, dir_made = 0, net_made = 0;
  json_t *spec = NULL, *meta = NULL, *rep = NULL, *eplist = NULL;
  hl_system *h = NULL;
  if (result) *result = NULL;
  if (system) *system = NULL;
  if ((hr = cmn_check_id("compute system id", id, result)) < 0) return hr;
  if ((hr = hl_parse_config(configuration, &c, result)) < 0) return hr;
  eplist = cmn_get(c.cfg, "EndpointList");
  if (json_array_size(eplist)) {
    char *e2 = NULL;
    if (c.net_share && *c.net_share) {
      hl_sysconf_free(&c);
      return cmn_fail(result, PLAT_E_INVALIDARG, "EndpointList and NetworkSharedContainerName exclude each other");
    }
    if ((hr = hns_check_endpoint_list(eplist, &e2)) < 0) {
      cmn_fail(result, hr, "%s", e2 ? e2 : "EndpointList: invalid");
      free(e2);
      hl_sysconf_free(&c);
      return hr;
    }
  }
  if (cmn_ensure_root(&why) < 0) { hr = cmn_fail(result, PLAT_E_ACCESSDENIED, "%s", why); goto out; }
  dir = cmn_sysdir(id);
  if (!dir) { hr = cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory"); goto out; }
  if (mkdir(dir, 0700) < 0 && !(errno == EEXIST && hl_reap_stale(id) && mkdir(dir, 0700) == 0)) {
    int e = errno;
    if (access(dir, F_OK) == 0) e = EEXIST; /* hl_reap_stale clobbers errno */
    errno = e;
    hr = e == EEXIST ? cmn_fail(result, PLAT_HCS_E_SYSTEM_ALREADY_EXISTS, "compute system %s already exists", id)
                         : cmn_fail(result, PLAT_E_FAIL, "cannot create `%s`: %s", dir, strerror(errno));
    goto out;
  }
  dir_made = 1;
  lockp = cmn_path(dir, "lock");
  lockfd = lockp ? open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
  if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) { hr = cmn_fail(result, PLAT_E_FAIL, "cannot lock `%s`: %s", lockp ? lockp : dir, strerror(errno)); goto out; }

  if (c.volume_path && *c.volume_path) {
    char buf[PATH_MAX];
    rootfs = realpath(c.volume_path, buf) ? strdup(buf) : strdup(c.volume_path);
  } else {
    /* the service mounts the sandbox itself, as HCS does from LayerFolderPath */
    plat_driver_info di;
    size_t n = json_array_size(c.layers), len = 0;
    plat_layer_descriptor *d = calloc(n ? n : 1, sizeof *d);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", c.layer_folder);
    snprintf(layer_home, sizeof layer_home, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", c.layer_folder);
    snprintf(layer_id, sizeof layer_id, "%s", basename(tmp));
    di.Flavour = 1;
    di.HomeDir = layer_home;
    for (size_t i = 0; i < n; i++) d[i].Path = cmn_str(json_array_get(c.layers, i), "Path");
    if ((hr = lay_activate(&di, layer_id)) < 0) {
      free(d);
      hr = cmn_fail(result, hr, "LayerFolderPath `%s`: %s", c.layer_folder, plat_last_error() ? plat_last_error() : "ActivateLayer failed");
      goto out;
    }
    if ((hr = lay_prepare(&di, layer_id, d, n)) < 0) {
      /* the message first: the rollback below replaces the last error */
      char *msg = strdup(plat_last_error() ? plat_last_error() : "PrepareLayer failed");
      free(d);
      lay_deactivate(&di, layer_id);
      hr = cmn_fail(result, hr, "LayerFolderPath `%s`: %s", c.layer_folder, msg ? msg : "PrepareLayer failed");
      free(msg);
      goto out;
    }
    free(d);
    layers_up = 1;
    len = sizeof tmp;
    if ((hr = lay_mount_path(&di, layer_id, &len, tmp)) < 0 || len == 0 || tmp[0] != '/') {
      hr = cmn_fail(result, hr < 0 ? hr : PLAT_E_FAIL, "LayerFolderPath `%s`: no mount path for the sandbox", c.layer_folder);
      goto out;
    }
    rootfs = strdup(tmp);
  }
  if (c.net_share && *c.net_share) {
    json_t *req = json_pack("{s:s}", "op", "state"), *st = NULL;
    char *r2 = NULL;
    if (cmn_check_id("NetworkSharedContainerName", c.net_share, result) < 0) { json_decref(req); hr = PLAT_E_INVALIDARG; goto out; }
    hr = hl_mon_simple(c.net_share, req, &st, &r2);
    json_decref(req);
    free(r2);
    if (hr < 0 || strcmp(cmn_str(st, "State") ? cmn_str(st, "State") : "", "Running") != 0) {
      json_decref(st);
      hr = cmn_fail(result, PLAT_HCS_E_INVALID_STATE, "NetworkSharedContainerName: compute system %s is not running", c.net_share);
      goto out;
    }
    netns = hns_netns_path(c.net_share);
    if (!netns || access(netns, F_OK) < 0) {
      free(netns);
      netns = cmn_printf("/proc/%d/ns/net", (int)json_integer_value(cmn_get(st, "InitPid")));
    }
    json_decref(st);
  } else {
    /* a namespace file of our own, so that CNI DEL always runs before the
     * namespace goes away; the monitor's teardown removes it */
    char *e2 = NULL;
    netns = hns_netns_path(id);
    if (!netns || hns_netns_create(netns, &e2) < 0) {
      hr = cmn_fail(result, PLAT_E_FAIL, "%s", e2 ? e2 : "cannot create the network namespace");
      free(e2);
      goto out;
    }
    net_made = 1;
  }
  if ((hr = hl_build_spec(&c, id, dir, rootfs, netns, &spec, result)) < 0) goto out;
  if (net_made) {
    /* /etc/resolv.conf: the DNS settings of the endpoints, else the
     * image's own; bind-mounted so that hot attach can rewrite it */
    char *text = hns_resolv_conf(id, eplist), *rp = cmn_path(dir, "resolv.conf"), *image = NULL, *ip = cmn_path(dir, "resolv.image");
    {
      /* the image's own, kept for when the last DNS-carrying endpoint is
       * hot-detached (the monitor writes it back) */
      int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
      image = rfd >= 0 ? cmn_read_fileat(rfd, "/etc/resolv.conf", NULL) : NULL;
      if (rfd >= 0) close(rfd);
    }
    if (ip) cmn_write_file(ip, image ? image : "", image ? strlen(image) : 0, 0644);
    free(ip);
    if (!text) text = image;
    else free(image);
    if (!rp || cmn_write_file(rp, text ? text : "", text ? strlen(text) : 0, 0644) < 0) {
      free(text);
      free(rp);
      hr = cmn_fail(result, PLAT_E_FAIL, "cannot write the resolv.conf of compute system %s", id);
      goto out;
    }
    json_array_append_new(json_object_get(spec, "mounts"),
                          json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", "/etc/resolv.conf", "type", "bind", "source", rp,
                                    "options", "bind", "rw"));
    free(text);
    free(rp);
    for (size_t i = 0; i < json_array_size(eplist); i++) {
      char *e2 = NULL;
      const char *ep = json_string_value(json_array_get(eplist, i));
      if ((hr = hns_endpoint_attach(ep, id, netns, &e2)) < 0) {
        cmn_fail(result, hr, "EndpointList: %s", e2 ? e2 : "attach failed");
        free(e2);
        goto out;
      }
    }
  }
  meta = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:b}", "Id", id, "Name", c.name ? c.name : "", "Owner",
                   c.owner ? c.owner : "", "SystemType", "Container", "Rootfs", rootfs, "CgroupsPath",
                   json_object_get(json_object_get(spec, "linux"), "cgroupsPath"),
                   "TerminateOnLastHandleClosed", c.terminate_on_last_close);
  if (net_made) json_object_set_new(meta, "NetNs", json_string(netns));
  if (layers_up) json_object_set_new(meta, "Layer", json_pack("{s:s,s:s}", "HomeDir", layer_home, "Id", layer_id));
  {
    char *cp = cmn_path(dir, "config.json"), *mp = cmn_path(dir, "meta.json");
    char *st = json_dumps(spec, JSON_INDENT(1)), *mt = json_dumps(meta, JSON_COMPACT);
    int ok = cp && mp && st && mt && cmn_write_file(cp, st, strlen(st), 0600) == 0 && cmn_write_file(mp, mt, strlen(mt), 0600) == 0;
    free(cp); free(mp); free(st); free(mt);
    if (!ok) { hr = cmn_fail(result, PLAT_E_FAIL, "cannot write the bundle of compute system %s: %s", id, strerror(errno)); goto out; }
  }
  rep = spawn_monitor(id, dir, lockfd, meta, &why);
  if (!rep) { hr = cmn_fail(result, PLAT_E_FAIL, "%s", why ? why : "monitor failed"); goto out; }
  if (!json_is_true(cmn_get(rep, "ok"))) { hr = cmn_fail_json(result, rep); goto out; }
  /* from here the monitor owns the system and its teardown */
  layers_up = 0;
  net_made = 0;
  dir_made = 0;
  close(lockfd);
  lockfd = -1;
  hr = open_handle(id, &h, result);
  if (hr >= 0 && system) *system = h;
  else if (hr >= 0) plat_HcsCloseComputeSystem(h);
out:
  if (net_made) {
    hns_detach_all(id);
    hns_netns_remove(netns);
  }
  if (layers_up) {
    plat_driver_info di = {1, layer_home};
    lay_unprepare(&di, layer_id);
    lay_deactivate(&di, layer_id);
  }
  if (dir_made) cmn_remove_tree(dir);
  if (lockfd >= 0) close(lockfd);
  hl_sysconf_free(&c);
  json_decref(spec);
  json_decref(meta);
  json_decref(rep);
  free(dir);
  free(lockp);
  free(rootfs);
  free(netns);
  free(why);
  return hr;
}

plat_hresult plat_HcsOpenComputeSystem(const char *id, plat_system *system, char **result) {
  hl_system *h;
  plat_hresult hr;
  if (result) *result = NULL;
  *system = NULL;
  if ((hr = cmn_check_id("compute system id", id, result)) < 0) return hr;
  if ((hr = open_handle(id, &h, result)) < 0) return hr;
  *system = h;
  return PLAT_S_OK;
}

plat_hresult plat_HcsCloseComputeSystem(plat_system system) {
  hl_system *h = system;
  if (!h) return PLAT_E_INVALID_HANDLE;
  close(h->fd);
  pthread_mutex_destroy(&h->mu);
  json_decref(h->meta);
  free(h->id);
  free(h);
  return PLAT_S_OK;
}

static plat_hresult simple_op(plat_system system, const char *op, char **result) {
  hl_system *h = system;
  json_t *req;
  plat_hresult hr;
  if (result) *result = NULL;
  if (!h) return cmn_fail(result, PLAT_E_INVALID_HANDLE, "invalid compute system handle");
  req = json_pack("{s:s}", "op", op);
  hr = hl_mon_call(h->fd, &h->mu, h->id, req, NULL, 0, NULL, NULL, NULL, result);
  json_decref(req);
  return hr;
}

plat_hresult plat_HcsStartComputeSystem(plat_system s, const char *o, char **r) { (void)o; return simple_op(s, "start", r); }
plat_hresult plat_HcsPauseComputeSystem(plat_system s, const char *o, char **r) { (void)o; return simple_op(s, "pause", r); }
plat_hresult plat_HcsResumeComputeSystem(plat_system s, const char *o, char **r) { (void)o; return simple_op(s, "resume", r); }

/* As on Windows: accepted -> HCS_E_OPERATION_PENDING; the exit arrives as
 * SystemExited. */
plat_hresult plat_HcsShutdownComputeSystem(plat_system s, const char *o, char **r) {
  plat_hresult hr;
  (void)o;
  hr = simple_op(s, "shutdown", r);
  return hr < 0 ? hr : PLAT_HCS_E_OPERATION_PENDING;
}
plat_hresult plat_HcsTerminateComputeSystem(plat_system s, const char *o, char **r) {
  plat_hresult hr;
  (void)o;
  hr = simple_op(s, "terminate", r);
  return hr < 0 ? hr : PLAT_HCS_E_OPERATION_PENDING;
}

/* ResourceModificationRequest {ResourceType "Network", RequestType "Add" |
 * "Remove", Settings <endpoint id>}: hot attach and detach, done by the
 * monitor so that they serialise with the system's exit teardown. */
plat_hresult plat_HcsModifyComputeSystem(plat_system system, const char *configuration, char **result) {
  hl_system *h = system;
  json_t *doc, *req, *settings;
  const char *rtype, *reqtype, *ep = NULL;
  plat_hresult hr;
  if (result) *result = NULL;
  if (!h) return cmn_fail(result, PLAT_E_INVALID_HANDLE, "invalid compute system handle");
  doc = configuration ? json_loads(configuration, 0, NULL) : NULL;
  if (!json_is_object(doc)) { json_decref(doc); return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "modify: the request must be a JSON object"); }
  rtype = cmn_str(doc, "ResourceType");
  reqtype = cmn_str(doc, "RequestType");
  settings = cmn_get(doc, "Settings");
  if (json_is_string(settings)) ep = json_string_value(settings);
  else if (json_is_object(settings)) ep = cmn_str(settings, "EndpointId") ? cmn_str(settings, "EndpointId") : cmn_str(settings, "Id");
  if (!rtype || strcasecmp(rtype, "Network") != 0) {
    hr = cmn_fail(result, PLAT_E_NOT_SUPPORTED, "modify: ResourceType `%s` is not supported on this platform (only Network)", rtype ? rtype : "");
    json_decref(doc);
    return hr;
  }
  if (!reqtype || (strcasecmp(reqtype, "Add") && strcasecmp(reqtype, "Remove"))) {
    hr = cmn_fail(result, PLAT_E_INVALIDARG, "modify: RequestType must be Add or Remove (got `%s`)", reqtype ? reqtype : "");
    json_decref(doc);
    return hr;
  }
  if (!ep || !*ep) {
    json_decref(doc);
    return cmn_fail(result, PLAT_E_INVALIDARG, "modify: Settings must be the endpoint id");
  }
  req = json_pack("{s:s,s:s,s:s}", "op", "network", "RequestType", strcasecmp(reqtype, "Add") == 0 ? "Add" : "Remove", "Endpoint", ep);
  json_decref(doc);
  hr = hl_mon_call(h->fd, &h->mu, h->id, req, NULL, 0, NULL, NULL, NULL, result);
  json_decref(req);
  return hr;
}

static void basic_props(json_t *out, const char *id, json_t *meta, json_t *st) {
  const char *state = cmn_str(st, "State");
  json_object_set_new(out, "Id", json_string(id));
  json_object_set_new(out, "Name", json_string(cmn_str(meta, "Name") ? cmn_str(meta, "Name") : ""));
  json_object_set_new(out, "SystemType", json_string("Container"));
  json_object_set_new(out, "Owner", json_string(cmn_str(meta, "Owner") ? cmn_str(meta, "Owner") : ""));
  json_object_set_new(out, "State", json_string(state ? state : "Unknown"));
  /* omitempty, as in hcsshim's ContainerProperties */
  if (state && strcmp(state, "Stopped") == 0) json_object_set_new(out, "Stopped", json_true());
  if (cmn_str(st, "ExitType")) json_object_set_new(out, "ExitType", json_string(cmn_str(st, "ExitType")));
}

plat_hresult plat_HcsGetComputeSystemProperties(plat_system system, const char *query, char **properties, char **result) {
  hl_system *h = system;
  json_t *q = NULL, *types = NULL, *req, *st = NULL, *out;
  int want_stats = 0, want_list = 0, want_pending = 0;
  plat_hresult hr;
  if (result) *result = NULL;
  *properties = NULL;
  if (!h) return cmn_fail(result, PLAT_E_INVALID_HANDLE, "invalid compute system handle");
  if (query && *query) {
    json_error_t je;
    const char *k;
    json_t *v;
    q = json_loads(query, 0, &je);
    if (!json_is_object(q)) { json_decref(q); return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "property query: not a JSON object%s%s", q ? "" : ": ", q ? "" : je.text); }
    json_object_foreach(q, k, v) {
      if (strcasecmp(k, "PropertyTypes") != 0) { json_decref(q); return cmn_fail(result, PLAT_E_INVALIDARG, "property query: unknown field `%s`", k); }
    }
    types = cmn_get(q, "PropertyTypes");
    if (types && !json_is_null(types) && !json_is_array(types)) { json_decref(q); return cmn_fail(result, PLAT_E_INVALIDARG, "PropertyTypes: expected an array of strings"); }
    for (size_t i = 0; i < json_array_size(types); i++) {
      const char *t = json_string_value(json_array_get(types, i));
      if (t && strcmp(t, "Statistics") == 0) want_stats = 1;
      else if (t && strcmp(t, "ProcessList") == 0) want_list = 1;
      else if (t && strcmp(t, "PendingUpdates") == 0) want_pending = 1;
      else {
        hr = cmn_fail(result, PLAT_E_INVALIDARG, "PropertyTypes: unknown property type `%s`", t ? t : "(not a string)");
        json_decref(q);
        return hr;
      }
    }
    json_decref(q);
  }
  req = json_pack("{s:s}", "op", "state");
  hr = hl_mon_call(h->fd, &h->mu, h->id, req, NULL, 0, &st, NULL, NULL, result);
  json_decref(req);
  if (hr < 0) return hr;
  out = json_object();
  basic_props(out, h->id, h->meta, st);
  if (want_pending) json_object_set_new(out, "AreUpdatesPending", json_false());
  if (want_stats || want_list) {
    const char *cg = cmn_str(h->meta, "CgroupsPath");
    const char *state = cmn_str(st, "State");
    if (want_stats) {
      if (!cg || (state && strcmp(state, "Stopped") == 0)) {
        json_decref(st);
        json_decref(out);
        return cmn_fail(result, PLAT_HCS_E_INVALID_STATE, "Statistics: compute system %s is stopped", h->id);
      }
      json_t *sj = cmn_get(st, "StartedSec");
      int64_t sec = json_integer_value(sj), nsec = json_integer_value(cmn_get(st, "StartedNsec"));
      if (!sec) { sec = json_integer_value(cmn_get(st, "CreatedSec")); nsec = json_integer_value(cmn_get(st, "CreatedNsec")); }
      json_object_set_new(out, "Statistics", hl_statistics(cg, sec, (long)nsec));
    }
    if (want_list) json_object_set_new(out, "ProcessList", cg ? hl_process_list(cg) : json_array());
  }
  json_decref(st);
  *properties = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  return *properties ? PLAT_S_OK : cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
}

static int matches(json_t *q, const char *key, const char *val) {
  json_t *a = cmn_get(q, key);
  if (!json_array_size(a)) return 1;
  for (size_t i = 0; i < json_array_size(a); i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (s && strcmp(s, val) == 0) return 1;
  }
  return 0;
}

plat_hresult plat_HcsEnumerateComputeSystems(const char *query, char **systems, char **result) {
  json_t *q = NULL, *out;
  char *sd;
  DIR *d;
  struct dirent *e;
  if (result) *result = NULL;
  *systems = NULL;
  if (query && *query) {
    const char *k;
    json_t *v;
    q = json_loads(query, 0, NULL);
    if (!json_is_object(q)) { json_decref(q); return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "enumerate query: not a JSON object"); }
    json_object_foreach(q, k, v) {
      if (strcasecmp(k, "Ids") && strcasecmp(k, "Names") && strcasecmp(k, "Owners") && strcasecmp(k, "Types")) {
        json_decref(q);
        return cmn_fail(result, PLAT_E_INVALIDARG, "enumerate query: unknown field `%s`", k);
      }
      if (!json_is_array(v) && !json_is_null(v)) {
        json_decref(q);
        return cmn_fail(result, PLAT_E_INVALIDARG, "enumerate query: %s must be an array of strings", k);
      }
    }
  }
  out = json_array();
  sd = cmn_path(cmn_runtime_root(), "systems");
  d = sd ? opendir(sd) : NULL;
  while (d && (e = readdir(d))) {
    json_t *meta, *st = NULL, *req, *item;
    const char *name, *owner;
    if (cmn_check_id("id", e->d_name, NULL) < 0) continue;
    meta = read_meta(e->d_name);
    if (!meta) continue; /* being created */
    name = cmn_str(meta, "Name") ? cmn_str(meta, "Name") : "";
    owner = cmn_str(meta, "Owner") ? cmn_str(meta, "Owner") : "";
    if (!matches(q, "Ids", e->d_name) || !matches(q, "Names", name) || !matches(q, "Owners", owner) ||
        !matches(q, "Types", "Container")) {
      json_decref(meta);
      continue;
    }
    req = json_pack("{s:s}", "op", "state");
    if (hl_mon_simple(e->d_name, req, &st, NULL) >= 0) {
      item = json_object();
      basic_props(item, e->d_name, meta, st);
      json_array_append_new(out, item);
    }
    json_decref(req);
    json_decref(st);
    json_decref(meta);
  }
  if (d) closedir(d);
  free(sd);
  json_decref(q);
  *systems = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  return *systems ? PLAT_S_OK : cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
}

plat_hresult plat_HcsGetServiceProperties(const char *query, char **properties, char **result) {
  (void)query;
  if (result) *result = NULL;
  *properties = strdup("{\"SupportedSchemaVersions\":[{\"Major\":1,\"Minor\":0}]}");
  return *properties ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
}
