/* Windows layer tars (hcsshim's pkg/ociwclayer, go-winio's backuptar) on
 * the Win32 layer functions: wcmeta.c reads an entry's Win32 metadata,
 * wcimport.c writes the layer (legacy folder + ImportLayer, or a base
 * layer in place + ProcessBaseImage), wcfs.c holds the file helpers. */
#ifndef HCSSHIM_WCLAYER_H
#define HCSSHIM_WCLAYER_H

#include "win32/w32.h"

struct archive_entry;

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

/* 0, or -1 with m->why set; wc_meta_free in both cases */
int wc_meta_read(wc_meta *m, struct archive_entry *e);
void wc_meta_free(wc_meta *m);

/* ---- wcfs.c ---- */
/* root + "\" + name (UTF-8, '\'-separated) + suffix, malloc'd; NULL on
 * invalid UTF-8 or no memory */
WCHAR *wc_path(const WCHAR *root, const char *name, const WCHAR *suffix);
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
/* FILE_BASIC_INFO onto an open handle */
int wc_set_basic_info(HANDLE h, const w32_file_basic_info *fi);

#endif
