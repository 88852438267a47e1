/* The minimal PID 1 of --init: forwards signals to the program, reaps orphans, and
 * reports the program's own wait status to the helper (init.h). */
#define _GNU_SOURCE
#include "init.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

int become_init(int status_fd, int close_fd) {
  set_stage("init");
  pid_t prog = fork();
  if (prog < 0) return set_error("fork", NULL, errno);
  if (prog == 0) {
    close(status_fd);
    return 0;
  }
  close(close_fd);
  /* Signals are still blocked (inherited from the helper), so none is lost between
   * the fork and the first sigwaitinfo(). */
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(prog, sig);
      continue;
    }
    int st;
    pid_t w;
    while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
      if (w != prog) continue;
      char line[32];
      int n = snprintf(line, sizeof line, "status %d\n", st);
      write_all(status_fd, line, (size_t)n);
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
  }
}
