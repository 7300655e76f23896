/* The layer streams of the seam (ImportLayerBegin/Next/Write/End,
 * ExportLayerBegin/Next/Read/End) the way hcsshim's wclayer does them
 * since 2018, not through vmcompute's streaming exports (which it stopped
 * using and current vmcompute.dll may lack):
 *   - the writer is wcwriter.c's LayerWriter: the legacy transport folder
 *     and ImportLayer at End, or a base layer in place with BackupWrite and
 *     ProcessBaseImage at End.  Names are layer-relative ("\Files\a");
 *     data is the Win32 backup stream; a NULL info is a tombstone;
 *   - the reader runs ExportLayer into a temp folder at Begin and reads it
 *     back in name order: Files\ entries give their attributes (the 4-byte
 *     prefix) and their backup stream as it is stored, their size being
 *     the BACKUP_DATA size; Hives\ files give a backup stream of one data
 *     record; the tombstones come last, as deleted names.  End removes the
 *     folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/wclayer.h"

/* ---- writer ---- */

typedef struct wstream {
  wc_writer w;
  plat_driver_info info;
  char *home, *id;
  plat_layer_descriptor *layers;
  size_t count;
} wstream;

static void wstream_free(wstream *s) {
  size_t i;
  wc_writer_free(&s->w);
  for (i = 0; i < s->count; i++) free((char *)(uintptr_t)s->layers[i].Path);
  free(s->layers);
  free(s->home);
  free(s->id);
  free(s);
}

/* the arguments End needs, copied */
static int keep_args(wstream *s, const plat_driver_info *info, const char *id,
                     const plat_layer_descriptor *layers, size_t count) {
  s->info.Flavour = info->Flavour;
  s->info.HomeDir = s->home = _strdup(info->HomeDir ? info->HomeDir : "");
  s->id = _strdup(id);
  s->layers = calloc(count ? count : 1, sizeof *s->layers);
  if (!s->home || !s->id || !s->layers) return -1;
  for (; s->count < count; s->count++) {
    s->layers[s->count] = layers[s->count];
    if (!(s->layers[s->count].Path = _strdup(layers[s->count].Path ? layers[s->count].Path : "")))
      return -1;
  }
  return 0;
}

plat_hresult plat_ImportLayerBegin(const plat_driver_info *info, const char *id,
                                   const plat_layer_descriptor *layers, size_t count,
                                   plat_layer_stream *ctx) {
  wstream *s = calloc(1, sizeof *s);
  plat_hresult hr;
  *ctx = NULL;
  if (!s) return PLAT_E_OUTOFMEMORY;
  if (keep_args(s, info, id, layers, count) < 0) {
    wstream_free(s);
    return PLAT_E_OUTOFMEMORY;
  }
  if (wc_writer_open(&s->w, info, id, s->layers, s->count) < 0) {
    hr = wc_done(&s->w.err);
    wstream_free(s);
    return hr;
  }
  w32_set_error(NULL);
  *ctx = s;
  return PLAT_S_OK;
}

plat_hresult plat_ImportLayerNext(plat_layer_stream ctx, const char *name,
                                  const plat_file_basic_info *info) {
  wstream *s = (wstream *)ctx;
  w32_file_basic_info fi;
  if (*name == '\\') name++;
  if (wc_writer_check_name(&s->w, name) < 0) return wc_done(&s->w.err);
  if (!info) return wc_writer_remove(&s->w, name) < 0 ? wc_done(&s->w.err) : PLAT_S_OK;
  memset(&fi, 0, sizeof fi);
  fi.CreationTime.QuadPart = info->CreationTime;
  fi.LastAccessTime.QuadPart = info->LastAccessTime;
  fi.LastWriteTime.QuadPart = info->LastWriteTime;
  fi.ChangeTime.QuadPart = info->ChangeTime;
  fi.FileAttributes = info->FileAttributes;
  return wc_writer_add(&s->w, name, &fi) < 0 ? wc_done(&s->w.err) : PLAT_S_OK;
}

plat_hresult plat_ImportLayerWrite(plat_layer_stream ctx, const void *buf, uint32_t len) {
  wstream *s = (wstream *)ctx;
  return wc_writer_write(&s->w, buf, len) < 0 ? wc_done(&s->w.err) : PLAT_S_OK;
}

