/* Creating a compute system, in steps: the request, the system folder and
 * its lock, the root filesystem (VolumePath, or the service mounts the
 * sandbox from LayerFolderPath as HCS does), the network namespace, DNS and
 * endpoints, the bundle, the monitor.  A failed step undoes what the steps
 * before it made, and nothing else. */
#include "linux/compute/create.h"
#include "linux/layers/layers.h"
#include "linux/network/hns.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static plat_hresult check_request(hl_create *k, const char *configuration, char **result) {
  plat_hresult hr;
  char *e2 = NULL;
  if ((hr = cmn_check_id("compute system id", k->id, result)) < 0) return hr;
  if ((hr = hl_parse_config(configuration, &k->c, result)) < 0) return hr;
  k->parsed = 1;
  k->eplist = cmn_get(k->c.cfg, "EndpointList");
  if (!json_array_size(k->eplist)) return PLAT_S_OK;
  if (k->c.net_share && *k->c.net_share)
    return cmn_fail(result, PLAT_E_INVALIDARG,
                    "EndpointList and NetworkSharedContainerName exclude each other");
  if ((hr = hns_check_endpoint_list(k->eplist, &e2)) < 0)
    cmn_fail(result, hr, "%s", e2 ? e2 : "EndpointList: invalid");
  free(e2);
  return hr;
}

/* A pending folder (cmn_pending_dir) with its lock file put in already
 * locked (hl_lock_claim), at tmp: renamed into place, a system's folder
 * never shows an unlocked lock while its maker lives. */
static plat_hresult make_pending(hl_create *k, char *tmp, size_t len, char **result) {
  char *sd = cmn_systems_dir();
  int rc = sd ? cmn_pending_dir(sd, k->id, tmp, len) : -ENOMEM;
  free(sd);
  if (rc < 0)
    return cmn_fail(result, PLAT_E_FAIL, "cannot create a folder for compute system %s: %s", k->id,
                    strerror(-rc));
  if ((k->lockfd = hl_lock_claim(tmp)) >= 0) return PLAT_S_OK;
  rc = -k->lockfd;
  k->lockfd = -1;
  cmn_remove_tree(tmp);
  return cmn_fail(result, PLAT_E_FAIL, "cannot lock `%s/lock`: %s", tmp, strerror(rc));
}

/* <runtime root>/systems/<id>, locked while we create (a stale folder of
 * a dead system is reaped first). */
static plat_hresult make_dir(hl_create *k, char **result) {
  char *why = NULL, tmp[PATH_MAX];
  plat_hresult hr;
  int e;
  if (cmn_ensure_root(&why) < 0) {
    hr = cmn_fail(result, PLAT_E_ACCESSDENIED, "%s", why);
    free(why);
    return hr;
  }
  k->dir = cmn_sysdir(k->id);
  k->lockp = k->dir ? cmn_path(k->dir, "lock") : NULL;
  if (!k->lockp) return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  if ((hr = make_pending(k, tmp, sizeof tmp, result)) < 0) return hr;
  e = renameat2(AT_FDCWD, tmp, AT_FDCWD, k->dir, RENAME_NOREPLACE) == 0 ? 0 : errno;
  if (e == EEXIST && hl_reap_stale(k->id))
    e = renameat2(AT_FDCWD, tmp, AT_FDCWD, k->dir, RENAME_NOREPLACE) == 0 ? 0 : errno;
  if (!e) {
    k->dir_made = 1;
    return PLAT_S_OK;
  }
  close(k->lockfd);
  k->lockfd = -1;
  cmn_remove_tree(tmp);
  return e == EEXIST ? cmn_fail(result, PLAT_HCS_E_SYSTEM_ALREADY_EXISTS,
                                "compute system %s already exists", k->id)
                     : cmn_fail(result, PLAT_E_FAIL, "cannot create `%s`: %s", k->dir, strerror(e));
}

/* The files the system gets bind-mounted read-write (/etc/hostname,
 * /etc/hosts, /etc/resolv.conf) live on a small tmpfs of their own, not
 * on the runtime root (the host's /run): a container's writes to them can
 * fill that tmpfs and nothing else.  The host rewrites resolv.conf in
 * place on hot attach and detach (hl_update_resolv). */
static plat_hresult make_files(hl_create *k, char **result) {
  if (!(k->files = cmn_path(k->dir, CMN_SYS_FILES)))
    return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  if (mkdir(k->files, 0755) < 0 ||
      mount("hcsshim-etc", k->files, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, HL_FILES_OPTS) < 0)
    return cmn_fail(result, PLAT_E_FAIL, "cannot mount a tmpfs on `%s`: %s", k->files,
                    strerror(errno));
  k->files_made = 1;
  return PLAT_S_OK;
}

