/* Detach (CNI DEL replaying the stored plugin list and result), the
 * per-container teardown of endpoints and EndpointList checks. */
#include "linux/network/endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG

static plat_hresult detach_locked(const char *epid, const char *container, char **err) {
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  json_t *ep = NULL, *saved = NULL, *prev = NULL;
  char *ifname = NULL, *e2 = NULL, *netns = NULL;
  plat_hresult hr = PLAT_S_OK;
  const char *cur;
  hns_lock();
  db = hns_db(err);
  if (!db) {
    hns_unlock();
    return PLAT_E_FAIL;
  }
  ep = hns_endpoint_get(db, epid);
  if (!ep) {
    hr = hns_fail(err, PLAT_E_NOT_FOUND, "endpoint %s not found", epid);
    goto out;
  }
  cur = json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0));
  if (!cur) goto out; /* not attached: nothing to do */
  if (strcmp(cur, container)) {
    hr = hns_fail(err, PLAT_E_INVALIDARG, "endpoint %s is attached to compute system %s, not %s",
                  epid, cur, container);
    goto out;
  }
  if (sqlite3_prepare_v2(db, "SELECT conf, result, ifname FROM endpoints WHERE id = ?1", -1, &st,
                         NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, cmn_str(ep, "ID"), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
      const char *c = (const char *)sqlite3_column_text(st, 0),
                 *r = (const char *)sqlite3_column_text(st, 1),
                 *i = (const char *)sqlite3_column_text(st, 2);
      saved = c ? json_loads(c, 0, NULL) : NULL;
      prev = r ? json_loads(r, 0, NULL) : NULL;
      ifname = strdup(i ? i : "eth0");
    }
    sqlite3_finalize(st);
  }
  hns_unlock();
  netns = hns_netns_path(container);
  if (saved && hns_cni("DEL", json_object_get(saved, "conf"), cmn_str(ep, "ID"), netns,
                       ifname ? ifname : "eth0", json_object_get(saved, "rt"), prev, NULL, &e2) < 0)
    hr = hns_fail(err, PLAT_E_FAIL, "detaching endpoint %s from compute system %s: %s", epid,
                  container, e2 ? e2 : "CNI DEL failed");
  free(e2);
  e2 = NULL;
  hns_lock();
  /* a failed DEL keeps the attachment recorded: the plumbing may still be
   * there, and teardown or cleanup retries it (DEL is idempotent) */
  if (hr >= 0) {
    if (hns_begin(db, &e2) < 0 ||
        hns_set_attached(db, cmn_str(ep, "ID"), ep, "", "", NULL, NULL, container, &e2) < 0 ||
        hns_commit(db, &e2) < 0) {
      hns_rollback(db);
      hr = hns_fail(err, PLAT_E_FAIL, "detaching endpoint %s from compute system %s: %s", epid,
                    container, e2 ? e2 : "HNS store failed");
    }
  }
  free(e2);
out:
  hns_unlock();
  json_decref(ep);
  json_decref(saved);
  json_decref(prev);
  free(ifname);
  free(netns);
  return hr;
}

plat_hresult hns_endpoint_detach(const char *epid, const char *container, char **err) {
  int guard = hns_plumbing_lock(HNS_PLUMB_ENDPOINT, epid);
  plat_hresult hr;
  if (guard < 0)
    return hns_plumbing_fail(guard, err, "detaching endpoint %s from compute system %s", epid,
                             container);
  hr = detach_locked(epid, container, err);
  hns_plumbing_unlock(guard);
  return hr;
}

int hns_detach_all(const char *container) {
  sqlite3 *db;
  json_t *rows;
  char *err = NULL;
  size_t i;
  json_t *r;
  int failed = 0;
  {
    /* a host that never used HNS has no store: nothing to detach */
    char *p = cmn_printf("%s/hns/hns.db", hns_data_root());
    int none = !p || access(p, F_OK) < 0;
    free(p);
    if (none) return 0;
  }
  hns_lock();
  db = hns_db(&err);
  rows = db ? hns_query_pairs(db, "SELECT id, container FROM endpoints WHERE container = ?1",
                              container)
            : json_array();
  hns_unlock();
  free(err);
  json_array_foreach(rows, i, r) {
    char *e2 = NULL;
    if (hns_endpoint_detach(json_string_value(json_array_get(r, 0)), container, &e2) < 0) {
      fprintf(stderr,
              "hcsshim: %s (the endpoint stays recorded as attached; hns.cleanup "
              "retries)\n",
              e2 ? e2 : "detach failed");
      failed++;
    }
    free(e2);
  }
  json_decref(rows);
  return failed;
}

/* Under the container's plumbing lock (plumbing.c says why). */
void hns_container_unplumb(const char *container, const char *netns) {
  int guard = hns_plumbing_lock(HNS_PLUMB_CONTAINER, container);
  /* CNI DEL while the namespace file still exists (linux-host.md 5) */
  hns_detach_all(container);
  hns_netns_remove(netns);
  hns_plumbing_unlock(guard);
}

plat_hresult hns_check_endpoint_list(json_t *list, char **err) {
  sqlite3 *db;
  size_t i;
  json_t *v;
  plat_hresult hr = PLAT_S_OK;
  if (!json_array_size(list)) return PLAT_S_OK;
  hns_lock();
  db = hns_db(err);
  if (!db) {
    hns_unlock();
    return PLAT_E_FAIL;
  }
  json_array_foreach(list, i, v) {
    json_t *ep;
    const char *id = json_string_value(v);
    char canon[37];
    if (!id || hns_canon_guid(id, canon) < 0) {
      hr = hns_fail(err, BAD, "EndpointList[%zu]: %s%s%s is not an endpoint id (a GUID)", i + 1,
                    id ? "`" : "", id ? id : "the value", id ? "`" : "");
      break;
    }
    ep = hns_endpoint_get(db, canon);
    if (!ep) {
      hr = hns_fail(err, PLAT_E_NOT_FOUND, "EndpointList: endpoint %s not found", id);
      break;
    }
    if (json_array_size(cmn_get(ep, "SharedContainers"))) {
      hr = hns_fail(err, PLAT_E_BUSY,
                    "EndpointList: endpoint %s is already attached to compute system %s", id,
                    json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0)));
      json_decref(ep);
      break;
    }
    json_decref(ep);
  }
  hns_unlock();
  return hr;
}
