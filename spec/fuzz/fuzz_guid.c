/* GUID text -> bytes (src/guidtext.c's guid_parse, behind hcsshim.guid and
 * every id check).  Checks that what is accepted is exactly the 36- or
 * 38-character ({...}) form of hex digits and dashes, and that the
 * canonical text round-trips to the same bytes. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "guidtext.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

/* The grammar, written out independently of guid_parse. */
static int well_formed(const char *s) {
  size_t n = strlen(s);
  if (n == 38) {
    if (s[0] != '{' || s[37] != '}') return 0;
    s++;
  } else if (n != 36) {
    return 0;
  }
  for (int i = 0; i < 36; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = fuzz_cstr(data, size), text[37], again[37];
  uint8_t g[16], g2[16];
  int ok = guid_parse(s, g) == 0;
  if (ok != well_formed(s)) fuzz_fail(ok ? "guid_parse accepts" : "guid_parse refuses", s);
  if (ok) {
    guid_format(g, text);
    if (guid_parse(text, g2) != 0 || memcmp(g, g2, 16) != 0)
      fuzz_fail("canonical text does not round-trip", text);
    for (int i = 0; text[i]; i++)
      if (isupper((unsigned char)text[i])) fuzz_fail("canonical text is not lower case", text);
    guid_format(g2, again);
    if (strcmp(text, again) != 0) fuzz_fail("guid_format is not stable", again);
  }
  free(s);
  return 0;
}