static plat_hresult layer_fail(hl_create *k, plat_hresult hr, const char *what, char **result) {
  const char *m = lay_last_error();
  return cmn_fail(result, hr, "LayerFolderPath `%s`: %s", k->c.layer_folder, m && *m ? m : what);
}

/* Activate and prepare the sandbox of LayerFolderPath over its Layers. */
static plat_hresult mount_layers(hl_create *k, char **result) {
  plat_driver_info di = {1, k->layer_home};
  size_t n = json_array_size(k->c.layers), len;
  plat_layer_descriptor *d = calloc(n ? n : 1, sizeof *d);
  char tmp[PATH_MAX];
  plat_hresult hr;
  if (!d) return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  snprintf(tmp, sizeof tmp, "%s", k->c.layer_folder);
  snprintf(k->layer_home, sizeof k->layer_home, "%s", dirname(tmp));
  snprintf(tmp, sizeof tmp, "%s", k->c.layer_folder);
  snprintf(k->layer_id, sizeof k->layer_id, "%s", basename(tmp));
  for (size_t i = 0; i < n; i++) d[i].Path = cmn_str(json_array_get(k->c.layers, i), "Path");
  /* one call, under the layer's lock: it undoes only what it did, so a
   * sandbox that another system uses stays mounted */
  if ((hr = lay_mount_for(&di, k->layer_id, d, n, k->id, k->dir)) < 0) {
    free(d);
    return layer_fail(k, hr, "PrepareLayer failed", result);
  }
  free(d);
  k->layers_up = 1;
  len = sizeof tmp;
  if ((hr = lay_mount_path(&di, k->layer_id, &len, tmp)) < 0 || len == 0 || tmp[0] != '/')
    return cmn_fail(result, hr < 0 ? hr : PLAT_E_FAIL,
                    "LayerFolderPath `%s`: no mount path for the sandbox", k->c.layer_folder);
  k->rootfs = strdup(tmp);
  return k->rootfs ? PLAT_S_OK : cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
}

/* Holds every layer the configuration names (VolumePath's, the sandbox of
 * LayerFolderPath, Layers) for this system, so that none can be
 * unprepared or destroyed under it; meta.json lists them for teardown. */
static plat_hresult hold_one(hl_create *k, const char *path, char **result) {
  plat_hresult hr;
  if (!path || !*path) return PLAT_S_OK;
  json_array_append_new(k->holds, json_string(path));
  if ((hr = lay_hold(path, k->id, k->dir)) < 0)
    return cmn_fail(result, hr, "%s", *lay_last_error() ? lay_last_error() : "cannot hold layer");
  return PLAT_S_OK;
}

static plat_hresult hold_layers(hl_create *k, char **result) {
  plat_hresult hr;
  k->holds = json_array();
  if ((hr = hold_one(k, k->rootfs, result)) < 0 ||
      (hr = hold_one(k, k->c.layer_folder, result)) < 0)
    return hr;
  for (size_t i = 0; i < json_array_size(k->c.layers); i++)
    if ((hr = hold_one(k, cmn_str(json_array_get(k->c.layers, i), "Path"), result)) < 0) return hr;
  return PLAT_S_OK;
}

static plat_hresult make_rootfs(hl_create *k, char **result) {
  char buf[PATH_MAX];
  plat_hresult hr;
  if (!k->c.volume_path || !*k->c.volume_path) hr = mount_layers(k, result);
  else {
    k->rootfs = realpath(k->c.volume_path, buf) ? strdup(buf) : strdup(k->c.volume_path);
    hr = k->rootfs ? PLAT_S_OK : cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  }
  return hr < 0 ? hr : hold_layers(k, result);
}

/* The namespace of NetworkSharedContainerName (a running system). */
static plat_hresult share_netns(hl_create *k, char **result) {
  json_t *req = json_pack("{s:s}", "op", "state"), *st = NULL;
  char *r2 = NULL;
  plat_hresult hr;
  if (cmn_check_id("NetworkSharedContainerName", k->c.net_share, result) < 0) {
    json_decref(req);
    return PLAT_E_INVALIDARG;
  }
  hr = hl_mon_simple(k->c.net_share, req, &st, &r2);
  json_decref(req);
  free(r2);
  if (hr < 0 || strcmp(cmn_str(st, "State") ? cmn_str(st, "State") : "", "Running") != 0) {
    json_decref(st);
    return cmn_fail(result, PLAT_HCS_E_INVALID_STATE,
                    "NetworkSharedContainerName: compute system %s is not running", k->c.net_share);
  }
  k->netns = hns_netns_path(k->c.net_share);
  if (!k->netns || access(k->netns, F_OK) < 0) {
    free(k->netns);
    k->netns = cmn_printf("/proc/%d/ns/net", (int)json_integer_value(cmn_get(st, "InitPid")));
  }
  json_decref(st);
  return PLAT_S_OK;
}

