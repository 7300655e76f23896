/* Exporting a layer as a Windows layer tar (hcsshim's
 * ociwclayer.ExportLayerToTar over wclayer's legacy LayerReader), written
 * with libarchive: ExportLayer(info, id, folder, parents) into a new temp
 * folder, then the folder, walked in name order, becomes PAX tar entries:
 *   - Files\ files and directories (their ".$wcidirs$" sidecars) hold 4
 *     bytes of attributes and a Win32 backup stream: attributes become
 *     MSWINDOWS.fileattr, the security descriptor MSWINDOWS.rawsd (base64),
 *     EAs MSWINDOWS.xattr.<name>, reparse data a symlink (plus
 *     MSWINDOWS.mountpoint for a junction), the data the entry's data (a
 *     sparse file's blocks with zeros between them, as go-winio's
 *     backuptar writes it), and each alternate data stream an entry
 *     "<file>:<stream>" after it (a sparse one is refused, as there);
 *     A file seen before by another name (a hard link) is a hard link
 *     entry to that name, with no data (ociwclayer's linkRecords);
 *   - Hives\ files are plain data;
 *   - tombstones.txt's names become ".wh.<name>" whiteouts.
 * Times come from the folder's files (FILE_BASIC_INFO); the creation time
 * is LIBARCHIVE.creationtime.  The tar is written beside `tar_path` and
 * renamed over it at the end; the temp folder is always removed. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/wclayer.h"

#include <wincrypt.h>

typedef struct exp_ {
  struct archive *a;
  WCHAR *root;
  wc_links links; /* files with more than one name: the first written */
  uint64_t size;
  wc_progress progress;
  wc_err err;
} exp_;

static int ar_fail(exp_ *x, const char *name) {
  return wc_fail(&x->err, PLAT_E_FAIL, "%s: %s", name,
                 archive_error_string(x->a) ? archive_error_string(x->a) : "tar write failed");
}

static void set_time(struct archive_entry *e, LONGLONG t,
                     void (*set)(struct archive_entry *, time_t, long)) {
  time_t s;
  long ns;
  wc_unix_time(t, &s, &ns);
  set(e, s, ns);
}

static void set_times(struct archive_entry *e, const FILE_BASIC_INFO *b) {
  set_time(e, b->LastWriteTime.QuadPart, archive_entry_set_mtime);
  set_time(e, b->LastAccessTime.QuadPart, archive_entry_set_atime);
  set_time(e, b->ChangeTime.QuadPart, archive_entry_set_ctime);
  set_time(e, b->CreationTime.QuadPart, archive_entry_set_birthtime);
}

/* a PAX record of ours: value as text */
static void record(struct archive_entry *e, const char *name, const char *value, size_t n) {
  archive_entry_xattr_add_entry(e, name, value, n);
}

static int base64_record(exp_ *x, struct archive_entry *e, const char *name, const BYTE *p,
                         size_t n) {
  DWORD len = 0;
  char *text;
  const DWORD how = CRYPT_STRING_BASE64 | CRYPT_STRING_NOCRLF;
  if (n == 0) {
    record(e, name, "", 0);
    return 0;
  }
  if (!CryptBinaryToStringA(p, (DWORD)n, how, NULL, &len) || !(text = malloc(len)))
    return wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "base64 of %s failed", name);
  if (!CryptBinaryToStringA(p, (DWORD)n, how, text, &len)) {
    free(text);
    return wc_fail(&x->err, PLAT_E_FAIL, "base64 of %s failed", name);
  }
  record(e, name, text, strlen(text));
  free(text);
  return 0;
}

static BYTE *read_blob(HANDLE h, uint64_t n) {
  BYTE *p;
  DWORD got = 0;
  if (n > 0x1000000 || !(p = malloc((size_t)n + 1))) return NULL;
  if (n && (!ReadFile(h, p, (DWORD)n, &got, NULL) || got != n)) {
    free(p);
    return NULL;
  }
  return p;
}

