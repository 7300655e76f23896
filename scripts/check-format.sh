#!/bin/sh
# clang-format in check mode (--dry-run --Werror) on the C files named as
# arguments, against the tree's .clang-format.  Prints the first place of
# each file that is off and how many there are, not clang-format's whole
# output; `make format` applies the style.
set -u
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
bad=0
for f in "$@"; do
  out=$("$CLANG_FORMAT" --style=file --dry-run --Werror "$f" 2>&1) && continue
  bad=$((bad + 1))
  printf '%s\n' "$out" | head -n 3
  echo "  ($(printf '%s\n' "$out" | grep -c 'clang-format-violations') places in $f)"
done
if [ "$bad" -gt 0 ]; then
  echo "lint-c: $bad of $# files are not formatted (make format applies .clang-format)"
  exit 1
fi
echo "lint-c: ok ($# files)"
