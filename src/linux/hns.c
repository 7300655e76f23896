/* plat_HNSCall on Linux: the HNS paths of hcs-api.md section 5 answered
 * from the store, in HNS's own envelope:
 *
 *   {"Success":true,"Output":<object or array>}
 *   {"Success":false,"Error":"<message>","ErrorCode":<HRESULT, unsigned>}
 *
 *   GET    /networks/            list        POST /networks/   create
 *   GET    /networks/{id}        get         DELETE /networks/{id}  delete
 *   GET    /endpoints/           list        POST /endpoints/  create
 *   GET    /endpoints/{id}       get         DELETE /endpoints/{id} delete
 *
 * DELETE /networks/{id} takes an optional body {"Force":true}: endpoints
 * still on the network are detached and deleted first.  A missing network
 * or endpoint gives ErrorCode 0x80070490 (ERROR_NOT_FOUND, "Element not
 * found."), as on Windows.  Other paths fail clearly (not supported). */
#include "linux/network/hns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *envelope_ok(json_t *out) {
  json_t *e = json_object();
  char *s;
  json_object_set_new(e, "Success", json_true());
  if (out) json_object_set(e, "Output", out);
  s = json_dumps(e, JSON_COMPACT);
  json_decref(e);
  return s;
}

static char *envelope_err(plat_hresult hr, const char *msg) {
  json_t *e;
  if (!msg) msg = "HNS request failed";
  /* messages quote paths and names as the caller gave them */
  e = json_pack("{s:b,s:o,s:I}", "Success", 0, "Error", cmn_json_text(msg, strlen(msg)),
                "ErrorCode", (json_int_t)(uint32_t)hr);
  char *s = json_dumps(e, JSON_COMPACT);
  json_decref(e);
  return s;
}

plat_hresult plat_HNSCall(const char *method, const char *path, const char *request,
                          char **response) {
  char coll[32] = "", id[128] = "", rest[128] = "", *err = NULL;
  json_t *req = NULL, *out = NULL;
  plat_hresult hr = PLAT_S_OK;
  sqlite3 *db;
  int get, post, del;
  *response = NULL;
  if (!method || !path) return PLAT_E_INVALIDARG;
  get = strcasecmp(method, "GET") == 0;
  post = strcasecmp(method, "POST") == 0;
  del = strcasecmp(method, "DELETE") == 0;
  if (sscanf(path, "/%31[^/]/%127[^/]/%127s", coll, id, rest) < 1 ||
      (strcmp(coll, "networks") && strcmp(coll, "endpoints")) || rest[0]) {
    err = cmn_printf("HNS path `%s` is not supported on Linux (only /networks/ and /endpoints/)",
                     path);
    *response = envelope_err(PLAT_E_NOT_SUPPORTED, err);
    free(err);
    return *response ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
  }
  if (id[0] && hns_canon_guid(id, id) < 0) {
    err = cmn_printf("HNS path `%s`: `%s` is not a GUID", path, id);
    *response = envelope_err(PLAT_E_INVALIDARG, err);
    free(err);
    return *response ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
  }
  if (!get && !post && !del) {
    err = cmn_printf("HNS method `%s` is not supported (GET, POST, DELETE)", method);
    *response = envelope_err(PLAT_E_NOT_SUPPORTED, err);
    free(err);
    return *response ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
  }
  if (request && *request) {
    json_error_t je;
    req = cmn_json_loads(request, JSON_REJECT_DUPLICATES, &je);
    if (!req) {
      err = cmn_printf("the request is not valid JSON: %s (line %d, column %d)", je.text, je.line,
                       je.column);
      *response = envelope_err(PLAT_HCS_E_INVALID_JSON, err);
      free(err);
      return *response ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
    }
  }
  hns_lock();
  db = hns_db(&err);
  if (!db) {
    hr = PLAT_E_FAIL;
  } else if (strcmp(coll, "networks") == 0) {
    if (get && !id[0]) {
      out = hns_query_docs(db, "SELECT doc FROM networks ORDER BY rowid", NULL, &err);
      if (!out) hr = PLAT_E_FAIL;
    } else if (get) {
      out = hns_network_get(db, id);
      if (!out) {
        hr = PLAT_E_NOT_FOUND;
        err = cmn_printf("network %s not found", id);
      }
    } else if (post && !id[0]) hr = hns_network_create(db, req, &out, &err);
    else if (del && id[0])
      hr = hns_network_delete(db, id, json_is_true(cmn_get(req, "Force")), &out, &err);
    else {
      hr = PLAT_E_NOT_SUPPORTED;
      err = cmn_printf("%s %s is not supported on Linux", method, path);
    }
  } else {
    if (get && !id[0]) {
      out = hns_query_docs(db, "SELECT doc FROM endpoints ORDER BY rowid", NULL, &err);
      if (!out) hr = PLAT_E_FAIL;
    } else if (get) {
      out = hns_query_doc(db, "SELECT doc FROM endpoints WHERE id = lower(?1)", id);
      if (!out) {
        hr = PLAT_E_NOT_FOUND;
        err = cmn_printf("endpoint %s not found", id);
      }
    } else if (post && !id[0]) hr = hns_endpoint_create(db, req, &out, &err);
    else if (post) hr = hns_endpoint_update(db, id, req, &out, &err);
    else if (del && id[0]) hr = hns_endpoint_delete(db, id, &out, &err);
    else {
      hr = PLAT_E_NOT_SUPPORTED;
      err = cmn_printf("%s %s is not supported on Linux", method, path);
    }
  }
  hns_unlock();
  *response = hr < 0 ? envelope_err(hr, err) : envelope_ok(out);
  free(err);
  json_decref(req);
  json_decref(out);
  return *response ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
}