plat_hresult plat_ImportLayerLink(plat_layer_stream ctx, const char *name, const char *target) {
  wstream *s = (wstream *)ctx;
  if (*name == '\\') name++;
  if (*target == '\\') target++;
  if (wc_writer_check_name(&s->w, name) < 0 || wc_writer_check_name(&s->w, target) < 0 ||
      wc_writer_link(&s->w, name, target) < 0)
    return wc_done(&s->w.err);
  return PLAT_S_OK;
}

plat_hresult plat_ImportLayerEnd(plat_layer_stream ctx) {
  wstream *s = (wstream *)ctx;
  plat_hresult hr = wc_writer_finish(&s->w, &s->info, s->id, s->layers, s->count);
  wc_done(&s->w.err);
  wstream_free(s);
  return hr;
}

/* ---- reader ---- */

typedef struct rstream {
  WCHAR *root;
  wc_tree t;
  size_t next;
  wc_tombs tombs;
  HANDLE cur;
  uint64_t left;           /* stream bytes of cur still to read */
  BYTE pre[W32_BS_HEADER]; /* a hive's synthesized data record header */
  size_t pre_len, pre_off;
  wc_err err;
} rstream;

static void close_cur(rstream *r) {
  if (r->cur != INVALID_HANDLE_VALUE) CloseHandle(r->cur);
  r->cur = INVALID_HANDLE_VALUE;
  r->left = 0;
  r->pre_len = r->pre_off = 0;
}

static void rstream_free(rstream *r) {
  close_cur(r);
  wc_tree_free(&r->t);
  if (r->root) wc_remove_tree(r->root);
  free(r->root);
  free(r->tombs.text);
  free(r);
}

plat_hresult plat_ExportLayerBegin(const plat_driver_info *info, const char *id,
                                   const plat_layer_descriptor *layers, size_t count,
                                   plat_layer_stream *ctx) {
  rstream *r = calloc(1, sizeof *r);
  plat_hresult hr;
  *ctx = NULL;
  if (!r) return PLAT_E_OUTOFMEMORY;
  r->cur = INVALID_HANDLE_VALUE;
  if (wc_export_to_temp(&r->err, info, id, layers, count, &r->root) == 0) {
    if (wc_walk(r->root, &r->t) < 0) wc_fail(&r->err, PLAT_E_OUTOFMEMORY, "not enough memory");
    else wc_tombstones_read(&r->err, r->root, &r->tombs);
  }
  if (r->err.hr < 0) {
    hr = wc_done(&r->err);
    rstream_free(r);
    return hr;
  }
  w32_set_error(NULL);
  *ctx = r;
  return PLAT_S_OK;
}

/* A Files\ entry: its attributes from the prefix, its data size from the
 * stream; positioned at the stream's start. */
static int open_files_entry(rstream *r, const wc_item *it, plat_file_basic_info *info,
                            int64_t *size) {
  LARGE_INTEGER four;
  DWORD attrs = 0;
  w32_bs_rec rec;
  uint64_t left = 0;
  int more;
  if ((r->cur = wc_open_entry(&r->err, r->root, it, &attrs, &left)) == INVALID_HANDLE_VALUE)
    return -1;
  info->FileAttributes = attrs;
  r->left = left;
  while ((more = w32_bs_next(r->cur, left, &rec)) == 1) {
    LARGE_INTEGER d;
    left -= rec.total;
    if (rec.id == W32_BACKUP_DATA) *size = (int64_t)rec.size;
    d.QuadPart = (LONGLONG)rec.size;
    if (!SetFilePointerEx(r->cur, d, NULL, FILE_CURRENT))
      return wc_win_fail(&r->err, "read", it->rel);
  }
  if (more < 0)
    return wc_fail(&r->err, PLAT_E_INVALID_DATA, "%s: a malformed backup stream", it->rel);
  four.QuadPart = 4;
  return SetFilePointerEx(r->cur, four, NULL, FILE_BEGIN) ? 0
                                                          : wc_win_fail(&r->err, "read", it->rel);
}

