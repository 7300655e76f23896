/* NameToGuid on Linux.
 *
 * Windows computes NameToGuid inside vmcompute.dll: the result is a SHA-1
 * name-based (version 5) GUID, but the namespace and name encoding are
 * unpublished (hcs-api.md section 6 lists ~1,300 candidates that do not
 * match).  So this host computes an RFC 4122 version-5 GUID over its own fixed
 * namespace, and the values DIFFER between Windows and Linux for the same
 * name.  They are deterministic on Linux, which is what layer descriptors
 * need (LayerId = NameToGuid(base name of the layer folder)).
 *
 *   guid = SHA-1(namespace in RFC/big-endian byte order ++ UTF-8 name bytes),
 *          first 16 bytes, version nibble 5, variant bits 10,
 *   stored in the Windows GUID layout (Data1/2/3 little-endian), as the
 *   plat_layer_descriptor.LayerId and the GUID out-parameter expect.
 */
#include "linux/layers/layers.h"

#include <openssl/evp.h>
#include <string.h>

/* hcsshim-for-Lua layer namespace: e87c6d5e-dd68-4164-a324-6422637ee2c0 */
static const uint8_t namespace_be[16] = {0xe8, 0x7c, 0x6d, 0x5e, 0xdd, 0x68, 0x41, 0x64,
                                         0xa3, 0x24, 0x64, 0x22, 0x63, 0x7e, 0xe2, 0xc0};

plat_hresult lay_name_to_guid(const char *name, uint8_t guid[16]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx;
  int ok;
  if (!name || !guid) return PLAT_E_INVALIDARG;
  ctx = EVP_MD_CTX_new();
  if (!ctx) return PLAT_E_OUTOFMEMORY;
  ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
       EVP_DigestUpdate(ctx, namespace_be, sizeof namespace_be) == 1 &&
       EVP_DigestUpdate(ctx, name, strlen(name)) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || mdlen < 16) return PLAT_E_FAIL;
  md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
  md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
  /* RFC (big-endian) fields -> Windows layout */
  guid[0] = md[3], guid[1] = md[2], guid[2] = md[1], guid[3] = md[0];
  guid[4] = md[5], guid[5] = md[4];
  guid[6] = md[7], guid[7] = md[6];
  memcpy(guid + 8, md + 8, 8);
  return PLAT_S_OK;
}