/* the EA chain -> MSWINDOWS.xattr.<name> records */
static int ea_records(exp_ *x, struct archive_entry *e, const BYTE *p, size_t n) {
  size_t o = 0;
  while (o + 8 <= n) {
    uint32_t next = w32_get32(p + o);
    size_t nl = p[o + 5], vl = w32_get16(p + o + 6);
    char key[16 + 256];
    if (o + 8 + nl + 1 + vl > n) return wc_fail(&x->err, PLAT_E_INVALID_DATA, "a truncated EA");
    snprintf(key, sizeof key, "MSWINDOWS.xattr.%.*s", (int)nl, (const char *)p + o + 8);
    if (base64_record(x, e, key, p + o + 8 + nl + 1, vl) < 0) return -1;
    if (next == 0) return 0;
    o += next;
  }
  return wc_fail(&x->err, PLAT_E_INVALID_DATA, "a truncated EA");
}

/* REPARSE_DATA_BUFFER -> the link target (print name) and kind */
static int reparse_entry(exp_ *x, struct archive_entry *e, const BYTE *p, size_t n) {
  uint32_t tag;
  size_t off, len, base;
  char *target, *c;
  WCHAR *w;
  if (n < 16) return wc_fail(&x->err, PLAT_E_INVALID_DATA, "a truncated reparse point");
  tag = w32_get32(p);
  if (tag != 0xA0000003u && tag != 0xA000000Cu)
    return wc_fail(&x->err, PLAT_E_NOT_SUPPORTED, "reparse tag 0x%08lx", (unsigned long)tag);
  base = tag == 0xA0000003u ? 16 : 20;
  off = w32_get16(p + 12);
  len = w32_get16(p + 14);
  if (base + off + len > n || len % 2)
    return wc_fail(&x->err, PLAT_E_INVALID_DATA, "a bad reparse point");
  if (!(w = calloc(len / 2 + 1, sizeof *w)))
    return wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "no memory");
  memcpy(w, p + base + off, len);
  target = w32_utf8(w);
  free(w);
  if (!target) return wc_fail(&x->err, PLAT_E_INVALID_DATA, "a bad reparse point");
  for (c = target; *c; c++)
    if (*c == '\\') *c = '/';
  archive_entry_set_filetype(e, AE_IFLNK);
  archive_entry_set_symlink_utf8(e, target);
  free(target);
  if (tag == 0xA0000003u) record(e, "MSWINDOWS.mountpoint", "1", 1);
  return 0;
}

/* where each stream of a file lies, after the first pass */
typedef struct spot {
  LARGE_INTEGER at;
  uint64_t size;
  WCHAR name[256];
} spot;

#define MAX_ADS 32

/* a sparse file's allocated range; the last, empty one ends the file */
typedef struct block {
  uint64_t offset, size;
  LARGE_INTEGER at;
} block;

typedef struct scan {
  int has_data;
  spot data, ads[MAX_ADS];
  size_t n_ads;
  block *blocks;
  size_t n_blocks, cap_blocks;
} scan;

static int meta_record(exp_ *x, struct archive_entry *e, HANDLE h, const w32_bs_rec *r) {
  BYTE *p = read_blob(h, r->size);
  int rc = 0;
  if (!p) return wc_fail(&x->err, PLAT_E_INVALID_DATA, "an unreadable stream record");
  if (r->id == W32_BACKUP_SECURITY_DATA)
    rc = base64_record(x, e, "MSWINDOWS.rawsd", p, (size_t)r->size);
  else if (r->id == W32_BACKUP_EA_DATA) rc = ea_records(x, e, p, (size_t)r->size);
  else rc = reparse_entry(x, e, p, (size_t)r->size);
  free(p);
  return rc;
}

static int skip(HANDLE h, uint64_t n, LARGE_INTEGER *at) {
  LARGE_INTEGER d;
  d.QuadPart = 0;
  if (!SetFilePointerEx(h, d, at, FILE_CURRENT)) return -1;
  d.QuadPart = (LONGLONG)n;
  return SetFilePointerEx(h, d, NULL, FILE_CURRENT) ? 0 : -1;
}

