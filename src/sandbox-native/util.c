/* Small tools every part of the helper uses (util.h). */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void json_escape(char *dst, size_t dstlen, const char *src) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)src; *p && o + 7 < dstlen; p++) {
    if (*p == '"' || *p == '\\') {
      dst[o++] = '\\';
      dst[o++] = (char)*p;
    } else if (*p < 0x20) {
      o += (size_t)snprintf(dst + o, dstlen - o, "\\u%04x", *p);
    } else {
      dst[o++] = (char)*p;
    }
  }
  dst[o] = '\0';
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

size_t read_to_eof(int fd, char *buf, size_t cap) {
  size_t got = 0;
  while (got < cap - 1) {
    ssize_t r = read(fd, buf + got, cap - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  return got;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int pct_decode(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (*p == '%') {
      int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
      if (h < 0 || l < 0) return -1;
      char c = (char)(h * 16 + l);
      if (c == '\0') return -1; /* an embedded NUL would truncate paths silently */
      *o++ = c;
      p += 2;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
  return 0;
}

int parse_u64(const char *s, unsigned long long *out) {
  if (!s || !*s) return -1;
  unsigned long long v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    unsigned long long nv = v * 10 + (unsigned long long)(*p - '0');
    if (nv < v) return -1;
    v = nv;
  }
  *out = v;
  return 0;
}

void close_fdp(int *fd) {
  if (*fd >= 0) close(*fd);
}

void close_now(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

int open_pipe(int *r, int *w, const char *what) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return set_error("pipe2", what, errno);
  *r = fds[0];
  *w = fds[1];
  return 0;
}

int open_socketpair(int *a, int *b, const char *what) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return set_error("socketpair", what, errno);
  *a = fds[0];
  *b = fds[1];
  return 0;
}

ssize_t read_small_file(const char *path, char *buf, size_t cap) {
  autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

int write_file(const char *path, const char *data) {
  autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return set_error("open", path, errno);
  if (write(fd, data, strlen(data)) != (ssize_t)strlen(data)) return set_error("write", path, errno);
  return 0;
}
