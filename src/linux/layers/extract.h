/* Inside the layers room: the report of the extract program. */
#ifndef HCSSHIM_LINUX_LAYERS_EXTRACT_H
#define HCSSHIM_LINUX_LAYERS_EXTRACT_H

#include <stdint.h>

/* What the child sends on its stdout: progress records as it goes, then one
 * result; each record starts with its kind and is one write, well under
 * PIPE_BUF, so a reader sees whole records in order. */
enum { XREC_PROGRESS = 0x676f7270, XREC_RESULT = 0x746c7372 };

typedef struct xprog {
  uint32_t kind; /* XREC_PROGRESS */
  uint32_t pad;
  uint64_t bytes;   /* of the tar file read so far */
  uint64_t entries; /* entries extracted so far */
} xprog;

typedef struct xmsg {
  uint32_t kind; /* XREC_RESULT */
  int32_t hr;
  uint64_t size;
  uint64_t entries;
  char text[2048];
} xmsg;

/* Throttles progress reports: due after every PROGRESS_ENTRIES entries or
 * PROGRESS_BYTES bytes since the last report. */
#define PROGRESS_ENTRIES 64
#define PROGRESS_BYTES (1u << 20)
typedef struct lay_pace {
  uint64_t entries, last_entries, last_bytes;
} lay_pace;
/* Whether a report is due at `bytes`; if so, it is counted as sent. */
int lay_pace_due(lay_pace *p, uint64_t bytes);

/* Fills m with hr and a message (naming the entry if name); returns hr. */
int32_t lay_xfail(xmsg *m, int32_t hr, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
