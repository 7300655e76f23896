/* Win32 backup streams (hcs-api.md 7.2): the records BackupRead produces
 * and BackupWrite consumes, and that a legacy layer folder keeps after each
 * file's 4-byte attributes.  A layer tar's metadata becomes these records:
 * security descriptor, extended attributes (FILE_FULL_EA_INFORMATION
 * chain), reparse data (REPARSE_DATA_BUFFER of a symlink or mount point),
 * the data and the alternate data streams.  Every record goes to a sink:
 * a plain file (the legacy folder) or BackupWrite on the file itself (a
 * base layer, written in place). */
#include <stdlib.h>
#include <string.h>

#include "win32/w32.h"

int w32_sink_write(w32_sink *s, const void *p, size_t n) {
  const BYTE *b = (const BYTE *)p;
  while (n > 0) {
    DWORD chunk = n > 0x100000 ? 0x100000 : (DWORD)n, done = 0;
    BOOL ok = s->backup
                  ? BackupWrite(s->h, (BYTE *)(uintptr_t)b, chunk, &done, FALSE, TRUE, &s->ctx)
                  : WriteFile(s->h, b, chunk, &done, NULL);
    if (!ok || done == 0) return -1;
    b += done;
    n -= done;
  }
  return 0;
}

void w32_sink_close(w32_sink *s) {
  DWORD done = 0;
  if (s->backup && s->ctx) BackupWrite(s->h, NULL, 0, &done, TRUE, TRUE, &s->ctx);
  s->ctx = NULL;
  if (s->h != INVALID_HANDLE_VALUE && s->h) CloseHandle(s->h);
  s->h = INVALID_HANDLE_VALUE;
}

static void put32(BYTE *p, uint32_t v) {
  p[0] = (BYTE)v;
  p[1] = (BYTE)(v >> 8);
  p[2] = (BYTE)(v >> 16);
  p[3] = (BYTE)(v >> 24);
}

static void put16(BYTE *p, unsigned v) {
  p[0] = (BYTE)v;
  p[1] = (BYTE)(v >> 8);
}

