/* `-t`: a real pseudo-terminal for the sandboxed program.
 *
 * Sandbox side (tty_attach_child), in this order, and why:
 *   1. a session of its own (setsid): only a session leader without a controlling
 *      terminal may acquire one; with --init the program is the init's child and not
 *      yet a leader, without it child_main's setsid already made it one;
 *   2. open /dev/ptmx *inside* the sandbox, after pivot_root and the user switch: it
 *      is the sandbox's own devpts instance (newinstance), so the pty is /dev/pts/N of
 *      the sandbox, owned by the sandbox's user, invisible to the host's devpts;
 *   3. the peer through TIOCGPTPEER, never by path: nothing can swap /dev/pts/N;
 *   4. TIOCSCTTY, then 0-2 onto the pty; the master goes to the supervisor over a
 *      socketpair (SCM_RIGHTS) and our copy is closed: the sandbox never holds it.
 * Supervisor side: relay the master with the caller's terminal in raw mode (only when
 * stdin is relayed, as with docker run -it) and pass on window size changes. */
#define _GNU_SOURCE
#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "plan.h"
#include "util.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif


int tty_attach_child(const struct plan *p, int sock) {
  set_stage("tty");
  if (getsid(0) != getpid() && setsid() < 0) return set_error("setsid", NULL, errno);
  autoclose int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return set_error("open", "/dev/ptmx", errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) return set_error("ioctl TIOCSPTLCK", "/dev/ptmx", errno);
  autoclose int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return set_error("ioctl TIOCGPTPEER", "/dev/ptmx", errno);
  struct winsize ws = {.ws_row = p->tty.rows, .ws_col = p->tty.cols};
  if (ws.ws_row && ws.ws_col && ioctl(slave, TIOCSWINSZ, &ws) < 0) return set_error("ioctl TIOCSWINSZ", NULL, errno);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return set_error("ioctl TIOCSCTTY", NULL, errno);
  if (fd_send(sock, master) < 0) return set_error("sendmsg", "pty master", errno);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) return set_error("dup2", "pty", errno);
  return 0;
}

int tty_receive_master(int sock) {
  /* The child sent it before exec, and exec already happened: it is there or never comes. */
  int fd = fd_recv(sock, MSG_DONTWAIT);
  if (fd >= 0) fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

void tty_relay_begin(struct tty_relay *r, int master, bool forward_stdin) {
  r->master = master;
  r->in = -1;
  r->raw = false;
  if (master < 0) return;
  tty_relay_resize(r);
  if (!forward_stdin) return;
  r->in = 0;
  if (isatty(0) && tcgetattr(0, &r->saved) == 0) {
    /* Raw: every key, Ctrl-C included, goes to the sandbox's line discipline, which
     * turns it into the sandbox's own SIGINT. */
    struct termios raw = r->saved;
    cfmakeraw(&raw);
    r->raw = tcsetattr(0, TCSANOW, &raw) == 0;
  }
}

void tty_relay_resize(struct tty_relay *r) {
  struct winsize ws;
  if (r->master < 0) return;
  for (int fd = 0; fd < 3; fd++) {
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
      ioctl(r->master, TIOCSWINSZ, &ws);
      return;
    }
  }
}

static bool copy_master_out(struct tty_relay *r) {
  char buf[16384];
  ssize_t n = read(r->master, buf, sizeof buf);
  if (n > 0) {
    write_all(1, buf, (size_t)n);
    return true;
  }
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    /* EIO: every slave fd is closed. Nothing more will come. */
    close(r->master);
    r->master = -1;
  }
  return false;
}

void tty_relay_pump(struct tty_relay *r, short master_revents, short in_revents) {
  if (r->master >= 0 && (master_revents & (POLLIN | POLLHUP | POLLERR))) copy_master_out(r);
  if (r->in >= 0 && r->master >= 0 && (in_revents & (POLLIN | POLLHUP | POLLERR))) {
    char buf[4096];
    ssize_t n = read(r->in, buf, sizeof buf);
    if (n > 0) {
      write_all(r->master, buf, (size_t)n);
    } else if (n == 0 || errno != EINTR) {
      /* The caller's input ended: an end-of-file character, as a terminal user would type. */
      char eof = r->raw ? r->saved.c_cc[VEOF] : 4;
      write_all(r->master, &eof, 1);
      r->in = -1;
    }
  }
}

void tty_relay_end(struct tty_relay *r) {
  if (r->master >= 0) {
    while (r->master >= 0 && copy_master_out(r)) {}
    if (r->master >= 0) close(r->master);
    r->master = -1;
  }
  if (r->raw) tcsetattr(0, TCSANOW, &r->saved);
  r->raw = false;
}
