/* File helpers of hcsshim.image's C part (src/files.c), Linux only. */
#ifndef HCSSHIM_FILES_H
#define HCSSHIM_FILES_H

#include <stddef.h>

/* write(2) until all n bytes are written (EINTR retried); 0 or -1 (errno). */
int files_write_all(int fd, const void *buf, size_t n);

#endif
