/* Linux layer store: what the binding needs beyond platform.h. */
#ifndef HCSSHIM_LINUX_LAYER_H
#define HCSSHIM_LINUX_LAYER_H

/* Message explaining the last layer-function failure on this thread ("" after
 * a success).  Valid until the next layer call on the same thread. */
const char *plat_layer_last_error(void);

/* The body of `monitor --extract` (see tar_import.c). */
int hl_extract_main(void);

#endif
