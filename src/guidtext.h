/* GUID text <-> the 16-byte Windows memory layout (src/guidtext.c). */
#ifndef HCSSHIM_GUIDTEXT_H
#define HCSSHIM_GUIDTEXT_H

#include <stdint.h>

int guid_parse(const char *s, uint8_t out[16]); /* 0 ok, -1 bad */
void guid_format(const uint8_t g[16], char out[37]);

#endif
