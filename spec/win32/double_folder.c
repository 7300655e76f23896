/* TEST CODE ONLY: what the vmcompute.dll double reads in a layer folder,
 * as strictly as HCS does, with a backup-stream decoder of its own (it
 * shares nothing with the core's encoder).
 *   - ImportLayer's legacy transport folder (hcs-api.md 7.1): only Files\,
 *     Hives\ and tombstones.txt at the top; every Files\ file is 4 bytes of
 *     attributes followed by whole WIN32_STREAM_ID records (ids 1, 2, 3, 4,
 *     8 and 9), nothing left over; every directory has its ".$wcidirs$"
 *     sidecar with FILE_ATTRIBUTE_DIRECTORY; tombstones.txt starts with the
 *     UTF-8 BOM and "Version 1.0" and lists "\"-rooted names.
 *   - ProcessBaseImage's layer folder: a Files\ directory, its tree as is.
 * The result is a manifest, one sorted line per entry, that the suite
 * compares with the golden one. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "double_folder.h"

typedef struct buf {
  char *s;
  size_t n, cap;
} buf;

static void put(buf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (b->n + (size_t)n + 1 > b->cap) {
    b->cap = (b->n + (size_t)n + 1) * 2;
    b->s = realloc(b->s, b->cap);
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->n, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)n;
}

static int refuse(char *why, size_t wl, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, wl, fmt, ap);
  va_end(ap);
  return -1;
}

/* printable bytes as they are, others (and "\", space) as \xNN */
static void esc(buf *b, const unsigned char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\') put(b, "%c", p[i]);
    else put(b, "\\x%02x", p[i]);
  }
}

static void hex(buf *b, const unsigned char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) put(b, "%02x", p[i]);
}

static char *u8of(const WCHAR *w, size_t wn) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, (int)wn, NULL, 0, NULL, NULL);
  char *s = malloc((size_t)n + 1);
  WideCharToMultiByte(CP_UTF8, 0, w, (int)wn, s, n, NULL, NULL);
  s[n] = 0;
  return s;
}

/* ---- the tree, sorted ---- */

typedef struct item {
  char *rel; /* UTF-8, "\"-separated */
  WCHAR *path;
  DWORD attrs;
} item;

typedef struct tree {
  item *v;
  size_t n, cap;
} tree;

static void walk(tree *t, const WCHAR *dir, const char *rel) {
  WIN32_FIND_DATAW fd;
  WCHAR pattern[1024];
  HANDLE f;
  swprintf(pattern, 1024, L"%ls\\*", dir);
  if ((f = FindFirstFileW(pattern, &fd)) == INVALID_HANDLE_VALUE) return;
  do {
    item it;
    char *name;
    size_t pl;
    if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0) continue;
    name = u8of(fd.cFileName, wcslen(fd.cFileName));
    it.rel = malloc(strlen(rel) + strlen(name) + 2);
    sprintf(it.rel, "%s%s%s", rel, *rel ? "\\" : "", name);
    free(name);
    pl = wcslen(dir) + wcslen(fd.cFileName) + 2;
    it.path = malloc(pl * sizeof(WCHAR));
    swprintf(it.path, pl, L"%ls\\%ls", dir, fd.cFileName);
    it.attrs = fd.dwFileAttributes;
    if (t->n == t->cap) t->v = realloc(t->v, (t->cap = t->cap * 2 + 16) * sizeof *t->v);
    t->v[t->n++] = it;
    if (it.attrs & FILE_ATTRIBUTE_DIRECTORY) walk(t, it.path, it.rel);
  } while (FindNextFileW(f, &fd));
  FindClose(f);
}

static int by_rel(const void *a, const void *b) {
  return strcmp(((const item *)a)->rel, ((const item *)b)->rel);
}

/* the tree under root, sorted by name (a directory before its contents) */
static void tree_read(tree *t, const WCHAR *root) {
  walk(t, root, "");
  if (t->n) qsort(t->v, t->n, sizeof *t->v, by_rel);
}

static void tree_free(tree *t) {
  size_t i;
  for (i = 0; i < t->n; i++) {
    free(t->v[i].rel);
    free(t->v[i].path);
  }
  free(t->v);
}

static unsigned char *slurp(const WCHAR *path, size_t *n) {
  HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS, NULL);
  LARGE_INTEGER size;
  unsigned char *p;
  DWORD got = 0;
  if (h == INVALID_HANDLE_VALUE) return NULL;
  GetFileSizeEx(h, &size);
  p = malloc((size_t)size.QuadPart + 1);
  if (size.QuadPart &&
      (!ReadFile(h, p, (DWORD)size.QuadPart, &got, NULL) || got != (DWORD)size.QuadPart)) {
    free(p);
    p = NULL;
  }
  CloseHandle(h);
  *n = (size_t)size.QuadPart;
  return p;
}

