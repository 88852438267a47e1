/* Joined namespaces (--network sandbox:NAME, --ipc sandbox:NAME, --pid sandbox:NAME):
 * the helper enters the other sandbox's namespace before clone, so the child inherits
 * it and clone creates only the namespaces that are not shared. Each namespace is
 * opened once through a pidfd whose process is checked against the start time the
 * engine recorded (a recycled pid can never hand us a host namespace) and the fd is
 * kept, so a restart rejoins the very same namespace. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lifecycle.h"
#include "plan.h"
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
  autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t r = read(fd, buf, sizeof buf - 1);
  if (r <= 0) return 0;
  buf[r] = '\0';
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

static const char *ns_file(int nstype) {
  switch (nstype) {
    case CLONE_NEWNET: return "net";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWPID: return "pid";
  }
  return "?";
}

static int open_joined(struct join_op *j) {
  autoclose int pidfd = open_pidfd_checked(j->pid, j->start);
  if (pidfd < 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)j->pid, ns_file(j->nstype));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return set_error("open", path, errno);
  /* Still the same process after the open: the fd is that sandbox's namespace. */
  if (!pidfd_alive(pidfd)) {
    close(fd);
    return set_error_msg("open", path, "the sandbox to join stopped while it was being joined");
  }
  return fd;
}

int join_namespaces(struct plan *p) {
  g_stage = "join";
  for (int i = 0; i < p->lc.n_joins; i++) {
    struct join_op *j = &p->lc.joins[i];
    if (j->fd < 0 && (j->fd = open_joined(j)) < 0) return -1;
    if (setns(j->fd, j->nstype) < 0) {
      char what[64];
      snprintf(what, sizeof what, "%s namespace of pid %d", ns_file(j->nstype), (int)j->pid);
      return set_error("setns", what, errno);
    }
  }
  return 0;
}
