/* core.sha256(text): the OCI digest of a string (chain ids, manifests and
 * configs); digest.h gives the streaming form to the archive reader. */
#include <stdio.h>
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

/* core.sha256_file(path) -> "sha256:<hex>" | nil, message: the content
 * digest of a file, so that run{rootfs=} imports a tar once and reuses
 * the layer for the same content. */
static int l_sha256_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char out[DIGEST_TEXT_LEN], buf[16384];
  size_t n;
  int bad;
  digest d;
  FILE *f = fopen(path, "rb");
  if (!f) return luaL_fileresult(L, 0, path);
  if (digest_init(&d) < 0) {
    fclose(f);
    return luaL_error(L, "not enough memory");
  }
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) digest_update(&d, buf, n);
  bad = ferror(f);
  fclose(f);
  digest_final(&d, out);
  if (bad) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: read error", path);
    return 2;
  }
  lua_pushstring(L, out);
  return 1;
}

void core_open_digest(lua_State *L) {
  lua_pushcfunction(L, l_sha256);
  lua_setfield(L, -2, "sha256");
  lua_pushcfunction(L, l_sha256_file);
  lua_setfield(L, -2, "sha256_file");
}
#else
void core_open_digest(lua_State *L) { (void)L; }
#endif