/* a BACKUP_SPARSE_BLOCK record, located; they come in file order */
static int sparse_block(exp_ *x, HANDLE h, const w32_bs_rec *r, scan *s, const char *name) {
  const block *last = s->n_blocks ? &s->blocks[s->n_blocks - 1] : NULL;
  BYTE *off = r->size >= 8 ? read_blob(h, 8) : NULL;
  block b, *v;
  if (!off) return wc_fail(&x->err, PLAT_E_INVALID_DATA, "%s: a bad sparse block", name);
  b.offset = w32_get64(off);
  b.size = r->size - 8;
  free(off);
  if ((last && (last->size == 0 || b.offset < last->offset + last->size)) ||
      b.offset > UINT64_MAX - b.size)
    return wc_fail(&x->err, PLAT_E_INVALID_DATA, "%s: sparse blocks out of order", name);
  if (skip(h, b.size, &b.at) < 0) return wc_win_fail(&x->err, "read", name);
  if (!(v = wc_grow(&x->err, s->blocks, s->n_blocks, &s->cap_blocks, sizeof *v))) return -1;
  s->blocks = v;
  s->blocks[s->n_blocks++] = b;
  s->has_data = 1;
  return 0;
}

/* pass 1: metadata into the entry, data and streams located */
static int scan_streams(exp_ *x, struct archive_entry *e, HANDLE h, uint64_t left, scan *s,
                        const char *name) {
  w32_bs_rec r;
  int got;
  while ((got = w32_bs_next(h, left, &r)) == 1) {
    left -= r.total;
    if (r.id == W32_BACKUP_ALTERNATE_DATA && (r.attrs & W32_STREAM_SPARSE_ATTRIBUTE))
      return wc_fail(&x->err, PLAT_E_NOT_SUPPORTED,
                     "%s: tar of sparse alternate data streams is unsupported", name);
    if (r.id == W32_BACKUP_SPARSE_BLOCK) {
      if (sparse_block(x, h, &r, s, name) < 0) return -1;
    } else if (r.id == W32_BACKUP_DATA || r.id == W32_BACKUP_ALTERNATE_DATA) {
      spot *sp = r.id == W32_BACKUP_DATA ? &s->data : &s->ads[s->n_ads];
      if (r.id == W32_BACKUP_ALTERNATE_DATA && s->n_ads == MAX_ADS)
        return wc_fail(&x->err, PLAT_E_NOT_SUPPORTED, "%s: too many streams", name);
      sp->size = r.size;
      memcpy(sp->name, r.name, sizeof sp->name);
      if (skip(h, r.size, &sp->at) < 0) return wc_win_fail(&x->err, "read", name);
      if (r.id == W32_BACKUP_DATA) s->has_data = 1;
      else s->n_ads++;
    } else if (r.id == W32_BACKUP_SECURITY_DATA || r.id == W32_BACKUP_EA_DATA ||
               r.id == W32_BACKUP_REPARSE_DATA) {
      if (meta_record(x, e, h, &r) < 0) return -1;
    } else if (skip(h, r.size, NULL) < 0) { /* links, object ids, ...: not in a tar */
      return wc_win_fail(&x->err, "read", name);
    }
  }
  if (got < 0) return wc_fail(&x->err, PLAT_E_INVALID_DATA, "%s: a malformed backup stream", name);
  /* go-winio: a data record with bytes, or sparse blocks ending in an
   * empty one at the file's size */
  if (s->n_blocks && (s->blocks[s->n_blocks - 1].size != 0 || s->data.size != 0))
    return wc_fail(&x->err, PLAT_E_INVALID_DATA, "%s: bad sparse blocks", name);
  return 0;
}

/* the file's size: its data record's, or the end of its sparse blocks */
static uint64_t data_size(const scan *s) {
  return s->n_blocks ? s->blocks[s->n_blocks - 1].offset : s->data.size;
}

