/* Deleting an HNS network: its endpoints first when forced (a running
 * container is asked to detach them through the container hooks). */
#include "linux/network/hns.h"

#include <stdlib.h>
#include <string.h>

plat_hresult hns_network_delete(sqlite3 *db, const char *id, int force, json_t **out, char **err) {
  json_t *net = hns_network_get(db, id), *eps;
  plat_hresult hr;
  size_t i;
  json_t *e;
  if (!net) return hns_fail(err, PLAT_E_NOT_FOUND, "network %s not found", id);
  eps = hns_query_docs(db, "SELECT doc FROM endpoints WHERE network = ?1", cmn_str(net, "ID"), err);
  if (!eps) {
    json_decref(net);
    return PLAT_E_FAIL;
  }
  if (json_array_size(eps) && !force) {
    hr = hns_fail(
        err, PLAT_E_BUSY,
        "network %s (`%s`) still has %zu endpoint(s): delete them first, or delete the network "
        "with Force",
        cmn_str(net, "ID"), cmn_str(net, "Name"), json_array_size(eps));
    json_decref(eps);
    json_decref(net);
    return hr;
  }
  json_array_foreach(eps, i, e) {
    json_t *sc = cmn_get(e, "SharedContainers"), *o = NULL;
    const char *cid = json_string_value(json_array_get(sc, 0));
    char *e2 = NULL;
    if (cid && hns_container_alive(cid)) {
      /* the container's monitor owns its namespace: ask it to detach */
      hns_unlock();
      hns_container_detach(cid, cmn_str(e, "ID"));
      hns_lock();
    }
    if (hns_endpoint_delete(db, cmn_str(e, "ID"), &o, &e2) < 0) {
      hr = hns_fail(err, PLAT_E_BUSY, "network %s: cannot delete endpoint %s: %s",
                    cmn_str(net, "ID"), cmn_str(e, "ID"), e2 ? e2 : "");
      free(e2);
      json_decref(eps);
      json_decref(net);
      return hr;
    }
    json_decref(o);
  }
  json_decref(eps);
  hns_test_pause("network-delete");
  {
    /* guarded: an endpoint created since the check above keeps the
     * network (the check and this delete are not one transaction) */
    const char *p[] = {cmn_str(net, "ID")};
    int changed;
    if (hns_begin(db, err) < 0) {
      json_decref(net);
      return PLAT_E_FAIL;
    }
    if (hns_exec(db, err,
                 "DELETE FROM networks WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM endpoints WHERE "
                 "network "
                 "= ?1)",
                 1, p) < 0) {
      hns_rollback(db);
      json_decref(net);
      return PLAT_E_FAIL;
    }
    changed = sqlite3_changes(db);
    if (hns_commit(db, err) < 0) {
      json_decref(net);
      return PLAT_E_FAIL;
    }
    if (changed != 1) {
      hr = hns_fail(
          err, PLAT_E_BUSY,
          "network %s (`%s`) gained an endpoint while being deleted: delete its endpoints first, "
          "or delete the network with Force",
          cmn_str(net, "ID"), cmn_str(net, "Name"));
      json_decref(net);
      return hr;
    }
  }
  {
    /* after the `ip` of a creator killed while it made the bridge */
    int guard = hns_plumbing_lock(HNS_PLUMB_NETWORK, cmn_str(net, "ID"));
    hns_network_unplumb(net);
    hns_plumbing_unlock(guard);
  }
  *out = net;
  return PLAT_S_OK;
}
