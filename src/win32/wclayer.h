/* Windows layer tars (hcsshim's pkg/ociwclayer, go-winio's backuptar) on
 * the Win32 layer functions: wcmeta.c reads an entry's Win32 metadata,
 * wcimport.c writes the layer (legacy folder + ImportLayer, or a base
 * layer in place + ProcessBaseImage), wcfs.c holds the file helpers. */
#ifndef HCSSHIM_WCLAYER_H
#define HCSSHIM_WCLAYER_H

#include <time.h>

#include "win32/w32.h"

struct archive_entry;

/* The first failure of an import or export: its HRESULT and message. */
typedef struct wc_err {
  plat_hresult hr;
  char msg[700];
} wc_err;
/* records hr and the message unless a failure is already recorded; -1 */
int wc_fail(wc_err *e, plat_hresult hr, const char *fmt, ...);
/* a Win32 call failed (GetLastError) doing `what` to `name`; -1 */
int wc_win_fail(wc_err *e, const char *what, const char *name);
/* a plat_ layer call failed with hr: its last error message, else what; -1 */
int wc_fail_last(wc_err *e, plat_hresult hr, const char *what);
/* a call's end: the last error is e's message (or cleared); e's HRESULT,
 * or S_OK when nothing failed */
plat_hresult wc_done(const wc_err *e);
/* what failed when a sink's write did */
#define WC_WRITE_WHAT(s) ((s)->backup ? "BackupWrite" : "write")
/* a transport folder's tombstones.txt starts with this line */
#define WC_TOMBSTONES_HEAD "\xef\xbb\xbfVersion 1.0\n"

#define WC_MAX_EAS 64

typedef struct wc_meta {
  w32_file_basic_info info; /* times; FileAttributes as recorded */
  DWORD attrs;
  int has_attrs, raw_sd, mount_point;
  BYTE *sd; /* self-relative security descriptor, or NULL */
  size_t sd_len;
  w32_ea eas[WC_MAX_EAS]; /* names point into the entry */
  size_t n_eas;
  char why[96]; /* what was wrong, after a failure */
} wc_meta;

/* FILETIME ticks (100 ns since 1601) from Unix time, and back */
LONGLONG wc_ticks(time_t s, long ns);
void wc_unix_time(LONGLONG ticks, time_t *s, long *ns);
/* 0, or -1 with m->why set; wc_meta_free in both cases */
int wc_meta_read(wc_meta *m, struct archive_entry *e);
void wc_meta_free(wc_meta *m);

/* ---- wcwriter.c: hcsshim's LayerWriter ---- */
struct wc_dir_time {
  char *name;
  w32_file_basic_info fi;
};

/* a hard link of a layer with parents, made in its folder after ImportLayer */
struct wc_link {
  WCHAR *from, *to; /* the new name; the file it links (this layer's or a parent's) */
  char *name;       /* "Files\\..." as added, for later links to it and errors */
};

typedef struct wc_writer {
  WCHAR *root; /* the temp transport folder, or the base layer's folder */
  int base, uvm, done;
  /* with parents (hcsshim's legacy writer): the parents, nearest first,
   * and the layer's own folder HomeDir\id (its destRoot), where hard links
   * and the utility VM go; made here for a utility VM */
  const plat_layer_descriptor *parents;
  size_t nparents;
  WCHAR *dest;
  int made_dest;
  struct wc_link *links;
  size_t nlinks, lcap;
  char *tombs; /* tombstones.txt lines */
  size_t tlen, tcap;
  struct wc_dir_time *dirs; /* base layers: directory times to apply last */
  size_t ndirs, dcap;
  w32_sink cur;           /* the file being written */
  int discard, plain;     /* nothing to write; a hive (data records only) */
  BYTE hd[W32_BS_HEADER]; /* a hive's record header being read */
  size_t hd_got;
  uint64_t name_left, data_left;
  uint64_t size; /* regular file bytes (the tar import's count) */
  wc_err err;
} wc_writer;

/* 1 when no '\\'-separated component of name is empty, "." or ".." */
int wc_name_ok(const char *name);
/* 1 when name is top or lies under it ("Files", "Files\\a") */
int wc_under(const char *name, const char *top);
/* 0, or -1 with the error in m->err (every function below) */
/* a base layer when count is 0; parents must outlive the writer */
int wc_writer_open(wc_writer *m, const plat_driver_info *info, const char *id,
                   const plat_layer_descriptor *parents, size_t count);
int wc_writer_check(wc_writer *m, const char *name);      /* a checked name's place */
int wc_writer_check_name(wc_writer *m, const char *name); /* a caller's name */
/* a file or directory (FILE_ATTRIBUTE_DIRECTORY) with its times and
 * attributes; its backup stream follows through wc_writer_write, or
 * straight to m->cur (m->plain: data only) */
int wc_writer_add(wc_writer *m, const char *name, const w32_file_basic_info *fi);
int wc_writer_write(wc_writer *m, const void *p, size_t n);
int wc_writer_remove(wc_writer *m, const char *name); /* a tombstone */
int wc_writer_link(wc_writer *m, const char *name, const char *target);
/* commits: ImportLayer, or the base layer's processing */
plat_hresult wc_writer_finish(wc_writer *m, const plat_driver_info *info, const char *id,
                              const plat_layer_descriptor *layers, size_t count);
void wc_writer_free(wc_writer *m);

