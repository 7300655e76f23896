/* ContainerConfig (HCS schema v1) -> OCI runtime spec (hl_parse_config,
 * then hl_build_spec), as HcsCreateComputeSystem runs them on a caller's
 * document.  Host paths in the document are only stat()ed; the generated
 * /etc/hostname and /etc/hosts go to a scratch system directory.  A spec
 * that is built must serialise as JSON. */
#include <stdlib.h>

#include "fuzz.h"
#include "linux/compute/hcs_internal.h"

static const char *sysdir;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  sysdir = fuzz_scratch();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *doc = fuzz_cstr(data, size), *result = NULL;
  hl_sysconf c;
  if (hl_parse_config(doc, &c, &result) >= 0) {
    json_t *spec = NULL;
    char *result2 = NULL;
    if (hl_build_spec(&c, "fuzz", sysdir, "/", NULL, &spec, &result2) >= 0) {
      char *text = json_dumps(spec, JSON_COMPACT);
      if (!text) fuzz_fail("the OCI spec does not serialise", NULL);
      free(text);
      json_decref(spec);
    } else if (!result2) {
      fuzz_fail("hl_build_spec failed without a result document", NULL);
    }
    free(result2);
    hl_sysconf_free(&c);
  } else if (!result) {
    fuzz_fail("hl_parse_config failed without a result document", NULL);
  }
  free(result);
  free(doc);
  return 0;
}
