/* Result documents and case-insensitive members (see json.h). */
#include "linux/common/json.h"

#include <errno.h>
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

#define MAX_SATURATED 64
static const char saturated_text[] = "9223372036854775807"; /* CMN_JSON_SATURATED */

/* The integer token of text ending at end (jansson's error position):
 * its start, or NULL if it is not a whole [-]digits token.  A real that
 * overflows ("1e999", "2.5E+400") also ends in digits; those digits are its
 * exponent or fraction, so a token preceded by a number character is not
 * an integer. */
static char *token_start(char *text, size_t end) {
  size_t i = end;
  while (i > 0 && text[i - 1] >= '0' && text[i - 1] <= '9') i--;
  if (i > 0 && text[i - 1] == '-') i--;
  if (i == end || (i > 0 && strchr("0123456789.eE+-", text[i - 1]))) return NULL;
  return text + i;
}

/* One integer that jansson cannot hold: saturated in place if it is a
 * uint64 (its 19 or 20 digits become INT64_MAX, padded with blanks), else
 * -1 with je's text saying why. */
static int saturate(char *text, json_error_t *je) {
  char *tok = token_start(text, (size_t)je->position), *end;
  unsigned long long v;
  size_t len;
  if (!tok) return -1; /* a real's overflow: jansson's own words stand */
  len = (size_t)(text + je->position - tok);
  errno = 0;
  v = strtoull(tok, &end, 10);
  if (tok[0] == '-' || errno == ERANGE || end != text + je->position || v <= INT64_MAX ||
      len < sizeof saturated_text - 1) {
    snprintf(je->text, sizeof je->text, "integer %.*s is outside int64 and uint64",
             (int)(len > 40 ? 40 : len), tok);
    return -1;
  }
  memset(tok, ' ', len);
  memcpy(tok, saturated_text, sizeof saturated_text - 1);
  return 0;
}

json_t *cmn_json_loads(const char *text, size_t flags, json_error_t *je) {
  json_t *doc = json_loads(text, flags, je);
  char *copy = NULL;
  for (int n = 0; !doc && json_error_code(je) == json_error_numeric_overflow; n++) {
    if (n == MAX_SATURATED) {
      snprintf(je->text, sizeof je->text, "more than %d integers beyond int64", MAX_SATURATED);
      break;
    }
    if (!copy && !(copy = strdup(text))) break;
    if (saturate(copy, je) < 0) break;
    doc = json_loads(copy, flags, je);
  }
  free(copy);
  return doc;
}
