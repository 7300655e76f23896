/* The compute helper program: the work the lean monitor hands off because
 * it needs the service's libraries (SQLite, CNI, the layer store).
 *
 *   helper teardown <id> [--keep-layer]
 *       CNI DEL, crun delete, the namespace, cgroups, the layer mount
 *   helper network add|remove <id> <endpoint> <netns>
 *       hot attach / detach and the resolv.conf; prints "<hresult> <msg>" */
#include "linux/compute/hcs_internal.h"
#include "linux/network/hns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int teardown(const char *id, int keep_layer) {
  char *dir = cmn_sysdir(id), *mp = dir ? cmn_path(dir, "meta.json") : NULL;
  char *text = mp ? cmn_read_file(mp, NULL) : NULL;
  json_t *meta = text ? json_loads(text, 0, NULL) : NULL;
  if (!meta) meta = json_object();
  if (keep_layer) json_object_del(meta, "Layer");
  hl_teardown_system(id, meta);
  json_decref(meta);
  free(text);
  free(mp);
  free(dir);
  return 0;
}

static int network(int add, const char *id, const char *ep, const char *netns) {
  char *err = NULL;
  plat_hresult hr =
      add ? hns_endpoint_attach(ep, id, netns, &err) : hns_endpoint_detach(ep, id, &err);
  if (hr >= 0) hl_update_resolv(id);
  printf("%d %s\n", (int)hr, hr < 0 && err ? err : "");
  free(err);
  hns_db_close();
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "teardown") == 0 && cmn_check_id("id", argv[2], NULL) >= 0) {
    int rc = teardown(argv[2], argc > 3 && strcmp(argv[3], "--keep-layer") == 0);
    hns_db_close();
    return rc;
  }
  if (argc == 6 && strcmp(argv[1], "network") == 0 && cmn_check_id("id", argv[3], NULL) >= 0)
    return network(strcmp(argv[2], "add") == 0, argv[3], argv[4], argv[5]);
  fprintf(stderr,
          "usage: %s teardown <id> [--keep-layer] | network add|remove <id> <endpoint> "
          "<netns>\n",
          argv[0]);
  return 2;
}
