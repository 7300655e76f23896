/* The HNS address parsers (IPv4, CIDR prefix, MAC) on arbitrary text:
 * whatever they accept must print back as text they accept with the same
 * value, and a CIDR prefix must have no host bits. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linux/network/hns.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = fuzz_cstr(data, size), buf[40];
  uint32_t ip, ip2;
  uint64_t mac, mac2;
  int prefix, prefix2;
  if (hns_parse_ip(s, &ip) == 0) {
    hns_format_ip(ip, buf);
    if (hns_parse_ip(buf, &ip2) != 0 || ip != ip2) fuzz_fail("IPv4 address does not round-trip", s);
  }
  if (hns_parse_cidr(s, &ip, &prefix) == 0) {
    char cidr[48];
    if (prefix < 0 || prefix > 32 || (ip & ~hns_mask(prefix)))
      fuzz_fail("CIDR prefix accepted with host bits", s);
    hns_format_ip(ip, buf);
    snprintf(cidr, sizeof cidr, "%s/%d", buf, prefix);
    if (hns_parse_cidr(cidr, &ip2, &prefix2) != 0 || ip != ip2 || prefix != prefix2)
      fuzz_fail("CIDR prefix does not round-trip", s);
  }
  if (hns_parse_mac(s, &mac) == 0) {
    if (mac >> 48) fuzz_fail("MAC address above 48 bits", s);
    hns_format_mac(mac, buf, '-');
    if (hns_parse_mac(buf, &mac2) != 0 || mac != mac2)
      fuzz_fail("MAC address does not round-trip", s);
    hns_format_mac(mac, buf, ':');
    if (hns_parse_mac(buf, &mac2) != 0 || mac != mac2)
      fuzz_fail("MAC address does not round-trip", s);
  }
  free(s);
  return 0;
}
