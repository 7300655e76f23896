/* core.sha256(text): the OCI digest of a string (chain ids, manifests and
 * configs); digest.h gives the streaming form to the archive reader. */
#include <string.h>

#include "bind.h"
#include "modules.h"

#ifndef _WIN32
#include <openssl/evp.h>

#include "digest.h"

int digest_init(digest *d) {
  d->ctx = EVP_MD_CTX_new();
  if (!d->ctx) return -1;
  if (EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
    digest_free(d);
    return -1;
  }
  return 0;
}

void digest_update(digest *d, const void *p, size_t n) {
  if (n) EVP_DigestUpdate(d->ctx, p, n);
}

void digest_final(digest *d, char out[DIGEST_TEXT_LEN]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0, i;
  EVP_DigestFinal_ex(d->ctx, md, &len);
  digest_free(d);
  memcpy(out, "sha256:", 7);
  for (i = 0; i < len && i < 32; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[8 + 2 * i] = hex[md[i] & 15];
  }
  out[7 + 2 * i] = '\0';
}

void digest_free(digest *d) {
  EVP_MD_CTX_free(d->ctx);
  d->ctx = NULL;
}

/* core.sha256(text) -> "sha256:<hex>" */
static int l_sha256(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char out[DIGEST_TEXT_LEN];
  digest d;
  if (digest_init(&d) < 0) return luaL_error(L, "not enough memory");
  digest_update(&d, s, n);
  digest_final(&d, out);
  lua_pushstring(L, out);
  return 1;
}

void core_open_digest(lua_State *L) {
  lua_pushcfunction(L, l_sha256);
  lua_setfield(L, -2, "sha256");
}
#else
void core_open_digest(lua_State *L) { (void)L; }
#endif
