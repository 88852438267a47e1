/* The helper's error record and its one wire form, the JSON "error" event (error.h). */
#define _GNU_SOURCE
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static struct lab_error record;
static const char *g_stage = "start";

int set_error(const char *call, const char *path, int err) {
  record.stage = g_stage;
  record.call = call;
  snprintf(record.path, sizeof record.path, "%s", path ? path : "");
  record.err = err;
  record.detail[0] = '\0';
  return -1;
}

int set_error_msg(const char *call, const char *path, const char *fmt, ...) {
  va_list ap;
  set_error(call, path, 0);
  va_start(ap, fmt);
  vsnprintf(record.detail, sizeof record.detail, fmt, ap);
  va_end(ap);
  return -1;
}

void set_stage(const char *stage) {
  g_stage = stage;
}

const struct lab_error *last_error(void) {
  return &record;
}

size_t format_error_event(char *buf, size_t cap) {
  char path[1100], detail[600];
  json_escape(path, sizeof path, record.path);
  json_escape(detail, sizeof detail, record.detail);
  int n = snprintf(buf, cap,
                   "{\"event\":\"error\",\"stage\":\"%s\",\"call\":\"%s\",\"path\":\"%s\","
                   "\"errno\":%d,\"errnoName\":\"%s\",\"message\":\"%s\"}\n",
                   record.stage ? record.stage : "", record.call ? record.call : "", path, record.err,
                   record.err ? strerrorname_np(record.err) : "", record.err ? strerror(record.err) : detail);
  if (n < 0) return 0;
  return (size_t)n < cap ? (size_t)n : cap - 1;
}

void write_error_event(int fd) {
  char line[2048];
  size_t n = format_error_event(line, sizeof line);
  if (n > 0) write_all(fd, line, n);
}

int report_error(int fd, int code) {
  write_error_event(fd);
  return code;
}
