/* GUID text <-> the 16-byte Windows memory layout (Data1, Data2 and Data3
 * little-endian, Data4 as is).  Pure text work, no Lua: the binding
 * helpers and the GUID functions of the module both stand on it. */
#include <ctype.h>
#include <string.h>

#include "guidtext.h"

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Byte order of the text's hex pairs within the Windows layout. */
static const int text_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

int guid_parse(const char *s, uint8_t out[16]) {
  size_t len = strlen(s), i, k = 0;
  if (len == 38 && s[0] == '{' && s[37] == '}') {
    s++;
    len = 36;
  }
  if (len != 36) return -1;
  for (i = 0; i < 36;) {
    int hi, lo;
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return -1;
      i++;
      continue;
    }
    hi = hexval((unsigned char)s[i]);
    lo = hexval((unsigned char)s[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[text_order[k++]] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  return 0;
}

void guid_format(const uint8_t g[16], char out[37]) {
  static const char hex[] = "0123456789abcdef";
  size_t i, o = 0;
  for (i = 0; i < 16; i++) {
    uint8_t b = g[text_order[i]];
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b >> 4];
    out[o++] = hex[b & 15];
  }
  out[o] = '\0';
}
