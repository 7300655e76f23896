/* Which compute systems hold (use) a layer; see layer_holds.c. */
#ifndef HCSSHIM_LINUX_LAYER_HOLDS_H
#define HCSSHIM_LINUX_LAYER_HOLDS_H

#include <stddef.h>

/* Records that compute system `system` uses the layer in `layer_dir`
 * while the path `alive` exists.  Returns 0 or -errno. */
int layer_holds_add(const char *layer_dir, const char *system, const char *alive);
void layer_holds_remove(const char *layer_dir, const char *system);
/* 1 if a live system holds the layer (its id copied into `who`), 0 if
 * none; stale holds are dropped on the way. */
int layer_holds_live(const char *layer_dir, char *who, size_t wholen);

/* The walk both kinds of use record share: over the records in
 * `layer_dir`/`sub`, `live(path, name, who, wholen)` answers 1 (in use:
 * the walk stops, `who` filled), 0 (stale: the record is removed) or -1
 * (cannot tell: kept).  Returns 1 if a record is live, else 0. */
typedef int (*layer_record_live)(const char *path, const char *name, char *who, size_t wholen);
int layer_records_live(const char *layer_dir, const char *sub, layer_record_live live, char *who,
                       size_t wholen);

#endif
