/* Small tools every part of the helper uses: whole writes and reads, JSON escaping,
 * number and percent-decoding parsers, and the autoclose cleanup attribute. Errors
 * are error.h's (included here, as nearly every user of these needs both). */
#ifndef LAB_UTIL_H
#define LAB_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* JSON-escape src into dst (always NUL-terminated). */
void json_escape(char *dst, size_t dstlen, const char *src);
/* Writes all of buf, retrying on EINTR / short writes. */
int write_all(int fd, const void *buf, size_t len);
/* Writes data to an existing file (a /proc or cgroup control file) in one write. */
int write_file(const char *path, const char *data);
/* Reads a small file (a /proc or cgroup file) with one read into buf, NUL-terminated;
 * returns its length, or -1 with errno set (nothing recorded: callers decide). */
ssize_t read_small_file(const char *path, char *buf, size_t cap);
/* Reads until end of file (or cap-1 bytes); returns the count. For the children's
 * close-on-exec error pipes: no data at EOF means the program is running. */
size_t read_to_eof(int fd, char *buf, size_t cap);
/* Percent-decoding in place; returns -1 on a malformed escape. */
int pct_decode(char *s);
/* Parses a non-negative decimal; returns -1 if s is not one. */
int parse_u64(const char *s, unsigned long long *out);

/* An fd closed when its variable goes out of scope (crun's cleanup_close). */
#define autoclose __attribute__((cleanup(close_fdp)))
void close_fdp(int *fd);
/* Hands an autoclose fd on to a new owner: returns it and leaves -1 behind. */
static inline int take_fd(int *fd) {
  int f = *fd;
  *fd = -1;
  return f;
}
/* Closes the fd now and leaves -1 behind (for an autoclose fd a child must not hold). */
void close_now(int *fd);
/* A close-on-exec pipe (*r, *w); what says what it is for, in an error. */
int open_pipe(int *r, int *w, const char *what);
/* A close-on-exec unix stream socket pair (*a, *b); fds travel over these. */
int open_socketpair(int *a, int *b, const char *what);

#endif
