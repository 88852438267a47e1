/* Naming another process safely: pid plus start time, and pidfds (pidref.h). */
#define _GNU_SOURCE
#include "pidref.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

unsigned long long process_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (read_small_file(path, buf, sizeof buf) <= 0) return 0;
  /* comm (field 2) may hold spaces and parentheses: count from the last ')' */
  char *s = strrchr(buf, ')');
  if (!s) return 0;
  s += 2; /* now at field 3 */
  for (int field = 3; field < 22 && *s; s++)
    if (*s == ' ') field++;
  return strtoull(s, NULL, 10);
}

int open_pidfd_checked(pid_t pid, unsigned long long start) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    if (errno == ESRCH) return set_error_msg("pidfd_open", NULL, "the sandbox is not running any more (pid %d is gone)", (int)pid);
    return set_error("pidfd_open", NULL, errno);
  }
  if (start && process_start_time(pid) != start) {
    close(pidfd);
    return set_error_msg("pidfd_open", NULL, "the sandbox is not running any more (pid %d now belongs to another process)", (int)pid);
  }
  return pidfd;
}

bool pidfd_alive(int pidfd) {
  return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}