static int copy_spot(exp_ *x, HANDLE h, const spot *sp, const char *name) {
  char buf[65536];
  uint64_t left = sp->size;
  if (!SetFilePointerEx(h, sp->at, NULL, FILE_BEGIN)) return wc_win_fail(&x->err, "read", name);
  while (left > 0) {
    DWORD want = left > sizeof buf ? (DWORD)sizeof buf : (DWORD)left, got = 0;
    if (!ReadFile(h, buf, want, &got, NULL) || got == 0) return wc_win_fail(&x->err, "read", name);
    if (archive_write_data(x->a, buf, got) < 0) return ar_fail(x, name);
    left -= got;
  }
  return 0;
}

static int zeros(exp_ *x, uint64_t n, const char *name) {
  static const char z[4096];
  while (n > 0) {
    size_t k = n > sizeof z ? sizeof z : (size_t)n;
    if (archive_write_data(x->a, z, k) < 0) return ar_fail(x, name);
    n -= k;
  }
  return 0;
}

/* the data: the data record's, or the sparse blocks with zeros between */
static int write_data(exp_ *x, HANDLE h, const scan *s, const char *name) {
  uint64_t at = 0;
  size_t i;
  if (!s->n_blocks) return copy_spot(x, h, &s->data, name);
  for (i = 0; i < s->n_blocks; i++) {
    spot sp;
    sp.at = s->blocks[i].at;
    sp.size = s->blocks[i].size;
    if (zeros(x, s->blocks[i].offset - at, name) < 0 || copy_spot(x, h, &sp, name) < 0) return -1;
    at = s->blocks[i].offset + s->blocks[i].size;
  }
  return 0;
}

/* a, b and c joined, '\\' as '/', malloc'd (no length limit: a name is
 * never cut short); NULL with the error recorded */
static char *tar_name(exp_ *x, const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *out = malloc(n), *p;
  if (!out) {
    wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "no memory");
    return NULL;
  }
  snprintf(out, n, "%s%s%s", a, b, c);
  for (p = out; *p; p++)
    if (*p == '\\') *p = '/';
  return out;
}

static int write_ads(exp_ *x, struct archive_entry *main_e, HANDLE h, const scan *s,
                     const char *name) {
  size_t i;
  for (i = 0; i < s->n_ads; i++) {
    char *sn = w32_utf8(s->ads[i].name), *full;
    size_t l;
    struct archive_entry *e;
    int rc;
    if (!sn) return wc_fail(&x->err, PLAT_E_INVALID_DATA, "%s: a bad stream name", name);
    l = strlen(sn);
    if (l > 6 && strcmp(sn + l - 6, ":$DATA") == 0) sn[l - 6] = 0;
    full = tar_name(x, name, sn, "");
    free(sn);
    if (!full) return -1;
    if (!(e = archive_entry_clone(main_e))) {
      free(full);
      return wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "no memory");
    }
    archive_entry_xattr_clear(e);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_pathname_utf8(e, full);
    archive_entry_set_size(e, (la_int64_t)s->ads[i].size);
    rc = archive_write_header(x->a, e) < ARCHIVE_WARN ? ar_fail(x, full)
                                                      : copy_spot(x, h, &s->ads[i], full);
    archive_entry_free(e);
    free(full);
    if (rc < 0) return -1;
  }
  return 0;
}

/* another name of a file written before: a hard link entry, no data */
static int link_entry(exp_ *x, struct archive_entry *e, const char *first, const char *rel) {
  archive_entry_set_hardlink_utf8(e, first);
  archive_entry_set_size(e, 0);
  return archive_write_header(x->a, e) < ARCHIVE_WARN ? ar_fail(x, rel) : 0;
}

