/* core.sha256_file(path) -> "sha256:<hex>" | nil, message: the content
 * digest of a file, so that run{rootfs=} can import a tar once and reuse
 * the layer for the same content.  The OS's own hash: OpenSSL's EVP on
 * Linux (already linked), CNG's BCrypt on Windows (bcrypt is linked for
 * random bytes already). */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "modules.h"

#ifdef _WIN32
#include <windows.h>
#include <bcrypt.h>

typedef struct { BCRYPT_ALG_HANDLE alg; BCRYPT_HASH_HANDLE h; } hash_ctx;

static int h_init(hash_ctx *c) {
  c->alg = NULL;
  c->h = NULL;
  if (BCryptOpenAlgorithmProvider(&c->alg, BCRYPT_SHA256_ALGORITHM, NULL, 0) < 0) return 0;
  return BCryptCreateHash(c->alg, &c->h, NULL, 0, NULL, 0, 0) >= 0;
}
static int h_update(hash_ctx *c, const void *p, size_t n) {
  return BCryptHashData(c->h, (PUCHAR)(uintptr_t)p, (ULONG)n, 0) >= 0;
}
static int h_final(hash_ctx *c, unsigned char md[32]) {
  return BCryptFinishHash(c->h, md, 32, 0) >= 0;
}
static void h_free(hash_ctx *c) {
  if (c->h) BCryptDestroyHash(c->h);
  if (c->alg) BCryptCloseAlgorithmProvider(c->alg, 0);
}
#else
#include <openssl/evp.h>

typedef struct { EVP_MD_CTX *m; } hash_ctx;

static int h_init(hash_ctx *c) {
  c->m = EVP_MD_CTX_new();
  return c->m && EVP_DigestInit_ex(c->m, EVP_sha256(), NULL) == 1;
}
static int h_update(hash_ctx *c, const void *p, size_t n) {
  return EVP_DigestUpdate(c->m, p, n) == 1;
}
static int h_final(hash_ctx *c, unsigned char md[32]) {
  unsigned int len = 0;
  return EVP_DigestFinal_ex(c->m, md, &len) == 1 && len == 32;
}
static void h_free(hash_ctx *c) { EVP_MD_CTX_free(c->m); }
#endif

static int hash_file(FILE *f, unsigned char md[32]) {
  unsigned char buf[16384];
  hash_ctx c;
  size_t n;
  int ok = h_init(&c);
  while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) ok = h_update(&c, buf, n);
  ok = ok && !ferror(f) && h_final(&c, md);
  h_free(&c);
  return ok;
}

static int l_sha256_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  unsigned char md[32];
  char hex[7 + 65];
  int i, ok;
  FILE *f = fopen(path, "rb");
  if (!f) return luaL_fileresult(L, 0, path);
  ok = hash_file(f, md);
  fclose(f);
  if (!ok) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: cannot compute its sha256 digest", path);
    return 2;
  }
  memcpy(hex, "sha256:", 7);
  for (i = 0; i < 32; i++) snprintf(hex + 7 + 2 * i, 3, "%02x", md[i]);
  lua_pushstring(L, hex);
  return 1;
}

void core_open_digest(lua_State *L) {
  lua_pushcfunction(L, l_sha256_file);
  lua_setfield(L, -2, "sha256_file");
}
