/* Properties of compute systems (HcsGetComputeSystemProperties) and the
 * enumeration of them (HcsEnumerateComputeSystems). */
#include "linux/compute/monclient.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void basic_props(json_t *out, const char *id, json_t *meta, json_t *st) {
  const char *state = cmn_str(st, "State");
  json_object_set_new(out, "Id", json_string(id));
  json_object_set_new(out, "Name", json_string(cmn_str(meta, "Name") ? cmn_str(meta, "Name") : ""));
  json_object_set_new(out, "SystemType", json_string("Container"));
  json_object_set_new(out, "Owner",
                      json_string(cmn_str(meta, "Owner") ? cmn_str(meta, "Owner") : ""));
  json_object_set_new(out, "State", json_string(state ? state : "Unknown"));
  /* omitempty, as in hcsshim's ContainerProperties */
  if (state && strcmp(state, "Stopped") == 0) json_object_set_new(out, "Stopped", json_true());
  /* as docker's State.OOMKilled: the OOM killer killed a process of it */
  if (json_integer_value(cmn_get(st, "OomKills")) > 0)
    json_object_set_new(out, "OOMKilled", json_true());
  if (cmn_str(st, "ExitType"))
    json_object_set_new(out, "ExitType", json_string(cmn_str(st, "ExitType")));
}

plat_hresult hl_system_properties(hl_system *h, const char *query, char **properties,
                                  char **result) {
  json_t *q = NULL, *types = NULL, *req, *st = NULL, *out, *stats;
  char *why = NULL;
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
    if (!json_is_object(q)) {
      json_decref(q);
      return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "property query: not a JSON object%s%s",
                      q ? "" : ": ", q ? "" : je.text);
    }
    json_object_foreach(q, k, v) {
      if (strcasecmp(k, "PropertyTypes") != 0) {
        json_decref(q);
        return cmn_fail(result, PLAT_E_INVALIDARG, "property query: unknown field `%s`", k);
      }
    }
    types = cmn_get(q, "PropertyTypes");
    if (types && !json_is_null(types) && !json_is_array(types)) {
      json_decref(q);
      return cmn_fail(result, PLAT_E_INVALIDARG, "PropertyTypes: expected an array of strings");
    }
    for (size_t i = 0; i < json_array_size(types); i++) {
      const char *t = json_string_value(json_array_get(types, i));
      if (t && strcmp(t, "Statistics") == 0) want_stats = 1;
      else if (t && strcmp(t, "ProcessList") == 0) want_list = 1;
      else if (t && strcmp(t, "PendingUpdates") == 0) want_pending = 1;
      else {
        hr = cmn_fail(result, PLAT_E_INVALIDARG, "PropertyTypes: unknown property type `%s`",
                      t ? t : "(not a string)");
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
        return cmn_fail(result, PLAT_HCS_E_INVALID_STATE,
                        "Statistics: compute system %s is stopped", h->id);
      }
      json_t *sj = cmn_get(st, "StartedSec");
      int64_t sec = json_integer_value(sj), nsec = json_integer_value(cmn_get(st, "StartedNsec"));
      if (!sec) {
        sec = json_integer_value(cmn_get(st, "CreatedSec"));
        nsec = json_integer_value(cmn_get(st, "CreatedNsec"));
      }
      stats = hl_statistics(cg, sec, (long)nsec, &why);
      if (!stats) goto fail;
      json_object_set_new(out, "Statistics", stats);
    }
    if (want_list) {
      stats = cg ? hl_process_list(cg, &why) : json_array();
      if (!stats) goto fail;
      json_object_set_new(out, "ProcessList", stats);
    }
  }
  json_decref(st);
  *properties = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  return *properties ? PLAT_S_OK : cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
fail:
  hr = cmn_fail(result, PLAT_E_FAIL, "%s of compute system %s: %s",
                json_object_get(out, "Statistics") || !want_stats ? "ProcessList" : "Statistics",
                h->id, why ? why : "out of memory");
  free(why);
  json_decref(st);
  json_decref(out);
  return hr;
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

plat_hresult hl_enumerate_systems(const char *query, char **systems, char **result) {
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
    if (!json_is_object(q)) {
      json_decref(q);
      return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "enumerate query: not a JSON object");
    }
    json_object_foreach(q, k, v) {
      if (strcasecmp(k, "Ids") && strcasecmp(k, "Names") && strcasecmp(k, "Owners") &&
          strcasecmp(k, "Types")) {
        json_decref(q);
        return cmn_fail(result, PLAT_E_INVALIDARG, "enumerate query: unknown field `%s`", k);
      }
      if (!json_is_array(v) && !json_is_null(v)) {
        json_decref(q);
        return cmn_fail(result, PLAT_E_INVALIDARG,
                        "enumerate query: %s must be an array of strings", k);
      }
    }
  }
  out = json_array();
  sd = cmn_systems_dir();
  d = sd ? opendir(sd) : NULL;
  while (d && (e = readdir(d))) {
    json_t *meta, *st = NULL, *req, *item;
    const char *name, *owner;
    if (strncmp(e->d_name, ".new-", 5) == 0) hl_sweep_pending(e->d_name);
    if (cmn_check_id("id", e->d_name, NULL) < 0) continue;
    meta = hl_read_meta(e->d_name);
    if (!meta) {
      /* being created, or its creator was killed mid-create: then nobody
       * holds its lock and it is reaped */
      hl_reap_stale(e->d_name);
      continue;
    }
    name = cmn_str(meta, "Name") ? cmn_str(meta, "Name") : "";
    owner = cmn_str(meta, "Owner") ? cmn_str(meta, "Owner") : "";
    if (!matches(q, "Ids", e->d_name) || !matches(q, "Names", name) ||
        !matches(q, "Owners", owner) || !matches(q, "Types", "Container")) {
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
