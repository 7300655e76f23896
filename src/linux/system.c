/* Compute systems: HcsCreate/Open/Close/Start/Shutdown/Terminate/Pause/
 * Resume/GetProperties/Modify/Enumerate on top of crun, through one
 * monitor process per system (src/linux/monitor/). */
#include "linux/compute/monclient.h"
#include "linux/layers/layers.h"
#include "linux/network/hns.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void plat_set_timeout(double seconds) { hl_set_timeout(seconds); }

plat_hresult plat_HcsCreateComputeSystem(const char *id, const char *configuration,
                                         plat_system *system, char **result) {
  hl_system *h = NULL;
  plat_hresult hr;
  if (result) *result = NULL;
  if (system) *system = NULL;
  if ((hr = hl_host_ready(result)) < 0) return hr;
  if ((hr = hl_create_system(id, configuration, result)) < 0) return hr;
  hr = hl_open_handle(id, 1, &h, result);
  if (hr >= 0 && system) *system = h;
  else if (hr >= 0) plat_HcsCloseComputeSystem(h);
  else hl_create_undo(id); /* created, but nobody could hold it: a failed create leaves nothing */
  return hr;
}

plat_hresult plat_HcsOpenComputeSystem(const char *id, plat_system *system, char **result) {
  hl_system *h;
  plat_hresult hr;
  if (result) *result = NULL;
  *system = NULL;
  if ((hr = cmn_check_id("compute system id", id, result)) < 0) return hr;
  if ((hr = hl_host_ready(result)) < 0) return hr;
  if ((hr = hl_open_handle(id, 0, &h, result)) < 0) return hr;
  *system = h;
  return PLAT_S_OK;
}

plat_hresult plat_HcsCloseComputeSystem(plat_system system) {
  hl_system *h = system;
  if (!h) return PLAT_E_INVALID_HANDLE;
  close(h->fd);
  pthread_mutex_destroy(&h->mu);
  json_decref(h->meta);
  free(h->id);
  free(h);
  return PLAT_S_OK;
}

static plat_hresult simple_op(plat_system system, const char *op, char **result) {
  hl_system *h = system;
  json_t *req;
  plat_hresult hr;
  if (result) *result = NULL;
  if (!h) return cmn_fail(result, PLAT_E_INVALID_HANDLE, "invalid compute system handle");
  req = json_pack("{s:s}", "op", op);
  hr = hl_mon_call(h->fd, &h->mu, h->id, req, NULL, 0, NULL, NULL, NULL, result);
  json_decref(req);
  return hr;
}

plat_hresult plat_HcsStartComputeSystem(plat_system s, const char *o, char **r) {
  (void)o;
  return simple_op(s, "start", r);
}
plat_hresult plat_HcsPauseComputeSystem(plat_system s, const char *o, char **r) {
  (void)o;
  return simple_op(s, "pause", r);
}
plat_hresult plat_HcsResumeComputeSystem(plat_system s, const char *o, char **r) {
  (void)o;
  return simple_op(s, "resume", r);
}

/* As on Windows: accepted -> HCS_E_OPERATION_PENDING; the exit arrives as
 * SystemExited. */
plat_hresult plat_HcsShutdownComputeSystem(plat_system s, const char *o, char **r) {
  plat_hresult hr;
  (void)o;
  hr = simple_op(s, "shutdown", r);
  return hr < 0 ? hr : PLAT_HCS_E_OPERATION_PENDING;
}
plat_hresult plat_HcsTerminateComputeSystem(plat_system s, const char *o, char **r) {
  plat_hresult hr;
  (void)o;
  hr = simple_op(s, "terminate", r);
  return hr < 0 ? hr : PLAT_HCS_E_OPERATION_PENDING;
}

/* ResourceModificationRequest {ResourceType "Network", RequestType "Add" |
 * "Remove", Settings <endpoint id>}: hot attach and detach, done by the
 * monitor so that they serialise with the system's exit teardown. */
plat_hresult plat_HcsModifyComputeSystem(plat_system system, const char *configuration,
                                         char **result) {
  hl_system *h = system;
  json_t *doc, *req, *settings;
  const char *rtype, *reqtype, *ep = NULL;
  char canon[37];
  plat_hresult hr;
  if (result) *result = NULL;
  if (!h) return cmn_fail(result, PLAT_E_INVALID_HANDLE, "invalid compute system handle");
  doc = configuration ? json_loads(configuration, 0, NULL) : NULL;
  if (!json_is_object(doc)) {
    json_decref(doc);
    return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "modify: the request must be a JSON object");
  }
  rtype = cmn_str(doc, "ResourceType");
  reqtype = cmn_str(doc, "RequestType");
  settings = cmn_get(doc, "Settings");
  if (json_is_string(settings)) ep = json_string_value(settings);
  else if (json_is_object(settings))
    ep =
        cmn_str(settings, "EndpointId") ? cmn_str(settings, "EndpointId") : cmn_str(settings, "Id");
  if (!rtype || strcasecmp(rtype, "Network") != 0) {
    hr = cmn_fail(result, PLAT_E_NOT_SUPPORTED,
                  "modify: ResourceType `%s` is not supported on this platform (only "
                  "Network)",
                  rtype ? rtype : "");
    json_decref(doc);
    return hr;
  }
  if (!reqtype || (strcasecmp(reqtype, "Add") && strcasecmp(reqtype, "Remove"))) {
    hr = cmn_fail(result, PLAT_E_INVALIDARG, "modify: RequestType must be Add or Remove (got `%s`)",
                  reqtype ? reqtype : "");
    json_decref(doc);
    return hr;
  }
  if (!ep || !*ep || hns_canon_guid(ep, canon) < 0) {
    hr = cmn_fail(result, PLAT_E_INVALIDARG,
                  "modify: Settings must be the endpoint id (a GUID)%s%s%s", ep ? ", not `" : "",
                  ep ? ep : "", ep ? "`" : "");
    json_decref(doc);
    return hr;
  }
  req = json_pack("{s:s,s:s,s:s}", "op", "network", "RequestType",
                  strcasecmp(reqtype, "Add") == 0 ? "Add" : "Remove", "Endpoint", canon);
  json_decref(doc);
  hr = hl_mon_call(h->fd, &h->mu, h->id, req, NULL, 0, NULL, NULL, NULL, result);
  json_decref(req);
  return hr;
}

plat_hresult plat_HcsGetComputeSystemProperties(plat_system system, const char *query,
                                                char **properties, char **result) {
  return hl_system_properties(system, query, properties, result);
}

plat_hresult plat_HcsEnumerateComputeSystems(const char *query, char **systems, char **result) {
  plat_hresult hr = hl_host_ready(result);
  if (hr < 0) {
    *systems = NULL;
    return hr;
  }
  return hl_enumerate_systems(query, systems, result);
}

plat_hresult plat_HcsGetServiceProperties(const char *query, char **properties, char **result) {
  (void)query;
  if (result) *result = NULL;
  *properties = strdup("{\"SupportedSchemaVersions\":[{\"Major\":1,\"Minor\":0}]}");
  return *properties ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
}
