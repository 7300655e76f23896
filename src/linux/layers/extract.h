/* Inside the layers room: the report of the extract program. */
#ifndef HCSSHIM_LINUX_LAYERS_EXTRACT_H
#define HCSSHIM_LINUX_LAYERS_EXTRACT_H

#include <stdint.h>

/* what the child sends back: one write, well under PIPE_BUF */
typedef struct xmsg {
  int32_t hr;
  uint64_t size;
  char text[2048];
} xmsg;

/* Fills m with hr and a message (naming the entry if name); returns hr. */
int32_t lay_xfail(xmsg *m, int32_t hr, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
