/* Attached clients of a detached sandbox's supervisor (see attach.h for the framing).
 * Everything here is non-blocking: the supervisor is single-threaded and also runs the
 * sandbox's restarts, timers and log, which a stuck client must never hold up. */
#define _GNU_SOURCE
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

bool attach_add(struct attach_set *a, int fd) {
  if (a->n >= ATTACH_MAX) return false;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return false;
  /* room for a burst of output while the client's terminal catches up */
  int sndbuf = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct attached *c = &a->c[a->n++];
  memset(c, 0, sizeof *c);
  c->fd = fd;
  return true;
}

void attach_drop(struct attach_set *a, int i) {
  close(a->c[i].fd);
  a->c[i] = a->c[--a->n];
}

/* All of a frame or none of it: a client never sees half a frame. */
static bool send_frame(int fd, char kind, const char *buf, size_t n) {
  unsigned char h[5] = {(unsigned char)kind, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
  struct iovec iov[2] = {{h, sizeof h}, {(void *)buf, n}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
  ssize_t w = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  return w == (ssize_t)(sizeof h + n);
}

void attach_broadcast(struct attach_set *a, char stream, const char *buf, size_t n) {
  for (int i = 0; i < a->n;) {
    bool ok = true;
    for (size_t off = 0; ok && off < n; off += ATTACH_FRAME_MAX) {
      size_t k = n - off < ATTACH_FRAME_MAX ? n - off : ATTACH_FRAME_MAX;
      ok = send_frame(a->c[i].fd, stream, buf + off, k);
    }
    if (ok) i++;
    else attach_drop(a, i);
  }
}

/* Writes what it can of data to input_fd; keeps the rest for attach_flush. */
static bool give_input(struct attached *c, int input_fd, const unsigned char *data, size_t n) {
  while (n > 0) {
    ssize_t w = write(input_fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    if (w < 0) return false; /* the program closed its input: drop what was typed */
    data += w;
    n -= (size_t)w;
  }
  memcpy(c->pend, data, n);
  c->npend = n;
  return true;
}

/* Acts on the client's whole frames; stops while its input waits for the program. */
static void parse_frames(struct attach_set *a, int i, int input_fd, int tty_fd) {
  struct attached *c = &a->c[i];
  if (input_fd < 0) c->npend = 0; /* the program's input is gone (its terminal closed): nothing waits */
  while (c->have >= 5 && c->npend == 0) {
    size_t len = ((size_t)c->in[1] << 24) | ((size_t)c->in[2] << 16) | ((size_t)c->in[3] << 8) | c->in[4];
    char kind = (char)c->in[0];
    if (len > ATTACH_FRAME_MAX || (kind != 'i' && kind != 'r') || (kind == 'r' && len != 4)) {
      attach_drop(a, i); /* not our client */
      return;
    }
    if (c->have < 5 + len) break;
    if (kind == 'i' && input_fd >= 0) {
      if (!give_input(c, input_fd, c->in + 5, len)) c->npend = 0;
    } else if (kind == 'r' && tty_fd >= 0) {
      struct winsize ws = {.ws_row = (unsigned short)((c->in[5] << 8) | c->in[6]), .ws_col = (unsigned short)((c->in[7] << 8) | c->in[8])};
      if (ws.ws_row && ws.ws_col) ioctl(tty_fd, TIOCSWINSZ, &ws);
    }
    memmove(c->in, c->in + 5 + len, c->have - 5 - len);
    c->have -= 5 + len;
  }
}

void attach_flush(struct attach_set *a, int i, int input_fd, int tty_fd) {
  struct attached *c = &a->c[i];
  unsigned char tmp[ATTACH_FRAME_MAX];
  size_t n = c->npend;
  memcpy(tmp, c->pend, n);
  c->npend = 0;
  if (input_fd < 0 || !give_input(c, input_fd, tmp, n)) c->npend = 0;
  parse_frames(a, i, input_fd, tty_fd);
}

void attach_read(struct attach_set *a, int i, int input_fd, int tty_fd) {
  struct attached *c = &a->c[i];
  if (c->have == sizeof c->in) return; /* a whole frame waits for the program */
  ssize_t r = read(c->fd, c->in + c->have, sizeof c->in - c->have);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (r <= 0) {
    attach_drop(a, i);
    return;
  }
  c->have += (size_t)r;
  parse_frames(a, i, input_fd, tty_fd);
}
