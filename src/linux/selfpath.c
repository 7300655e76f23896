#include "linux/selfpath.h"

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *hl_monitor_path(void) {
  const char *e = getenv("HCSSHIM_MONITOR");
  Dl_info info;
  char buf[PATH_MAX];
  if (e && *e) return realpath(e, buf) ? strdup(buf) : strdup(e);
  if (dladdr((void *)(uintptr_t)&hl_monitor_path, &info) && info.dli_fname) {
    char out[PATH_MAX + 16];
    if (!realpath(info.dli_fname, buf)) snprintf(buf, sizeof buf, "%s", info.dli_fname);
    snprintf(out, sizeof out, "%s/monitor", dirname(buf));
    return strdup(out);
  }
  return strdup("monitor");
}