uint32_t w32_get32(const BYTE *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

unsigned w32_get16(const BYTE *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

uint64_t w32_get64(const BYTE *p) {
  return (uint64_t)w32_get32(p) | (uint64_t)w32_get32(p + 4) << 32;
}

void w32_bs_pack(BYTE *h, uint32_t id, uint32_t attrs, uint64_t size, uint32_t name_bytes) {
  put32(h, id);
  put32(h + 4, attrs);
  put32(h + 8, (uint32_t)size);
  put32(h + 12, (uint32_t)(size >> 32));
  put32(h + 16, name_bytes);
}

void w32_bs_unpack(const BYTE *h, w32_bs_rec *r) {
  r->id = w32_get32(h);
  r->attrs = w32_get32(h + 4);
  r->size = w32_get64(h + 8);
  r->name_bytes = w32_get32(h + 16);
}

/* the packed header, then the name */
int w32_bs_header(w32_sink *s, uint32_t id, uint32_t attrs, uint64_t size, const WCHAR *name) {
  BYTE h[W32_BS_HEADER];
  size_t nb = name ? wcslen(name) * sizeof(WCHAR) : 0;
  w32_bs_pack(h, id, attrs, size, (uint32_t)nb);
  if (w32_sink_write(s, h, sizeof h) < 0) return -1;
  return nb ? w32_sink_write(s, name, nb) : 0;
}

int w32_bs_record(w32_sink *s, uint32_t id, const void *data, size_t n) {
  if (w32_bs_header(s, id, 0, n, NULL) < 0) return -1;
  return w32_sink_write(s, data, n);
}

/* The EA chain: NextEntryOffset u32, Flags u8, NameLength u8, ValueLength
 * u16, name, NUL, value, padded to 4 bytes (the last one too, as go-winio
 * writes it); the last one's offset is 0. */
BYTE *w32_ea_encode(const w32_ea *eas, size_t n, size_t *len) {
  size_t i, total = 0, o = 0;
  BYTE *out;
  for (i = 0; i < n; i++) {
    if (strlen(eas[i].name) > 255 || eas[i].size > 0xFFFF) return NULL;
    total += (8 + strlen(eas[i].name) + 1 + eas[i].size + 3) & ~(size_t)3;
  }
  if (!(out = calloc(1, total ? total : 1))) return NULL;
  for (i = 0; i < n; i++) {
    size_t nl = strlen(eas[i].name), sz = 8 + nl + 1 + eas[i].size;
    size_t step = (sz + 3) & ~(size_t)3;
    put32(out + o, i + 1 < n ? (uint32_t)step : 0);
    out[o + 4] = 0;
    out[o + 5] = (BYTE)nl;
    put16(out + o + 6, (unsigned)eas[i].size);
    memcpy(out + o + 8, eas[i].name, nl);
    memcpy(out + o + 8 + nl + 1, eas[i].value, eas[i].size);
    o += step;
  }
  *len = o;
  return out;
}

static int drive_letter(WCHAR c) { return (c >= L'a' && c <= L'z') || (c >= L'A' && c <= L'Z'); }

/* REPARSE_DATA_BUFFER of a symlink (flags: 1 = relative) or a mount point
 * (junction): the NT substitute name, then the print name (the target as
 * given), both NUL-terminated though counted. */
BYTE *w32_reparse_encode(const WCHAR *target, int mount_point, size_t *len) {
  const WCHAR *prefix = L"", *rest = target;
  size_t tl = wcslen(target), nl, pl, hdr = mount_point ? 16 : 20, size;
  int relative = 0;
  BYTE *out, *p;
  if (wcsncmp(target, L"\\\\?\\", 4) == 0) {
    prefix = L"\\??\\";
    rest = target + 4;
  } else if (wcsncmp(target, L"\\\\", 2) == 0) {
    prefix = L"\\??\\UNC\\";
    rest = target + 2;
  } else if (tl >= 2 && drive_letter(target[0]) && target[1] == L':') {
    prefix = L"\\??\\";
  } else {
    relative = 1;
  }
  nl = wcslen(prefix) + wcslen(rest); /* substitute name, WCHARs */
  pl = tl;
  size = hdr + (nl + 1 + pl + 1) * sizeof(WCHAR);
  if (size - 8 > 0xFFFF || !(out = calloc(1, size))) return NULL;
  put32(out, mount_point ? 0xA0000003u : 0xA000000Cu);
  put16(out + 4, (unsigned)(size - 8));
  put16(out + 8, 0);
  put16(out + 10, (unsigned)(nl * sizeof(WCHAR)));
  put16(out + 12, (unsigned)((nl + 1) * sizeof(WCHAR)));
  put16(out + 14, (unsigned)(pl * sizeof(WCHAR)));
  if (!mount_point) put32(out + 16, relative ? 1u : 0u);
  p = out + hdr;
  memcpy(p, prefix, wcslen(prefix) * sizeof(WCHAR));
  memcpy(p + wcslen(prefix) * sizeof(WCHAR), rest, wcslen(rest) * sizeof(WCHAR));
  memcpy(p + (nl + 1) * sizeof(WCHAR), target, pl * sizeof(WCHAR));
  *len = size;
  return out;
}

static int read_exact(HANDLE h, void *p, DWORD n) {
  DWORD got = 0;
  return n == 0 || (ReadFile(h, p, n, &got, NULL) && got == n) ? 0 : -1;
}

int w32_bs_next(HANDLE h, uint64_t left, w32_bs_rec *r) {
  BYTE hd[W32_BS_HEADER];
  if (left == 0) return 0;
  if (left < W32_BS_HEADER || read_exact(h, hd, W32_BS_HEADER) < 0) return -1;
  w32_bs_unpack(hd, r);
  memset(r->name, 0, sizeof r->name);
  if (r->name_bytes % 2 || r->name_bytes >= sizeof r->name || r->name_bytes > left - 20 ||
      r->size > left - 20 - r->name_bytes || read_exact(h, r->name, r->name_bytes) < 0)
    return -1;
  r->total = 20 + r->name_bytes + r->size;
  return 1;
}
