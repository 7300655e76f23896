/* UTF-8 (Lua) <-> UTF-16 (Windows) at the seam.  Invalid UTF-8 is refused
 * (MB_ERR_INVALID_CHARS), never replaced: a layer path or container id that
 * silently changed would name something else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/w32.h"

/* thread-local storage in each toolchain's own spelling (C11's
 * _Thread_local is not in C99 or MSVC's default C mode) */
#if defined(_MSC_VER)
#define W32_THREAD __declspec(thread)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define W32_THREAD _Thread_local
#else
#define W32_THREAD __thread
#endif

static W32_THREAD char last_error[512];

void w32_set_error(const char *msg) {
  if (!msg) {
    last_error[0] = 0;
    return;
  }
  snprintf(last_error, sizeof last_error, "%s", msg);
}

void w32_set_error_hr(plat_hresult hr) {
  WCHAR buf[300];
  DWORD len = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)hr, 0, buf, (DWORD)(sizeof buf / sizeof buf[0]), NULL);
  while (len > 0 && (buf[len - 1] == L'\r' || buf[len - 1] == L'\n' || buf[len - 1] == L' ')) len--;
  buf[len] = 0;
  if (len == 0 ||
      WideCharToMultiByte(CP_UTF8, 0, buf, -1, last_error, (int)sizeof last_error, NULL, NULL) == 0)
    last_error[0] = 0; /* no system text: the Lua table names the code */
}

const char *plat_last_error(void) { return last_error[0] ? last_error : NULL; }

WCHAR *w32_wide(const char *s, const char *what, plat_hresult *hr) {
  int n;
  WCHAR *w;
  *hr = PLAT_S_OK;
  if (!s) s = "";
  n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "invalid UTF-8 in %s", what ? what : "a string argument");
    w32_set_error(msg);
    *hr = PLAT_E_INVALIDARG;
    return NULL;
  }
  w = malloc((size_t)n * sizeof *w);
  if (!w) {
    *hr = PLAT_E_OUTOFMEMORY;
    return NULL;
  }
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
  return w;
}

char *w32_utf8(const WCHAR *w) {
  int n;
  char *s;
  if (!w) return NULL;
  n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  if (n <= 0) return NULL;
  s = malloc((size_t)n);
  if (!s) return NULL;
  WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

char *w32_take(WCHAR *w) {
  char *s;
  if (!w) return NULL;
  s = w32_utf8(w);
  w32_cotask_free(w);
  return s;
}

/* JSON string escaping for our own result documents. */
char *w32_result_doc(plat_hresult hr, const char *msg) {
  size_t n = strlen(msg), i, o = 0;
  char *out = malloc(n * 6 + 64);
  if (!out) return NULL;
  o = (size_t)sprintf(out, "{\"Error\":%ld,\"ErrorMessage\":\"", (long)hr);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)msg[i];
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)sprintf(out + o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  strcpy(out + o, "\"}");
  return out;
}

plat_hresult w32_arg_fail(plat_hresult hr, char **result) {
  if (result && plat_last_error()) *result = w32_result_doc(hr, plat_last_error());
  return hr;
}
