/* A Windows layer tar entry's Win32 metadata (go-winio backuptar's PAX
 * records, which our libarchive build keeps as xattrs of the same name):
 * MSWINDOWS.fileattr (decimal FileAttributes), MSWINDOWS.rawsd (base64
 * self-relative security descriptor), MSWINDOWS.sd (SDDL, read only),
 * MSWINDOWS.mountpoint (a junction, not a symlink), MSWINDOWS.xattr.<name>
 * (base64 EA value); times from the tar header and LIBARCHIVE.creationtime.
 * Base64 and SDDL go through crypt32 and advapi32. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/wclayer.h"

#include <sddl.h>
#include <wincrypt.h>

#define TICKS_1970 116444736000000000LL /* 100 ns ticks from 1601 to 1970 */

LONGLONG wc_ticks(time_t s, long ns) { return (LONGLONG)s * 10000000LL + ns / 100 + TICKS_1970; }

void wc_unix_time(LONGLONG ticks, time_t *s, long *ns) {
  LONGLONG u = ticks - TICKS_1970;
  LONGLONG sec = u >= 0 ? u / 10000000 : -((-u + 9999999) / 10000000);
  *s = (time_t)sec;
  *ns = (long)((u - sec * 10000000) * 100);
}

/* base64 text (not NUL-terminated) -> malloc'd bytes */
static BYTE *unbase64(const char *text, size_t n, size_t *len) {
  DWORD need = 0;
  BYTE *out;
  if (n == 0 || n > 0x7FFFFFFF) return NULL;
  if (!CryptStringToBinaryA(text, (DWORD)n, CRYPT_STRING_BASE64, NULL, &need, NULL, NULL))
    return NULL;
  if (!(out = malloc(need ? need : 1))) return NULL;
  if (!CryptStringToBinaryA(text, (DWORD)n, CRYPT_STRING_BASE64, out, &need, NULL, NULL)) {
    free(out);
    return NULL;
  }
  *len = need;
  return out;
}

static int bad(wc_meta *m, const char *what) {
  snprintf(m->why, sizeof m->why, "%s", what);
  return -1;
}

static int parse_attr(wc_meta *m, const char *v, size_t n) {
  char buf[16];
  char *end;
  unsigned long long x;
  if (n == 0 || n >= sizeof buf || v[0] < '0' || v[0] > '9')
    return bad(m, "bad MSWINDOWS.fileattr");
  memcpy(buf, v, n);
  buf[n] = 0;
  x = strtoull(buf, &end, 10);
  if (*end || x > 0xFFFFFFFFull) return bad(m, "bad MSWINDOWS.fileattr");
  m->attrs = (DWORD)x;
  m->has_attrs = 1;
  return 0;
}

static int take_sddl(wc_meta *m, const char *v, size_t n) {
  char *s = malloc(n + 1);
  PSECURITY_DESCRIPTOR sd = NULL;
  ULONG len = 0;
  int r = 0;
  if (!s) return bad(m, "not enough memory");
  memcpy(s, v, n);
  s[n] = 0;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(s, SDDL_REVISION_1, &sd, &len) ||
      !(m->sd = malloc(len)))
    r = bad(m, "bad MSWINDOWS.sd (SDDL)");
  else {
    memcpy(m->sd, sd, len);
    m->sd_len = len;
  }
  if (sd) LocalFree(sd);
  free(s);
  return r;
}

static int take_ea(wc_meta *m, const char *name, const char *v, size_t n) {
  size_t len = 0;
  BYTE *val = n ? unbase64(v, n, &len) : (BYTE *)calloc(1, 1);
  if (!val) return bad(m, "bad MSWINDOWS.xattr value (base64)");
  if (m->n_eas == WC_MAX_EAS) {
    free(val);
    return bad(m, "too many MSWINDOWS.xattr records");
  }
  m->eas[m->n_eas].name = name;
  m->eas[m->n_eas].value = val;
  m->eas[m->n_eas].size = len;
  m->n_eas++;
  return 0;
}

static int take(wc_meta *m, const char *name, const char *v, size_t n) {
  if (strcmp(name, "MSWINDOWS.fileattr") == 0) return parse_attr(m, v, n);
  if (strcmp(name, "MSWINDOWS.rawsd") == 0) {
    free(m->sd);
    if (!(m->sd = unbase64(v, n, &m->sd_len))) return bad(m, "bad MSWINDOWS.rawsd (base64)");
    m->raw_sd = 1;
    return 0;
  }
  if (strcmp(name, "MSWINDOWS.sd") == 0) return m->raw_sd ? 0 : take_sddl(m, v, n);
  if (strcmp(name, "MSWINDOWS.mountpoint") == 0) {
    m->mount_point = 1;
    return 0;
  }
  if (strncmp(name, "MSWINDOWS.xattr.", 16) == 0 && name[16]) return take_ea(m, name + 16, v, n);
  return 0; /* other records (SCHILY.*, LIBARCHIVE.xattr.*) mean nothing here */
}

int wc_meta_read(wc_meta *m, struct archive_entry *e) {
  const char *name;
  const void *v;
  size_t n;
  time_t mt = archive_entry_mtime(e);
  long mn = archive_entry_mtime_nsec(e);
  memset(m, 0, sizeof *m);
  m->info.LastWriteTime.QuadPart = wc_ticks(mt, mn);
  m->info.LastAccessTime.QuadPart =
      archive_entry_atime_is_set(e) ? wc_ticks(archive_entry_atime(e), archive_entry_atime_nsec(e))
                                    : wc_ticks(mt, mn);
  m->info.ChangeTime.QuadPart = archive_entry_ctime_is_set(e)
                                    ? wc_ticks(archive_entry_ctime(e), archive_entry_ctime_nsec(e))
                                    : wc_ticks(mt, mn);
  m->info.CreationTime.QuadPart =
      archive_entry_birthtime_is_set(e)
          ? wc_ticks(archive_entry_birthtime(e), archive_entry_birthtime_nsec(e))
          : wc_ticks(mt, mn);
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &v, &n) == ARCHIVE_OK)
    if (take(m, name, (const char *)v, n) < 0) return -1;
  if (!m->has_attrs && archive_entry_filetype(e) == AE_IFDIR) m->attrs = FILE_ATTRIBUTE_DIRECTORY;
  m->info.FileAttributes = m->attrs;
  return 0;
}

void wc_meta_free(wc_meta *m) {
  size_t i;
  for (i = 0; i < m->n_eas; i++) free((void *)(uintptr_t)m->eas[i].value);
  free(m->sd);
  memset(m, 0, sizeof *m);
}
