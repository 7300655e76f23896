#!/bin/sh
# Installs those of the named Debian packages that are missing; cheap when
# none is.  Usage: apt-install.sh WHO PACKAGE...  (WHO names the caller in
# the message when something is missing and we are not root).
set -eu
who=$1
shift
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
    || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "$who: missing packages:$missing (run as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # a list of package names
apt-get install -y -qq --no-install-recommends $missing >/dev/null