/* a Files\ entry: path is the file, or the directory's sidecar */
static int files_entry(exp_ *x, const wc_item *it) {
  const char *rel = it->rel;
  int dir = (it->attrs & FILE_ATTRIBUTE_DIRECTORY) != 0;
  struct archive_entry *e = NULL;
  FILE_BASIC_INFO b;
  DWORD attrs = 0;
  uint64_t left = 0;
  char *name = NULL, num[16];
  scan s;
  int rc = -1;
  HANDLE h = wc_open_entry(&x->err, x->root, it, &attrs, &left);
  memset(&s, 0, sizeof s);
  if (h == INVALID_HANDLE_VALUE) return -1;
  if (!(name = tar_name(x, rel, "", ""))) goto out;
  if (!GetFileInformationByHandleEx(h, FileBasicInfo, &b, sizeof b)) {
    wc_win_fail(&x->err, "read", rel);
    goto out;
  }
  if (!(e = archive_entry_new())) {
    wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "no memory");
    goto out;
  }
  archive_entry_set_pathname_utf8(e, name);
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  set_times(e, &b);
  snprintf(num, sizeof num, "%lu", (unsigned long)attrs);
  record(e, "MSWINDOWS.fileattr", num, strlen(num));
  if (!dir) {
    const char *first = NULL;
    if (wc_links_check(&x->err, &x->links, h, name, &first) < 0) goto out;
    if (first) {
      rc = link_entry(x, e, first, rel);
      goto out;
    }
  }
  if (scan_streams(x, e, h, left, &s, rel) < 0) goto out;
  if (s.has_data && archive_entry_filetype(e) == AE_IFREG)
    archive_entry_set_size(e, (la_int64_t)data_size(&s));
  if (archive_write_header(x->a, e) < ARCHIVE_WARN) {
    ar_fail(x, rel);
    goto out;
  }
  if (s.has_data && archive_entry_filetype(e) == AE_IFREG) {
    if (write_data(x, h, &s, rel) < 0) goto out;
    x->size += data_size(&s);
  }
  rc = write_ads(x, e, h, &s, name);
out:
  if (e) archive_entry_free(e);
  free(s.blocks);
  free(name);
  CloseHandle(h);
  return rc;
}

/* a plain entry: Hives\ files, the top directories */
static int plain_entry(exp_ *x, const WCHAR *path, const char *rel, int dir) {
  HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS, NULL);
  struct archive_entry *e;
  FILE_BASIC_INFO b;
  LARGE_INTEGER fsize;
  char *name, num[16];
  spot sp;
  int rc = 0;
  if (h == INVALID_HANDLE_VALUE) return wc_win_fail(&x->err, "open", rel);
  if (!GetFileInformationByHandleEx(h, FileBasicInfo, &b, sizeof b) || !GetFileSizeEx(h, &fsize)) {
    CloseHandle(h);
    return wc_win_fail(&x->err, "read", rel);
  }
  if (!(name = tar_name(x, rel, "", ""))) {
    CloseHandle(h);
    return -1;
  }
  if (!(e = archive_entry_new())) {
    free(name);
    CloseHandle(h);
    return wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "no memory");
  }
  archive_entry_set_pathname_utf8(e, name);
  free(name);
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  set_times(e, &b);
  snprintf(num, sizeof num, "%lu", (unsigned long)b.FileAttributes);
  record(e, "MSWINDOWS.fileattr", num, strlen(num));
  if (!dir) archive_entry_set_size(e, fsize.QuadPart);
  if (archive_write_header(x->a, e) < ARCHIVE_WARN) rc = ar_fail(x, rel);
  memset(&sp, 0, sizeof sp);
  sp.size = (uint64_t)fsize.QuadPart;
  if (rc == 0 && !dir) rc = copy_spot(x, h, &sp, rel);
  if (rc == 0 && !dir) x->size += sp.size;
  archive_entry_free(e);
  CloseHandle(h);
  return rc;
}

