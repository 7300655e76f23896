/* TEST CODE ONLY: the backup-stream encoder and decoder of the Windows core
 * (src/win32/bstream.c) on their own, against byte vectors written out from
 * the formats (hcs-api.md 7.2; go-winio's EncodeExtendedAttributes and
 * EncodeReparsePoint lay them out the same way).  Records go through a real
 * file (WriteFile), then are read back with w32_bs_next.  Wine's
 * BackupWrite is a stub, so the sink's BackupWrite mode is not exercised
 * here.  Prints "ok bstream N checks" and exits 0, or names the failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/w32.h"

static int checks, failed;

static void same(const char *what, const BYTE *got, size_t n, const char *hexwant) {
  char hex[2048] = "";
  size_t i;
  checks++;
  for (i = 0; i < n && i * 2 + 2 < sizeof hex; i++) sprintf(hex + i * 2, "%02x", got[i]);
  if (strcmp(hex, hexwant) != 0) {
    failed++;
    printf("FAIL %s\n  want %s\n  got  %s\n", what, hexwant, hex);
  }
}

static void truth(const char *what, int v) {
  checks++;
  if (!v) {
    failed++;
    printf("FAIL %s\n", what);
  }
}

/* the REPARSE_DATA_BUFFER of target against its bytes */
static void reparse(const char *what, const WCHAR *target, int mount_point, const char *hexwant) {
  size_t n = 0;
  BYTE *p = w32_reparse_encode(target, mount_point, &n);
  same(what, p, n, hexwant);
  free(p);
}

static void encoders(void) {
  w32_ea two[2];
  size_t n = 0;
  BYTE *p;
  two[0].name = "a";
  two[0].value = "xy";
  two[0].size = 2;
  two[1].name = "bc";
  two[1].value = "";
  two[1].size = 0;
  p = w32_ea_encode(two, 2, &n);
  /* 12 bytes each, padded to 4 (the last too); offsets 12 then 0 */
  same("EA chain", p, n, "0c0000000001020061007879000000000002000062630000");
  free(p);
  reparse("relative symlink", L"hello.txt", 0,
          "0c0000a034000000000012001400120001000000680065006c006c006f002e00"
          "7400780074000000680065006c006c006f002e007400780074000000");
  reparse("absolute symlink", L"C:\\x", 0,
          "0c0000a0280000000000100012000800000000005c003f003f005c0043003a00"
          "5c007800000043003a005c0078000000");
  reparse("mount point", L"C:\\x", 1,
          "030000a02400000000001000120008005c003f003f005c0043003a005c007800"
          "000043003a005c0078000000");
  two[0].size = 70000;
  truth("an EA value over 65535 bytes is refused", w32_ea_encode(two, 1, &n) == NULL);
}

static void round_trip(const WCHAR *path) {
  w32_sink s;
  w32_bs_rec r;
  LARGE_INTEGER size;
  BYTE buf[64];
  DWORD got = 0;
  s.backup = 0;
  s.ctx = NULL;
  s.h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
  truth("a scratch file", s.h != INVALID_HANDLE_VALUE);
  truth("a security record", w32_bs_record(&s, W32_BACKUP_SECURITY_DATA, "SD", 2) == 0);
  truth("a named stream header",
        w32_bs_header(&s, W32_BACKUP_ALTERNATE_DATA, 0, 3, L":s:$DATA") == 0);
  truth("its data", w32_sink_write(&s, "abc", 3) == 0);
  GetFileSizeEx(s.h, &size);
  truth("records are 20 + 2, 20 + 16 + 3 bytes", size.QuadPart == 61);
  SetFilePointer(s.h, 0, NULL, FILE_BEGIN);
  ReadFile(s.h, buf, 22, &got, NULL);
  same("a whole record", buf, got, "03000000000000000200000000000000000000005344");
  SetFilePointer(s.h, 0, NULL, FILE_BEGIN);
  truth("decode 1", w32_bs_next(s.h, 61, &r) == 1 && r.id == 3 && r.size == 2 && r.total == 22);
  SetFilePointer(s.h, 2, NULL, FILE_CURRENT);
  truth("decode 2", w32_bs_next(s.h, 39, &r) == 1 && r.id == 4 && r.size == 3 &&
                        wcscmp(r.name, L":s:$DATA") == 0 && r.total == 39);
  truth("the end", w32_bs_next(s.h, 0, &r) == 0);
  SetFilePointer(s.h, 0, NULL, FILE_BEGIN);
  truth("a record longer than its stream is malformed", w32_bs_next(s.h, 21, &r) < 0);
  SetFilePointer(s.h, 0, NULL, FILE_BEGIN);
  truth("a truncated header is malformed", w32_bs_next(s.h, 10, &r) < 0);
  w32_sink_close(&s);
  w32_sink_close(&s); /* harmless twice */
  DeleteFileW(path);
}

int main(void) {
  WCHAR dir[MAX_PATH + 1], path[MAX_PATH + 32];
  GetTempPathW(MAX_PATH + 1, dir);
  swprintf(path, MAX_PATH + 32, L"%lsbstream-test-%lu", dir, (unsigned long)GetCurrentProcessId());
  encoders();
  round_trip(path);
  if (failed) {
    printf("bstream: %d of %d checks failed\n", failed, checks);
    return 1;
  }
  printf("ok bstream %d checks\n", checks);
  return 0;
}
