/* Result documents and case-insensitive members (see json.h). */
#include "linux/common/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of the UTF-8 sequence at s (1 to 4 of the left bytes), or 0
 * when the bytes there are none (RFC 3629: no overlong forms, surrogates
 * or code points past U+10FFFF). */
static size_t utf8_at(const unsigned char *s, size_t left) {
  unsigned cp, min;
  size_t n;
  if (s[0] < 0x80) return 1;
  if (s[0] >= 0xC2 && s[0] <= 0xDF) n = 2, cp = s[0] & 0x1Fu, min = 0x80;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF) n = 3, cp = s[0] & 0x0Fu, min = 0x800;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4) n = 4, cp = s[0] & 0x07u, min = 0x10000;
  else return 0;
  if (left < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3Fu);
  }
  return cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : n;
}

json_t *cmn_json_text(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)(text ? text : "");
  json_t *j = json_stringn((const char *)s, text ? len : 0);
  char *clean, *o;
  if (j || !text) return j;
  clean = o = malloc(len * 3 + 1);
  if (!clean) return NULL;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_at(s + i, len - i);
    if (n) {
      memcpy(o, s + i, n);
      i += n;
    } else {
      memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
      n = 3;
      i++;
    }
    o += n;
  }
  j = json_stringn(clean, (size_t)(o - clean));
  free(clean);
  return j;
}

static void set_result(char **result, plat_hresult hr, const char *msg) {
  json_t *o;
  if (!result) return;
  if (!msg) msg = "";
  o = json_pack("{s:i, s:o}", "Error", (json_int_t)hr, "ErrorMessage",
                cmn_json_text(msg, strlen(msg)));
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
