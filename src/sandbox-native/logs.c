/* Record format, one per line:  NANOS STREAM KIND DATA
 *   NANOS   wall-clock time (ns since the epoch) when the supervisor read the data
 *   STREAM  o (stdout) or e (stderr); KIND F (the line ended) or P (partial: the
 *           next record of the same stream continues it)
 * so `lab sandbox logs` can restore the exact bytes, interleave streams in order and
 * print timestamps. Each record is one write(2) in O_APPEND mode: a reader never sees
 * half a record from us. At the cap FILE.(N-2) … FILE.1 move up one (the oldest is
 * replaced) and the file becomes FILE.1, so the logs of one sandbox never take more than
 * N times the cap (N files, `--log-opt max-file`). With N = 1 the full file is removed
 * and a new one begun. A reader following FILE sees a new inode at each rotation. */
#define _GNU_SOURCE
#include "logs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define CHUNK 16384

static char rec[CHUNK + 64];

int log_open(struct logsink *l, const char *path, unsigned long long max, unsigned files) {
  l->path = path;
  l->max = max;
  l->files = files;
  l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (l->fd < 0) return set_error("open", path, errno);
  struct stat st;
  l->size = fstat(l->fd, &st) == 0 ? (unsigned long long)st.st_size : 0;
  return 0;
}

static void rotate(struct logsink *l) {
  char from[4096], to[4096];
  if (snprintf(to, sizeof to, "%s.%u", l->path, LOG_MAX_FILES) >= (int)sizeof to) return;
  close(l->fd);
  if (l->files <= 1) {
    unlink(l->path);
  } else {
    for (unsigned k = l->files - 1; k >= 2; k--) {
      snprintf(from, sizeof from, "%s.%u", l->path, k - 1);
      snprintf(to, sizeof to, "%s.%u", l->path, k);
      rename(from, to); /* ENOENT until that many rotations happened */
    }
    snprintf(to, sizeof to, "%s.1", l->path);
    rename(l->path, to);
  }
  l->fd = open(l->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  l->size = 0;
}

static void put_record(struct logsink *l, long long ns, char stream, char kind, const char *data, size_t n) {
  int h = snprintf(rec, 64, "%lld %c%c ", ns, stream, kind);
  memcpy(rec + h, data, n);
  rec[h + n] = '\n';
  size_t len = (size_t)h + n + 1;
  if (l->size > 0 && l->size + len > l->max) rotate(l);
  if (l->fd < 0) return;
  if (write_all(l->fd, rec, len) == 0) l->size += len;
}

void log_append(struct logsink *l, char stream, const char *buf, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
  while (n > 0) {
    const char *nl = memchr(buf, '\n', n);
    size_t seg = nl ? (size_t)(nl - buf) : n;
    if (seg > CHUNK) seg = CHUNK;
    bool full = nl && seg == (size_t)(nl - buf);
    put_record(l, ns, stream, full ? 'F' : 'P', buf, seg);
    buf += seg + (full ? 1 : 0);
    n -= seg + (full ? 1 : 0);
  }
}

long log_drain(struct logsink *l, char stream, int fd) {
  static char buf[CHUNK];
  ssize_t r = read(fd, buf, sizeof buf);
  if (r > 0) log_append(l, stream, buf, (size_t)r);
  if (r < 0) return -1;
  return (long)r;
}
