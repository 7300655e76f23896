/* sha256 digests in OCI's "sha256:<64 lower-case hex>" form, through
 * OpenSSL's libcrypto (Linux only: the Windows build has no libcrypto). */
#ifndef HCSSHIM_DIGEST_H
#define HCSSHIM_DIGEST_H

#include <stddef.h>

#define DIGEST_TEXT_LEN 72 /* "sha256:" + 64 hex + NUL fits */

typedef struct digest {
  struct evp_md_ctx_st *ctx;
} digest;

/* 0 on success, -1 when libcrypto has no memory. */
int digest_init(digest *d);
void digest_update(digest *d, const void *p, size_t n);
/* Writes "sha256:<hex>" and frees the context. */
void digest_final(digest *d, char out[DIGEST_TEXT_LEN]);
/* Frees the context without a result (safe on a finished digest). */
void digest_free(digest *d);

#endif
