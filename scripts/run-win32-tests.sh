#!/bin/sh
# The Wine suite: the Windows lua.exe (built from Debian's lua5.4 source)
# loads build/win32/hcsshim/core.dll, which binds the vmcompute.dll test
# double installed into the prefix's System32.  winedbg is disabled, so a
# crash fails the run.  Ends with one "N passed, N failed" line.
set -u
B=${BUILD:-build}/win32
# the Linux service's state roots are no business of the Windows suite
unset HCSSHIM_DATA_ROOT HCSSHIM_RUNTIME_ROOT
WINEPREFIX="$(cd "$B" && pwd)/wineprefix" || exit 1
export WINEPREFIX WINEDEBUG=-all
export WINEDLLOVERRIDES="winedbg.exe=d;mscoree,mshtml=;vmcompute=n"
WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
sys32="$WINEPREFIX/drive_c/windows/system32"
cp "$B/spec/vmcompute.dll" "$sys32/vmcompute.dll"
# Wine's iphlpapi lacks SetCurrentThreadCompartmentId: lua.exe alone gets the
# double (a per-application override; other processes keep the builtin).
cp "$B/spec/iphlpapi.dll" "$sys32/iphlpapi.dll"
"$WINE" reg add 'HKCU\Software\Wine\AppDefaults\lua.exe\DllOverrides' /v iphlpapi /d native /f >/dev/null 2>&1
b=$(echo "$B" | sed 's|/|\\|g')
export LUA_PATH="lua\\?.lua;lua\\?\\init.lua;spec\\win32\\?.lua"
export LUA_CPATH="$b\\?.dll;$b\\lua\\?.dll;$b\\spec\\?.dll"
# the C harness (spec/win32/harness.c) finds lua54.dll next to lua.exe
cp "$B/spec/harness.exe" "$B/lua/harness.exe"
export HCSSHIM_HARNESS="$b\\lua\\harness.exe"
export HCSSHIM_BSTREAM_TEST="$b\\spec\\bstream_test.exe"
log=$(mktemp)
"$WINE" "$B/lua/lua.exe" spec/win32/run.lua >"$log" 2>&1
rc=$?
cat "$log"
line=$(tr -d "\r" <"$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
rm -f "$log"
if [ -z "$line" ]; then echo "wine: the suite did not finish (exit $rc)"; echo "0 passed, 1 failed"; exit 1; fi
[ $rc -eq 0 ] || exit 1
exit 0
