/* Host ports of NAT policies: a port a host process already uses is
 * refused, naming it, as podman does, instead of letting the container's
 * DNAT rule take that process's traffic.  Checked by binding the port:
 * with SO_REUSEADDR a TCP bind fails only against a listener (not against
 * connections in TIME_WAIT); a UDP bind fails against any bound socket.
 * Both the IPv4 and the IPv6 wildcard are tried, so a listener on one
 * address or family is found too. */
#include "linux/network/hns.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* 0 if port/type is free on family, else -errno of the bind. */
static int try_bind(int family, int type, int port) {
  struct sockaddr_storage ss;
  socklen_t len;
  int one = 1, fd = socket(family, type | SOCK_CLOEXEC, 0), rc = 0;
  if (fd < 0) return errno == EAFNOSUPPORT ? 0 : -errno; /* no IPv6 on this host */
  memset(&ss, 0, sizeof ss);
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    len = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    len = sizeof *in6;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, len) < 0) rc = -errno;
  close(fd);
  return rc;
}

plat_hresult hns_check_host_port(int port, const char *proto, const char *where, char **err) {
  int type = strcasecmp(proto, "UDP") == 0 ? SOCK_DGRAM : SOCK_STREAM;
  int rc = try_bind(AF_INET, type, port);
  if (rc == 0) rc = try_bind(AF_INET6, type, port);
  if (rc == -EADDRINUSE)
    return hns_fail(err, PLAT_E_ALREADY_EXISTS,
                    "%s: host port %d/%s is already in use by a process on this host", where, port,
                    type == SOCK_DGRAM ? "udp" : "tcp");
  if (rc < 0 && rc != -EADDRNOTAVAIL && rc != -EACCES)
    return hns_fail(err, PLAT_E_FAIL, "%s: cannot check host port %d: %s", where, port,
                    strerror(-rc));
  return PLAT_S_OK;
}

plat_hresult hns_check_host_ports(json_t *policies, char **err) {
  size_t i;
  json_t *p;
  json_array_foreach(policies, i, p) {
    const char *t = cmn_str(p, "Type"), *proto = cmn_str(p, "Protocol");
    char where[64];
    plat_hresult hr;
    if (!t || strcasecmp(t, "NAT") || !proto) continue;
    snprintf(where, sizeof where, "Policies[%zu]", i + 1);
    hr =
        hns_check_host_port((int)json_integer_value(cmn_get(p, "ExternalPort")), proto, where, err);
    if (hr < 0) return hr;
  }
  return PLAT_S_OK;
}
