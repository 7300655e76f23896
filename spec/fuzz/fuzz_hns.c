/* HNS requests (plat_HNSCall: paths, methods, network and endpoint
 * documents with subnets, CIDRs, MAC pools, DNS lists and policies)
 * against a real store and real bridges, in a mount and network
 * namespace of the fuzzer's own (root; see fuzz_confine).
 *
 * Input: up to 8 requests separated by a line "%%"; each is a first line
 * "METHOD PATH" and the body after it.  Two networks exist before each
 * input (the nat network ba3eb19a-... that the golden endpoint documents
 * name, and a transparent one on lo) and everything else is deleted after
 * it, so every input starts from the same store.  Every answer must be an
 * HNS envelope: a JSON object with a boolean Success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linux/network/hns.h"

#define NAT_ID "ba3eb19a-0980-4546-8019-45d9addb2032"
#define L2_ID "5b45201d-f2f2-4f3b-85bb-30ff1f953599"

static const char nat_net[] =
    "{\"ID\":\"" NAT_ID "\",\"Name\":\"base-nat\",\"Type\":\"nat\",\"Subnets\":[{\"AddressPrefix\":"
    "\"172.20.0.0/16\",\"GatewayAddress\":\"172.20.0.1\"}],\"DNSServerList\":\"172.20.0.1\"}";
static const char l2_net[] =
    "{\"ID\":\"" L2_ID
    "\",\"Name\":\"base-l2\",\"Type\":\"transparent\",\"NetworkAdapterName\":\"lo\","
    "\"Subnets\":[{\"AddressPrefix\":\"192.168.50.0/24\",\"GatewayAddress\":\"192.168.50.1\"}]}";

/* One call; checks the envelope and returns it decoded. */
static json_t *call(const char *method, const char *path, const char *body) {
  char *resp = NULL;
  json_t *doc;
  if (plat_HNSCall(method, path, body, &resp) < 0 || !resp)
    fuzz_fail("plat_HNSCall gave no answer", path);
  doc = json_loads(resp, 0, NULL);
  if (!json_is_boolean(json_object_get(doc, "Success"))) fuzz_fail("not an HNS envelope", resp);
  free(resp);
  return doc;
}

/* Deletes every endpoint, and every network but the two base ones;
 * makes the base ones when missing. */
static void reset(void) {
  json_t *eps = call("GET", "/endpoints/", NULL), *nets, *v;
  size_t i;
  int have_nat = 0, have_l2 = 0;
  char path[256];
  json_array_foreach(json_object_get(eps, "Output"), i, v) {
    snprintf(path, sizeof path, "/endpoints/%s", json_string_value(json_object_get(v, "ID")));
    json_decref(call("DELETE", path, NULL));
  }
  json_decref(eps);
  nets = call("GET", "/networks/", NULL);
  json_array_foreach(json_object_get(nets, "Output"), i, v) {
    const char *id = json_string_value(json_object_get(v, "ID"));
    if (strcmp(id, NAT_ID) == 0) {
      have_nat = 1;
    } else if (strcmp(id, L2_ID) == 0) {
      have_l2 = 1;
    } else {
      snprintf(path, sizeof path, "/networks/%s", id);
      json_decref(call("DELETE", path, "{\"Force\":true}"));
    }
  }
  json_decref(nets);
  if (!have_nat) json_decref(call("POST", "/networks/", nat_net));
  if (!have_l2) json_decref(call("POST", "/networks/", l2_net));
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  char dir[8192];
  (void)argc;
  (void)argv;
  fuzz_confine(1);
  snprintf(dir, sizeof dir, "%s/data", fuzz_scratch());
  setenv("HCSSHIM_DATA_ROOT", dir, 1);
  snprintf(dir, sizeof dir, "%s/run", fuzz_scratch());
  setenv("HCSSHIM_RUNTIME_ROOT", dir, 1);
  reset();
  return 0;
}

/* Runs one "METHOD PATH\nbody" request (req is modified). */
static void one(char *req) {
  char *nl = strchr(req, '\n'), *sp, *body = NULL;
  if (nl) {
    *nl = '\0';
    body = nl + 1;
  }
  sp = strchr(req, ' ');
  if (!sp) return;
  *sp = '\0';
  json_decref(call(req, sp + 1, body));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_cstr(data, size), *req = text;
  for (int n = 0; req && n < 8; n++) {
    char *next = strstr(req, "\n%%\n");
    if (next) {
      *next = '\0';
      next += 4;
    }
    one(req);
    req = next;
  }
  free(text);
  reset();
  return 0;
}