/* A namespace file of our own, so that CNI DEL always runs before the
 * namespace goes away; the teardown removes it. */
static plat_hresult make_netns(hl_create *k, char **result) {
  char *e2 = NULL;
  plat_hresult hr = PLAT_S_OK;
  if (k->c.net_share && *k->c.net_share) return share_netns(k, result);
  k->netns = hns_netns_path(k->id);
  if (!k->netns || hns_netns_create(k->netns, &e2) < 0)
    hr = cmn_fail(result, PLAT_E_FAIL, "%s", e2 ? e2 : "cannot create the network namespace");
  else k->net_made = 1;
  free(e2);
  return hr;
}

/* /etc/resolv.conf: the DNS settings of the endpoints, else the image's
 * own; bind-mounted so that hot attach can rewrite it.  The image's own is
 * kept (resolv.image) for when the last DNS-carrying endpoint goes. */
static plat_hresult write_resolv(hl_create *k, char **result) {
  char *text = hns_resolv_conf(k->id, k->eplist), *rp = cmn_path(k->files, "resolv.conf");
  char *ip = cmn_path(k->dir, "resolv.image"), *image = NULL;
  int rfd = open(k->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC), rc;
  plat_hresult hr = rfd >= 0 ? hl_root_file(rfd, "/etc/resolv.conf", &image, result) : PLAT_S_OK;
  if (rfd >= 0) close(rfd);
  if (hr < 0) {
    free(text);
    free(rp);
    free(ip);
    return hr;
  }
  if (ip) cmn_write_file(ip, image ? image : "", image ? strlen(image) : 0, 0644);
  free(ip);
  if (!text) text = image;
  else free(image);
  rc = rp ? cmn_write_file(rp, text ? text : "", text ? strlen(text) : 0, 0644) : -ENOMEM;
  free(text);
  if (rc < 0) {
    free(rp);
    return cmn_fail(result, PLAT_E_FAIL, "cannot write the resolv.conf of compute system %s",
                    k->id);
  }
  json_array_append_new(json_object_get(k->spec, "mounts"),
                        json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", "/etc/resolv.conf",
                                  "type", "bind", "source", rp, "options", "bind", "rw"));
  free(rp);
  return PLAT_S_OK;
}

static plat_hresult attach_endpoints(hl_create *k, char **result) {
  for (size_t i = 0; i < json_array_size(k->eplist); i++) {
    char *e2 = NULL;
    const char *ep = json_string_value(json_array_get(k->eplist, i));
    plat_hresult hr = hns_endpoint_attach(ep, k->id, k->netns, &e2);
    if (hr < 0) cmn_fail(result, hr, "EndpointList: %s", e2 ? e2 : "attach failed");
    free(e2);
    if (hr < 0) return hr;
  }
  return PLAT_S_OK;
}

/* The spec's mount targets the sandbox lacks are the runtime's stubs, left
 * out of the sandbox's exports (see layers/layer_stubs.c). */
static plat_hresult note_stubs(hl_create *k, char **result) {
  json_t *mounts = json_object_get(k->spec, "mounts");
  size_t n = json_array_size(mounts);
  const char **targets = calloc(n ? n : 1, sizeof *targets);
  plat_hresult hr;
  if (!targets) return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  for (size_t i = 0; i < n; i++) targets[i] = cmn_str(json_array_get(mounts, i), "destination");
  hr = lay_note_stubs(k->rootfs, targets, n);
  free(targets);
  if (hr < 0) return cmn_fail(result, hr, "%s", lay_last_error());
  return PLAT_S_OK;
}

/* config.json and meta.json (what the monitor, the helper and later
 * handles read). */
static plat_hresult write_bundle(hl_create *k, char **result) {
  char *cp, *mp, *st, *mt;
  int ok;
  k->meta = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:b}", "Id", k->id, "Name",
                      k->c.name ? k->c.name : "", "Owner", k->c.owner ? k->c.owner : "",
                      "SystemType", "Container", "Rootfs", k->rootfs, "CgroupsPath",
                      json_object_get(json_object_get(k->spec, "linux"), "cgroupsPath"),
                      "TerminateOnLastHandleClosed", k->c.terminate_on_last_close);
  if (k->net_made) json_object_set_new(k->meta, "NetNs", json_string(k->netns));
  if (k->layers_up)
    json_object_set_new(k->meta, "Layer",
                        json_pack("{s:s,s:s}", "HomeDir", k->layer_home, "Id", k->layer_id));
  if (k->holds) json_object_set(k->meta, "Holds", k->holds);
  cp = cmn_path(k->dir, "config.json");
  mp = cmn_path(k->dir, "meta.json");
  st = json_dumps(k->spec, JSON_INDENT(1));
  mt = json_dumps(k->meta, JSON_COMPACT);
  ok = cp && mp && st && mt && cmn_write_file(cp, st, strlen(st), 0600) == 0 &&
       cmn_write_file(mp, mt, strlen(mt), 0600) == 0;
  free(cp);
  free(mp);
  free(st);
  free(mt);
  if (!ok)
    return cmn_fail(result, PLAT_E_FAIL, "cannot write the bundle of compute system %s: %s", k->id,
                    strerror(errno));
  return PLAT_S_OK;
}

