/* Shared helpers of the libFuzzer harnesses (spec/fuzz/fuzz_*.c, run by
 * `make fuzz`).  Test code only: never linked into the product. */
#ifndef HCSSHIM_FUZZ_H
#define HCSSHIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry points every harness defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated heap copy of the input (cut at its first NUL byte, as
 * the C parsers read C strings).  Never NULL: aborts on out of memory. */
char *fuzz_cstr(const uint8_t *data, size_t size);
/* The n-th NUL-separated part of the input (n from 0), or NULL when the
 * input has fewer parts; *len gets its length.  Points into data. */
const uint8_t *fuzz_part(const uint8_t *data, size_t size, int n, size_t *len);
/* A fresh directory of this process under $TMPDIR (or /tmp), removed at
 * exit; aborts when it cannot be made. */
const char *fuzz_scratch(void);
/* Writes len bytes to dir/name (created 0644, or mode), aborting on error. */
void fuzz_write(const char *dir, const char *name, const void *p, size_t len, int mode);
/* A property a harness checks failed: prints it and aborts (a crash). */
void fuzz_fail(const char *what, const char *detail) __attribute__((noreturn));
/* Root only, before fuzz_scratch: this process gets its own mount
 * namespace (and with net, its own network namespace) in which / is
 * read-only, $HCSSHIM_FUZZ_DIR (build/fuzz: corpus and crash artifacts)
 * stays writable, and the scratch directory is a fresh tmpfs at
 * $HCSSHIM_FUZZ_DIR/scratch.  Aborts when that cannot be done: these
 * harnesses never write to the host's own filesystem or network. */
void fuzz_confine(int net);

#endif