/* one deleted name ("Files\\dir\\x") -> the whiteout "Files/dir/.wh.x" */
static int whiteout(exp_ *x, char *rel) {
  char *base = strrchr(rel, '\\'), *name;
  struct archive_entry *e;
  int rc = 0;
  *base++ = 0; /* rel: the deleted name's directory */
  if (!(name = tar_name(x, rel, "/.wh.", base))) return -1;
  if (!(e = archive_entry_new())) {
    free(name);
    return wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "no memory");
  }
  archive_entry_set_pathname_utf8(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  if (archive_write_header(x->a, e) < ARCHIVE_WARN) rc = ar_fail(x, name);
  archive_entry_free(e);
  free(name);
  return rc;
}

/* tombstones.txt -> whiteouts (".wh.<name>" beside the deleted name) */
static int whiteouts(exp_ *x) {
  wc_tombs t;
  char rel[1100];
  int got, rc = 0;
  if (wc_tombstones_read(&x->err, x->root, &t) < 0) return -1;
  while (rc == 0 && (got = wc_tombstones_next(&x->err, &t, rel, sizeof rel)) != 0)
    rc = got < 0 ? -1 : whiteout(x, rel);
  free(t.text);
  return rc;
}

static int one_item(exp_ *x, const wc_item *it) {
  int dir = (it->attrs & FILE_ATTRIBUTE_DIRECTORY) != 0;
  int top = !strchr(it->rel, '\\');
  if (wc_not_an_entry(it->rel)) return 0;
  if (strncmp(it->rel, "Files\\", 6) != 0 || top) {
    if (!top && strncmp(it->rel, "Hives\\", 6) != 0)
      return wc_fail(&x->err, PLAT_E_INVALID_DATA, "%s: unexpected in an exported layer", it->rel);
    return plain_entry(x, it->path, it->rel, dir);
  }
  return files_entry(x, it);
}

static int report(exp_ *x, int last) {
  return wc_report(&x->progress, &x->err, (uint64_t)archive_filter_bytes(x->a, -1), last);
}

static int write_tar(exp_ *x, const WCHAR *tmp) {
  wc_tree t;
  size_t i;
  int rc = 0;
  if (!(x->a = archive_write_new())) return wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "no memory");
  archive_write_set_format_pax_restricted(x->a);
  if (archive_write_open_filename_w(x->a, tmp) != ARCHIVE_OK) return ar_fail(x, "the tar");
  if (wc_walk(x->root, &t) < 0) return wc_fail(&x->err, PLAT_E_OUTOFMEMORY, "no memory");
  for (i = 0; i < t.n && rc == 0; i++)
    if ((rc = one_item(x, &t.v[i])) == 0) {
      x->progress.entries++;
      rc = report(x, 0);
    }
  wc_tree_free(&t);
  if (rc == 0) rc = whiteouts(x);
  if (rc == 0 && archive_write_close(x->a) != ARCHIVE_OK) rc = ar_fail(x, "the tar");
  if (rc == 0) rc = report(x, 1);
  return rc;
}

plat_hresult plat_ExportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count,
                                 const plat_progress *progress, uint64_t *size) {
  exp_ x;
  WCHAR *tmp = NULL, *dest = NULL;
  plat_hresult hr;
  memset(&x, 0, sizeof x);
  x.progress.p = progress;
  *size = 0;
  if (!(dest = w32_wide(tar_path, "tar path", &hr))) return hr;
  if (!(tmp = wc_path(dest, "", L".tmp"))) wc_fail(&x.err, PLAT_E_OUTOFMEMORY, "not enough memory");
  else if (wc_export_to_temp(&x.err, info, id, layers, count, &x.root) == 0 &&
           write_tar(&x, tmp) == 0 && !MoveFileExW(tmp, dest, MOVEFILE_REPLACE_EXISTING))
    wc_win_fail(&x.err, "rename the tar to", tar_path);
  if (x.a) archive_write_free(x.a);
  if (x.err.hr < 0 && tmp) DeleteFileW(tmp);
  if (x.root) wc_remove_tree(x.root);
  wc_links_free(&x.links);
  free(x.root);
  free(tmp);
  free(dest);
  if (x.err.hr >= 0) *size = x.size;
  return wc_done(&x.err);
}
