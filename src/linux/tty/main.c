/* The console stub: gives a console process its initial window size, then
 * becomes that process.
 *
 * `crun exec` sets the ConsoleSize from its parent only after the child
 * has started, so a program that reads its size at once (`stty size`, an
 * editor, `top`) may see 0x0.  A console process with a ConsoleSize
 * therefore runs this program first (bind-mounted read-only at
 * /.hcsshim-tty; linked statically, so it runs in any image), which sets
 * the size on its terminal and execs the command as crun would have.  It
 * sets the size only while the terminal still has none: a resize that
 * came first (from crun's parent, or the caller) wins.
 *
 * Usage: /.hcsshim-tty ROWS COLS -- COMMAND [ARGS...] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static unsigned short dimension(const char *s) {
  unsigned long v = strtoul(s, NULL, 10);
  return (unsigned short)(v > 65535 ? 65535 : v);
}

int main(int argc, char **argv) {
  struct winsize ws;
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fputs("usage: /.hcsshim-tty ROWS COLS -- COMMAND [ARGS...]\n", stderr);
    return 125;
  }
  memset(&ws, 0, sizeof ws);
  if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 0 && ws.ws_col == 0) {
    ws.ws_row = dimension(argv[1]);
    ws.ws_col = dimension(argv[2]);
    (void)ioctl(0, TIOCSWINSZ, &ws); /* best effort: crun sets it too */
  }
  execvp(argv[4], argv + 4);
  fprintf(stderr, "%s: %s\n", argv[4], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
