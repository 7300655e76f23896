# shellcheck shell=sh
# Sourced by the Windows build scripts: Debian source packages fetched with
# `apt-get source --download-only` against a private sources list under
# $S (the system's apt sources are not touched), and unpacked with
# Debian's own patches applied.  Needs dpkg-dev (apt-get source).
# Sets nothing but the functions first, apt_src, fetch and unpack.

first() { # the first path a glob matched, or a clear failure
  [ -e "$1" ] || { echo "debian-source: nothing matches $1" >&2; return 1; }
  echo "$1"
}
apt_src() { # apt-get on the private sources list only
  apt-get -o Dir::Etc::SourceList="$S/src.list" -o Dir::Etc::SourceParts=/nonexistent \
    -o Dir::State::Lists="$S/lists" -o APT::Sandbox::User=root "$@"
}
fetch() { # package
  first "$S/$1"_*.orig.tar.* >/dev/null 2>&1 && return 0
  mkdir -p "$S/lists/partial"
  echo 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main' > "$S/src.list"
  find "$S/lists" -mindepth 1 -maxdepth 1 ! -name partial | grep -q . || apt_src -qq update
  (cd "$S" && apt_src -qq source --download-only "$1" >/dev/null)
}
unpack() { # package dir: the upstream tree with Debian's patch series applied
  rm -rf "$2" && mkdir -p "$2"
  tar xf "$(first "$S/$1"_*.orig.tar.*)" -C "$2" --strip-components=1
  tar xf "$(first "$S/$1"_*.debian.tar.*)" -C "$2"
  if [ -f "$2/debian/patches/series" ]; then
    grep -v '^#' "$2/debian/patches/series" | while read -r p; do
      [ -z "$p" ] || patch -s -d "$2" -p1 < "$2/debian/patches/$p" || exit 1
    done
  fi
}
