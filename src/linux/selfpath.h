/* Where the service's own helper executable (the monitor) lives. */
#ifndef HCSSHIM_LINUX_SELFPATH_H
#define HCSSHIM_LINUX_SELFPATH_H

/* HCSSHIM_MONITOR, else "monitor" next to the shared object holding this
 * code (build/hcsshim/ or LuaRocks' lib/lua/5.4/hcsshim/).  Absolute where
 * it can be, as callers chdir before they exec it.  Free with free(). */
char *hl_monitor_path(void);

#endif