/* A hive or a top directory: a stream of one data record, synthesized */
static int open_plain_entry(rstream *r, const wc_item *it, int64_t *size) {
  LARGE_INTEGER fsize;
  uint64_t n;
  if (it->attrs & FILE_ATTRIBUTE_DIRECTORY) return 0;
  r->cur = CreateFileW(it->path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
  if (r->cur == INVALID_HANDLE_VALUE || !GetFileSizeEx(r->cur, &fsize))
    return wc_win_fail(&r->err, "read", it->rel);
  n = (uint64_t)fsize.QuadPart;
  w32_bs_pack(r->pre, W32_BACKUP_DATA, 0, n, 0);
  r->pre_len = sizeof r->pre;
  r->left = n;
  *size = (int64_t)n;
  return 0;
}

static int basic_info(rstream *r, const wc_item *it, plat_file_basic_info *info) {
  HANDLE h = CreateFileW(it->path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                         OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
  FILE_BASIC_INFO b;
  int ok =
      h != INVALID_HANDLE_VALUE && GetFileInformationByHandleEx(h, FileBasicInfo, &b, sizeof b);
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  if (!ok) return wc_win_fail(&r->err, "read", it->rel);
  info->CreationTime = b.CreationTime.QuadPart;
  info->LastAccessTime = b.LastAccessTime.QuadPart;
  info->LastWriteTime = b.LastWriteTime.QuadPart;
  info->ChangeTime = b.ChangeTime.QuadPart;
  info->FileAttributes = b.FileAttributes;
  return 0;
}

/* the next tombstone as a deleted name, or 0 when there is none */
static int next_tombstone(rstream *r, char **name) {
  char buf[1100];
  int got = wc_tombstones_next(&r->err, &r->tombs, buf, sizeof buf);
  if (got > 0 && !(*name = _strdup(buf)))
    return wc_fail(&r->err, PLAT_E_OUTOFMEMORY, "not enough memory");
  return got;
}

plat_hresult plat_ExportLayerNext(plat_layer_stream ctx, char **name, plat_file_basic_info *info,
                                  int64_t *size, int *deleted) {
  rstream *r = (rstream *)ctx;
  const wc_item *it;
  int t, files;
  *name = NULL;
  *size = 0;
  *deleted = 0;
  close_cur(r);
  while (r->next < r->t.n && wc_not_an_entry(r->t.v[r->next].rel)) r->next++;
  if (r->next == r->t.n) {
    if ((t = next_tombstone(r, name)) < 0) return wc_done(&r->err);
    *deleted = t;
    return t ? PLAT_S_OK : PLAT_E_NO_MORE_FILES;
  }
  it = &r->t.v[r->next++];
  if (basic_info(r, it, info) < 0) return wc_done(&r->err);
  if (!(*name = _strdup(it->rel))) return PLAT_E_OUTOFMEMORY;
  files = strncmp(it->rel, "Files\\", 6) == 0;
  if (files ? open_files_entry(r, it, info, size) < 0 : open_plain_entry(r, it, size) < 0) {
    free(*name);
    *name = NULL;
    return wc_done(&r->err);
  }
  if (!files) /* hcsshim's reader: both forced to LastWriteTime */
    info->CreationTime = info->LastAccessTime = info->LastWriteTime;
  return PLAT_S_OK;
}

plat_hresult plat_ExportLayerRead(plat_layer_stream ctx, void *buf, uint32_t len, uint32_t *read) {
  rstream *r = (rstream *)ctx;
  uint32_t n = 0;
  DWORD got = 0;
  if (r->pre_off < r->pre_len) {
    n = (uint32_t)(r->pre_len - r->pre_off) < len ? (uint32_t)(r->pre_len - r->pre_off) : len;
    memcpy(buf, r->pre + r->pre_off, n);
    r->pre_off += n;
  } else if (r->left > 0 && r->cur != INVALID_HANDLE_VALUE) {
    DWORD want = r->left < len ? (DWORD)r->left : len;
    if (!ReadFile(r->cur, buf, want, &got, NULL) || got == 0) {
      wc_win_fail(&r->err, "read", "the layer");
      return wc_done(&r->err);
    }
    r->left -= got;
    n = got;
  }
  *read = n;
  w32_set_error(NULL);
  return PLAT_S_OK;
}

plat_hresult plat_ExportLayerEnd(plat_layer_stream ctx) {
  rstream_free((rstream *)ctx);
  w32_set_error(NULL);
  return PLAT_S_OK;
}