static int starts(const char *s, const char *top) {
  size_t n = strlen(top);
  return strncmp(s, top, n) == 0 && (s[n] == 0 || s[n] == '\\');
}

static unsigned long le32(const unsigned char *p) {
  return (unsigned long)p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 |
         (unsigned long)p[3] << 24;
}

/* one record: id, UTF-16 name (namesz bytes), data */
typedef void record_fn(buf *b, unsigned long id, const unsigned char *name, size_t namesz,
                       const unsigned char *data, size_t size);

/* the records after the attributes, each to fn; -1 with why set when
 * malformed */
static int each_record(buf *b, const unsigned char *p, size_t n, record_fn *fn, char *why,
                       size_t wl) {
  size_t o = 0;
  while (o < n) {
    unsigned long id, namesz;
    unsigned long long size;
    if (n - o < 20) return refuse(why, wl, "a truncated stream header");
    id = le32(p + o);
    size = le32(p + o + 8) | (unsigned long long)le32(p + o + 12) << 32;
    namesz = le32(p + o + 16);
    o += 20;
    if (namesz % 2 || namesz > n - o || size > n - o - namesz)
      return refuse(why, wl, "a stream record past the end");
    if (id < 1 || id > 9 || (id > 4 && id < 8)) return refuse(why, wl, "unknown stream id %lu", id);
    if (id == 9 && size < 8) return refuse(why, wl, "a sparse block without its offset");
    if (id != 4 && namesz) return refuse(why, wl, "a name on stream id %lu", id);
    fn(b, id, p + o, namesz, p + o + namesz, (size_t)size);
    o += namesz + (size_t)size;
  }
  return 0;
}

/* a record as a manifest field */
static void print_record(buf *b, unsigned long id, const unsigned char *name, size_t namesz,
                         const unsigned char *data, size_t size) {
  switch (id) {
  case 1:
    put(b, " data=");
    esc(b, data, size);
    break;
  case 4: {
    char *n8 = u8of((const WCHAR *)(const void *)name, namesz / 2);
    put(b, " ads[%s]=", n8);
    free(n8);
    esc(b, data, size);
    break;
  }
  case 9:
    put(b, " sparse@%lu=", le32(data));
    esc(b, data + 8, size - 8);
    break;
  default: put(b, " %s=", id == 2 ? "ea" : id == 3 ? "sd" : "reparse"); hex(b, data, size);
  }
}

/* the data records alone: the file's content */
static void data_record(buf *b, unsigned long id, const unsigned char *name, size_t namesz,
                        const unsigned char *data, size_t size) {
  (void)name;
  (void)namesz;
  if (id != 1) return;
  if (b->n + size + 1 > b->cap) b->s = realloc(b->s, b->cap = (b->n + size + 1) * 2);
  memcpy(b->s + b->n, data, size);
  b->n += size;
}

static int tombstones(buf *b, const unsigned char *p, size_t n, char *why, size_t wl) {
  static const char head[] = "\xef\xbb\xbfVersion 1.0\n";
  size_t o = sizeof head - 1;
  if (n < o || memcmp(p, head, o) != 0)
    return refuse(why, wl, "tombstones.txt: no BOM + Version 1.0 line");
  while (o < n) {
    const unsigned char *nl = memchr(p + o, '\n', n - o);
    size_t len = nl ? (size_t)(nl - (p + o)) : n - o;
    if (len < 2 || p[o] != '\\') return refuse(why, wl, "tombstones.txt: a bad line");
    put(b, "tombstone ");
    esc(b, p + o, len);
    put(b, "\n");
    o += len + 1;
  }
  return 0;
}

static int has_sidecar(const tree *t, const char *rel) {
  size_t i, n = strlen(rel);
  for (i = 0; i < t->n; i++)
    if (strncmp(t->v[i].rel, rel, n) == 0 && strcmp(t->v[i].rel + n, ".$wcidirs$") == 0) return 1;
  return 0;
}

