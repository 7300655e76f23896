/* JSON helpers of the common room (jansson): result documents and
 * case-insensitive members.  Not linked into the monitor.
 *
 * Error convention above the common room (compute, network, layers and
 * the entry files): functions return a plat_hresult and, on failure, fill
 * *result with {"Error":hr,"ErrorMessage":msg} through cmn_fail. */
#ifndef HCSSHIM_LINUX_COMMON_JSON_H
#define HCSSHIM_LINUX_COMMON_JSON_H

#include <jansson.h>

#include "linux/common/common.h"
#include "platform.h"

/* Sets *result (if result) to {"Error":hr,"ErrorMessage":msg}; returns hr. */
plat_hresult cmn_fail(char **result, plat_hresult hr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same from an error reply {"Error","ErrorMessage"}. */
plat_hresult cmn_fail_json(char **result, json_t *err);
plat_hresult cmn_check_id(const char *what, const char *id, char **result);
/* A JSON string of len bytes of text that may hold any bytes (names from
 * archives, paths and ids from callers, messages of other programs, text
 * cut at a byte count): bytes that are not UTF-8 become U+FFFD, as Go's
 * encoder writes them, where jansson would refuse the whole string.  NULL
 * only when out of memory. */
json_t *cmn_json_text(const char *text, size_t len);
json_t *cmn_get(json_t *obj, const char *key);     /* case-insensitive member */
const char *cmn_str(json_t *obj, const char *key); /* string member or NULL */

/* json_loads for documents from callers.  jansson holds integers as int64
 * and refuses larger ones, but HCS and HNS documents carry uint64 fields
 * (limits, bandwidths) that hcsshim sends up to 2^64-1.  So an integer in
 * [2^63, 2^64-1] is read as CMN_JSON_SATURATED (INT64_MAX), meaning "at
 * least 2^63": each field decides what that is (a bandwidth: unlimited; a
 * memory size: too large).  Values beyond uint64 and below int64 are
 * refused, as are more than 64 such integers in one document. */
#define CMN_JSON_SATURATED INT64_MAX
json_t *cmn_json_loads(const char *text, size_t flags, json_error_t *je);

#endif
