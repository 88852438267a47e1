#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lab_error g_error;
const char *g_stage = "start";

int set_error(const char *call, const char *path, int err) {
  g_error.stage = g_stage;
  g_error.call = call;
  snprintf(g_error.path, sizeof g_error.path, "%s", path ? path : "");
  g_error.err = err;
  g_error.detail[0] = '\0';
  return -1;
}

int set_error_msg(const char *call, const char *path, const char *fmt, ...) {
  va_list ap;
  set_error(call, path, 0);
  va_start(ap, fmt);
  vsnprintf(g_error.detail, sizeof g_error.detail, fmt, ap);
  va_end(ap);
  return -1;
}

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

void write_error_event(int fd) {
  char path[1100], detail[600], line[2048];
  json_escape(path, sizeof path, g_error.path);
  json_escape(detail, sizeof detail, g_error.detail);
  int n = snprintf(line, sizeof line,
                   "{\"event\":\"error\",\"stage\":\"%s\",\"call\":\"%s\",\"path\":\"%s\","
                   "\"errno\":%d,\"errnoName\":\"%s\",\"message\":\"%s\"}\n",
                   g_error.stage ? g_error.stage : "", g_error.call ? g_error.call : "", path,
                   g_error.err, g_error.err ? strerrorname_np(g_error.err) : "",
                   g_error.err ? strerror(g_error.err) : detail);
  if (n > 0) write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
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

int write_file(const char *path, const char *data) {
  autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return set_error("open", path, errno);
  if (write(fd, data, strlen(data)) != (ssize_t)strlen(data)) return set_error("write", path, errno);
  return 0;
}