/* A system that was created but is not handed over (a create cut short
 * whose report was a success anyway, a handle that could not be opened in
 * time): terminated, and the caller hears its error only once the
 * monitor's teardown removed it, so that nothing of the failed create is
 * left (the sandbox it held included); all by `cut`.  A terminate that
 * cannot be sent found no monitor (the request waits in the backlog for
 * one still starting): the folder is stale then, and reaped here. */
static void undo_in(const char *id, const char *dir, int64_t cut) {
  struct stat st;
  if (hl_mon_cut_short(dir, cut) < 0) hl_reap_stale(id);
  while (lstat(dir, &st) == 0 && cmn_now_ms() < cut) usleep(10 * 1000);
}

void hl_create_undo(const char *id) {
  char *dir = cmn_sysdir(id);
  if (!dir) return;
  undo_in(id, dir, cmn_now_ms() + HL_CUT_SHORT_MS);
  free(dir);
}

/* A create that outlived the caller's timeout was cut short: the caller
 * hears ERROR_TIMEOUT whatever the report says.  When the report is a
 * success the system is taken down (undo_in) before this returns. */
static plat_hresult start_monitor(hl_create *k, char **result) {
  char *why = NULL;
  int ok;
  int64_t cut = 0;
  json_t *rep = hl_spawn_monitor(k->id, k->dir, k->lockfd, k->meta, &why, &cut);
  plat_hresult hr = PLAT_S_OK;
  double secs;
  ok = rep && json_is_true(cmn_get(rep, "ok"));
  hl_deadline(&secs);
  if (cut)
    hr = cmn_fail(result, PLAT_E_TIMEOUT,
                  "create of compute system %s timed out after %g s (crun create did not "
                  "finish): it was cut short and undone",
                  k->id, secs);
  else if (!rep) hr = cmn_fail(result, PLAT_E_FAIL, "%s", why ? why : "monitor failed");
  else if (!ok) hr = cmn_fail_json(result, rep);
  /* no report (a monitor killed before it, or still silent when the cut
   * short create's budget ran out): crun may have made the container (an
   * init waiting on its exec fifo), and that part of the teardown is the
   * rollback's now, as the rest is */
  if (!rep) hl_runtime_remove(k->id, cmn_str(k->meta, "CgroupsPath"));
  json_decref(rep);
  free(why);
  if (!ok) return hr;
  /* from here the monitor owns the system and its teardown */
  k->layers_up = k->net_made = k->dir_made = k->files_made = 0;
  json_decref(k->holds);
  k->holds = NULL;
  close(k->lockfd);
  k->lockfd = -1;
  if (cut) undo_in(k->id, k->dir, cut);
  return hr;
}

static void rollback(hl_create *k) {
  if (k->net_made) hns_container_unplumb(k->id, k->netns);
  if (k->layers_up) {
    plat_driver_info di = {1, k->layer_home};
    lay_unmount_for(&di, k->layer_id, k->id);
  }
  hl_release_layers(k->id, k->holds);
  if (k->files_made) hl_files_unmount(k->dir);
  if (k->dir_made) cmn_pending_remove(k->dir);
}

plat_hresult hl_create_system(const char *id, const char *configuration, char **result) {
  hl_create k;
  plat_hresult hr;
  memset(&k, 0, sizeof k);
  k.id = id;
  k.lockfd = -1;
  if ((hr = check_request(&k, configuration, result)) >= 0 && (hr = make_dir(&k, result)) >= 0 &&
      (hr = make_files(&k, result)) >= 0 && (hr = make_rootfs(&k, result)) >= 0 &&
      (hr = make_netns(&k, result)) >= 0 &&
      (hr = hl_build_spec(&k.c, id, k.files, k.rootfs, k.netns, &k.spec, result)) >= 0 &&
      (!k.net_made ||
       ((hr = write_resolv(&k, result)) >= 0 && (hr = attach_endpoints(&k, result)) >= 0)) &&
      (hr = note_stubs(&k, result)) >= 0 && (hr = write_bundle(&k, result)) >= 0)
    hr = start_monitor(&k, result);
  rollback(&k);
  if (k.lockfd >= 0) close(k.lockfd);
  if (k.parsed) hl_sysconf_free(&k.c);
  json_decref(k.spec);
  json_decref(k.meta);
  json_decref(k.holds);
  free(k.dir);
  free(k.lockp);
  free(k.files);
  free(k.rootfs);
  free(k.netns);
  return hr;
}
