/* Shared helpers of the sandbox helper: error reporting, small string tools.
 * Error convention (as in crun): a function that can fail returns -1 and records
 * what failed with set_error(); the caller passes the -1 up unchanged. */
#ifndef LAB_UTIL_H
#define LAB_UTIL_H

#include <stddef.h>
#include <sys/types.h>

struct lab_error {
  const char *stage;  /* which setup stage: plan, clone, mount, pivot, caps, exec... */
  const char *call;   /* the failing call: mount, open_tree, pivot_root... */
  char path[512];     /* the path involved, if any */
  int err;            /* errno, 0 when the failure is not a syscall */
  char detail[256];   /* extra words for non-errno failures */
};

extern struct lab_error g_error;
extern const char *g_stage;

int set_error(const char *call, const char *path, int err);
int set_error_msg(const char *call, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes g_error as one JSON event line on fd. */
void write_error_event(int fd);
/* JSON-escape src into dst (always NUL-terminated). */
void json_escape(char *dst, size_t dstlen, const char *src);
/* Writes all of buf, retrying on EINTR / short writes. */
int write_all(int fd, const void *buf, size_t len);
/* Writes data to an existing file (a /proc or cgroup control file) in one write. */
int write_file(const char *path, const char *data);
/* Reads until end of file (or cap-1 bytes); returns the count. For the children's
 * close-on-exec error pipes: no data at EOF means the program is running. */
size_t read_to_eof(int fd, char *buf, size_t cap);
/* Percent-decoding in place; returns -1 on a malformed escape. */
int pct_decode(char *s);
/* Parses a non-negative decimal; returns -1 if s is not one. */
int parse_u64(const char *s, unsigned long long *out);

#define autoclose __attribute__((cleanup(close_fdp)))
void close_fdp(int *fd);

#endif