static int legacy_item(buf *b, const tree *t, const item *it, char *why, size_t wl) {
  size_t n = 0;
  unsigned char *p;
  int r = 0;
  if (it->attrs & FILE_ATTRIBUTE_DIRECTORY) {
    if (!starts(it->rel, "Files") && !starts(it->rel, "Hives"))
      return refuse(why, wl, "unexpected %s", it->rel);
    if (strchr(it->rel, '\\') && !has_sidecar(t, it->rel))
      return refuse(why, wl, "%s has no .$wcidirs$ sidecar", it->rel);
    put(b, "dir %s\n", it->rel);
    return 0;
  }
  if (!(p = slurp(it->path, &n))) return refuse(why, wl, "cannot read %s", it->rel);
  if (strcmp(it->rel, "tombstones.txt") == 0) {
    r = tombstones(b, p, n, why, wl);
  } else if (starts(it->rel, "Hives")) {
    put(b, "hive %s data=", it->rel);
    esc(b, p, n);
    put(b, "\n");
  } else if (starts(it->rel, "Files") && n >= 4) {
    size_t l = strlen(it->rel);
    int side = l > 10 && strcmp(it->rel + l - 10, ".$wcidirs$") == 0;
    if (side != ((le32(p) & FILE_ATTRIBUTE_DIRECTORY) != 0))
      r = refuse(why, wl, "%s: directory attribute on a file or missing on a sidecar", it->rel);
    put(b, "file %s attr=%lu", it->rel, le32(p));
    if (r == 0) r = each_record(b, p + 4, n - 4, print_record, why, wl);
    put(b, "\n");
  } else {
    r = refuse(why, wl, "unexpected %s", it->rel);
  }
  free(p);
  return r;
}

/* a file's identity: volume serial and index, and its link count */
static int file_id(const WCHAR *path, BY_HANDLE_FILE_INFORMATION *fi) {
  HANDLE h = CreateFileW(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
  int ok = h != INVALID_HANDLE_VALUE && GetFileInformationByHandle(h, fi);
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  return ok ? 0 : -1;
}

static unsigned long file_links(const WCHAR *path) {
  BY_HANDLE_FILE_INFORMATION fi;
  return file_id(path, &fi) == 0 ? fi.nNumberOfLinks : 0;
}

int folder_same_file(const WCHAR *a, const WCHAR *b) {
  BY_HANDLE_FILE_INFORMATION x, y;
  return file_id(a, &x) == 0 && file_id(b, &y) == 0 &&
         x.dwVolumeSerialNumber == y.dwVolumeSerialNumber && x.nFileIndexHigh == y.nFileIndexHigh &&
         x.nFileIndexLow == y.nFileIndexLow;
}

static int base_item(buf *b, const item *it, char *why, size_t wl) {
  size_t n = 0;
  unsigned char *p;
  /* and ociwclayer's copies of the utility VM's BCD files at the top */
  size_t l = strlen(it->rel);
  int bak = l > 7 && strncmp(it->rel, "bcd", 3) == 0 && !strchr(it->rel, '\\') &&
            strcmp(it->rel + l - 4, ".bak") == 0;
  if (!starts(it->rel, "Files") && !starts(it->rel, "Hives") && !starts(it->rel, "UtilityVM") &&
      !bak)
    return refuse(why, wl, "unexpected %s", it->rel);
  if (it->attrs & FILE_ATTRIBUTE_DIRECTORY) {
    put(b, "dir %s\n", it->rel);
    return 0;
  }
  if (!(p = slurp(it->path, &n))) return refuse(why, wl, "cannot read %s", it->rel);
  put(b, "file %s data=", it->rel);
  esc(b, p, n);
  if (file_links(it->path) > 1) put(b, " links=%lu", file_links(it->path));
  put(b, "\n");
  free(p);
  return 0;
}

char *folder_manifest(const WCHAR *root, int legacy, char *why, size_t wl) {
  tree t = {NULL, 0, 0};
  buf b = {NULL, 0, 0};
  size_t i;
  int r = 0, files = 0;
  DWORD a = GetFileAttributesW(root);
  if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_DIRECTORY)) {
    snprintf(why, wl, "no such folder");
    return NULL;
  }
  tree_read(&t, root);
  put(&b, "%s", "");
  for (i = 0; i < t.n && r == 0; i++) {
    if (strcmp(t.v[i].rel, "Files") == 0) files = 1;
    r = legacy ? legacy_item(&b, &t, &t.v[i], why, wl) : base_item(&b, &t.v[i], why, wl);
  }
  if (r == 0 && !files) r = refuse(why, wl, "no Files folder");
  tree_free(&t);
  if (r < 0) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

/* ---- the layer store: what ImportLayer took, ExportLayer gives back ---- */

