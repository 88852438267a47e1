/* Captured output of a detached sandbox: one record per line, appended to a file
 * the CLI reads while the sandbox runs, rotated to FILE.1 (FILE.2 …) at a size cap. */
#ifndef LAB_LOGS_H
#define LAB_LOGS_H

#include <stddef.h>

#define LOG_MAX_FILES 100

struct logsink {
  int fd;
  const char *path;
  unsigned long long max, size;
  unsigned files; /* kept: path, path.1 … path.(files-1) */
};

int log_open(struct logsink *l, const char *path, unsigned long long max, unsigned files);
/* stream: 'o' (stdout) or 'e' (stderr). */
void log_append(struct logsink *l, char stream, const char *buf, size_t n);
/* Reads what is waiting on fd (non-blocking) into the log; returns bytes read, 0 at EOF, -1 when empty. */
long log_drain(struct logsink *l, char stream, int fd);

#endif
