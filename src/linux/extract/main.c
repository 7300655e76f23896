/* The extract helper program: imports one layer tar (fd 3) into the
 * working directory and reports on fd 4 (see layers/tar_import.c).  Its
 * own process, so the per-container monitor need not link libarchive. */
#include "linux/layers/layers.h"

int main(void) { return lay_extract_main(); }