/* the index of an earlier item of t that is the same file as item i, or i */
static size_t first_link(const tree *t, size_t i) {
  size_t j;
  if (file_links(t->v[i].path) < 2) return i;
  for (j = 0; j < i; j++)
    if (!(t->v[j].attrs & FILE_ATTRIBUTE_DIRECTORY) && folder_same_file(t->v[j].path, t->v[i].path))
      return j;
  return i;
}

int folder_copy(const WCHAR *from, const WCHAR *to) {
  tree t = {NULL, 0, 0};
  size_t i, fl = wcslen(from);
  int r = 0;
  if (!CreateDirectoryW(to, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) return -1;
  tree_read(&t, from);
  for (i = 0; i < t.n && r == 0; i++) {
    WCHAR dst[1024], src[1024];
    size_t j;
    swprintf(dst, 1024, L"%ls%ls", to, t.v[i].path + fl);
    if (t.v[i].attrs & FILE_ATTRIBUTE_DIRECTORY) {
      r = CreateDirectoryW(dst, NULL) ? 0 : -1;
    } else if ((j = first_link(&t, i)) != i) { /* hard links stay links */
      swprintf(src, 1024, L"%ls%ls", to, t.v[j].path + fl);
      r = CreateHardLinkW(dst, src, NULL) ? 0 : -1;
    } else {
      r = CopyFileW(t.v[i].path, dst, TRUE) ? 0 : -1;
    }
  }
  tree_free(&t);
  return r;
}

void folder_remove(const WCHAR *root) {
  tree t = {NULL, 0, 0};
  size_t i;
  tree_read(&t, root);
  for (i = t.n; i-- > 0;) { /* children first */
    SetFileAttributesW(t.v[i].path, FILE_ATTRIBUTE_NORMAL);
    if (t.v[i].attrs & FILE_ATTRIBUTE_DIRECTORY) RemoveDirectoryW(t.v[i].path);
    else DeleteFileW(t.v[i].path);
  }
  tree_free(&t);
  RemoveDirectoryW(root);
}

int folder_empty(const WCHAR *root) {
  tree t = {NULL, 0, 0};
  int empty;
  tree_read(&t, root);
  empty = t.n == 0;
  tree_free(&t);
  return empty;
}

/* ---- what HCS makes of an imported layer: its folder HomeDir\id ---- */

/* one transport-folder entry expanded into the layer's folder */
static int expand_item(const item *it, const WCHAR *dst) {
  size_t n = 0, l = strlen(it->rel);
  unsigned char *p;
  buf b = {NULL, 0, 0};
  char why[100];
  HANDLE h;
  DWORD done = 0;
  int r = 0;
  if (it->attrs & FILE_ATTRIBUTE_DIRECTORY)
    return CreateDirectoryW(dst, NULL) || GetLastError() == ERROR_ALREADY_EXISTS ? 0 : -1;
  if (l > 10 && strcmp(it->rel + l - 10, ".$wcidirs$") == 0) return 0;
  if (!(p = slurp(it->path, &n))) return -1;
  if (starts(it->rel, "Files")) /* the data of the backup stream; a hive as it is */
    r = n >= 4 ? each_record(&b, p + 4, n - 4, data_record, why, sizeof why) : -1;
  else data_record(&b, 1, NULL, 0, p, n);
  h = r == 0 ? CreateFileW(dst, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL)
             : INVALID_HANDLE_VALUE;
  if (h == INVALID_HANDLE_VALUE || (b.n && !WriteFile(h, b.s, (DWORD)b.n, &done, NULL))) r = -1;
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  free(b.s);
  free(p);
  return r;
}

int folder_make(const WCHAR *path) {
  WCHAR *p = _wcsdup(path), *c;
  for (c = wcschr(p + 3, L'\\'); c; c = wcschr(c + 1, L'\\')) { /* those above it */
    *c = 0;
    CreateDirectoryW(p, NULL);
    *c = L'\\';
  }
  free(p);
  return CreateDirectoryW(path, NULL) || GetLastError() == ERROR_ALREADY_EXISTS ? 0 : -1;
}

int folder_expand(const WCHAR *transport, const WCHAR *layer) {
  tree t = {NULL, 0, 0};
  size_t i, fl = wcslen(transport);
  int r = 0;
  if (folder_make(layer) < 0) return -1;
  tree_read(&t, transport);
  for (i = 0; i < t.n && r == 0; i++) {
    WCHAR dst[1024];
    if (strcmp(t.v[i].rel, "tombstones.txt") == 0) continue;
    swprintf(dst, 1024, L"%ls%ls", layer, t.v[i].path + fl);
    r = expand_item(&t.v[i], dst);
  }
  tree_free(&t);
  return r;
}