/* ---- wcdest.c: a layer with parents, in its own folder (hcsshim's destRoot) ---- */
/* "UtilityVM": the folder, and the first parent's UtilityVM\Files cloned
 * into it (hard links; copies of directories, reparse points, BCD files) */
int wc_dest_uvm_init(wc_writer *m);
/* opens a UtilityVM\Files entry in place for BackupWrite (an existing
 * file, a link of the parent's, is replaced) */
int wc_dest_uvm_open(wc_writer *m, const char *name, int dir, w32_sink *s);
int wc_dest_uvm_remove(wc_writer *m, const char *name);
/* a utility VM BCD file's (UtilityVM\\Files\\EFI\\Microsoft\\Boot\\BCD,
 * BCD.LOG, BCD.LOG1, BCD.LOG2) copy name in the layer's folder, as
 * ociwclayer keeps it ("bcd.bak", ...), or NULL for other names */
const char *wc_bcd_copy_name(const char *name);
/* a hard link, checked and found now, made by wc_dest_finish */
int wc_dest_link(wc_writer *m, const char *name, const char *target);
/* after ImportLayer: the hard links, the directories' times again, and
 * ProcessUtilityImage for a utility VM */
int wc_dest_finish(wc_writer *m);
void wc_dest_free(wc_writer *m);
/* directory times of m->dirs[from..] applied under root, children first,
 * then forgotten (wcwriter.c) */
int wc_reapply_dir_times(wc_writer *m, const WCHAR *root, size_t from);
int wc_remember_dir(wc_writer *m, const char *name, const w32_file_basic_info *fi);
/* ProcessUtilityImage of root\UtilityVM (wcwriter.c) */
plat_hresult wc_process_uvm(const WCHAR *root);
/* the open flags of a layer's files written in place with BackupWrite */
DWORD wc_backup_rights(void);

/* ---- wcfs.c (and wc_fail, wc_win_fail above) ---- */
/* root + "\" + name (UTF-8, '\'-separated) + suffix, malloc'd; NULL on
 * invalid UTF-8 or no memory */
WCHAR *wc_path(const WCHAR *root, const char *name, const WCHAR *suffix);
/* creates the folders above path that are missing (not path itself) */
void wc_make_parents(const WCHAR *path);
/* a new empty folder under the user's temp folder ("hcs" + unique) */
WCHAR *wc_temp_folder(void);
/* removes a folder and everything under it; 0 or -1 */
int wc_remove_tree(const WCHAR *path);
/* a folder's tree, every entry once, sorted by name (a directory before
 * its contents) */
typedef struct wc_item {
  char *rel; /* UTF-8, "\\"-separated, relative to the root */
  WCHAR *path;
  DWORD attrs;
} wc_item;
typedef struct wc_tree {
  wc_item *v;
  size_t n, cap;
} wc_tree;
int wc_walk(const WCHAR *root, wc_tree *t);
void wc_tree_free(wc_tree *t);
/* ---- reading a legacy transport folder (the tar export, the layer reader) ---- */
/* ExportLayer(info, id, folder, parents) into a new temp folder, *root
 * (set when made: the caller removes it, after a failure too) */
int wc_export_to_temp(wc_err *e, const plat_driver_info *info, const char *id,
                      const plat_layer_descriptor *layers, size_t count, WCHAR **root);
/* 1 for what is not an entry of its own: tombstones.txt, the sidecars */
int wc_not_an_entry(const char *rel);
/* A Files\ entry opened: the file or a directory's ".$wcidirs$" sidecar,
 * its 4 bytes of attributes read, positioned at the backup stream, which
 * has *left bytes; INVALID_HANDLE_VALUE with the error in e */
HANDLE wc_open_entry(wc_err *e, const WCHAR *root, const wc_item *it, DWORD *attrs, uint64_t *left);
/* a transport folder's tombstones.txt (none: text NULL) */
typedef struct wc_tombs {
  char *text;
  size_t len, off;
} wc_tombs;
int wc_tombstones_read(wc_err *e, const WCHAR *root, wc_tombs *t);
/* the next deleted name into out ("Files\\..."): 1, or 0 at the end */
int wc_tombstones_next(wc_err *e, wc_tombs *t, char *out, size_t cap);
/* progress(bytes, entries) of a tar import or export, about every 64
 * entries or MiB and at the end (last); a nonzero answer cancels */
typedef struct wc_progress {
  const plat_progress *p;
  uint64_t entries, told_bytes, told_entries;
} wc_progress;
int wc_report(wc_progress *g, wc_err *e, uint64_t bytes, int last);
/* v (n items of size bytes, room for *cap) with room for one more: v
 * itself, or grown (*cap updated); NULL with "not enough memory" in e */
void *wc_grow(wc_err *e, void *v, size_t n, size_t *cap, size_t size);
/* Files seen by more than one name (hard links), by file id, and the
 * first name each was seen by */
typedef struct wc_links {
  struct wc_seen {
    DWORD volume, hi, lo;
    char *name;
  } * v;
  size_t n, cap;
} wc_links;
/* h's file seen before under another name: *first is that name (owned by
 * l); else *first is NULL and name is kept when the file has more links */
int wc_links_check(wc_err *e, wc_links *l, HANDLE h, const char *name, const char **first);
void wc_links_free(wc_links *l);
/* FILE_BASIC_INFO onto an open handle */
int wc_set_basic_info(HANDLE h, const w32_file_basic_info *fi);

#endif
