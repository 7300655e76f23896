/* Result documents and case-insensitive members (see json.h). */
#include "linux/common/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_result(char **result, plat_hresult hr, const char *msg) {
  json_t *o;
  if (!result) return;
  o = json_pack("{s:i, s:s}", "Error", (json_int_t)hr, "ErrorMessage", msg ? msg : "");
  *result = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
}

plat_hresult cmn_fail(char **result, plat_hresult hr, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  set_result(result, hr, msg);
  free(msg);
  return hr;
}

plat_hresult cmn_fail_json(char **result, json_t *err) {
  json_t *e = cmn_get(err, "Error");
  plat_hresult hr = json_is_integer(e) ? (plat_hresult)json_integer_value(e) : PLAT_E_FAIL;
  if (hr >= 0) hr = PLAT_E_FAIL;
  set_result(result, hr, cmn_str(err, "ErrorMessage"));
  return hr;
}

plat_hresult cmn_check_id(const char *what, const char *id, char **result) {
  char why[512];
  if (cmn_valid_id(what, id, why, sizeof why) < 0)
    return cmn_fail(result, PLAT_E_INVALIDARG, "%s", why);
  return PLAT_S_OK;
}

json_t *cmn_get(json_t *obj, const char *key) {
  const char *k;
  json_t *v, *found = NULL;
  if (!json_is_object(obj)) return NULL;
  v = json_object_get(obj, key);
  if (v) return v;
  json_object_foreach(obj, k, v) {
    if (strcasecmp(k, key) == 0) found = v;
  }
  return found;
}

const char *cmn_str(json_t *obj, const char *key) {
  json_t *v = cmn_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}
