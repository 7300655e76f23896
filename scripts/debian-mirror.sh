#!/bin/sh
# Prints the Debian archive URL this host's apt already uses (DEBIAN_MIRROR
# overrides it), or with the argument "security" the security archive's.
# Scripts that run debootstrap use it, so they reach the same mirror as apt.
set -eu
suffix=debian
[ "${1:-}" = security ] && suffix=debian-security
if [ "$suffix" = debian ] && [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; exit 0; fi
url=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  sed -n -e "s|^URIs: *\(https\?://[^ ]*/$suffix\)/\?\$|\1|p" \
         -e "s|^deb  *\(\[[^]]*\]  *\)\?\(https\?://[^ ]*/$suffix\)/\? .*|\2|p" | head -n 1)
echo "${url:-http://deb.debian.org/$suffix}"
