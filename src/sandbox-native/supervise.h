/* The helper's parent side after the program started, for a foreground run and an
 * exec: forward signals, watch the caller, enforce the wall-clock limit, reap, report. */
#ifndef LAB_SUPERVISE_H
#define LAB_SUPERVISE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "plan.h"

/* Signals the helper forwards to the sandbox (kept blocked, read via signalfd). */
void forwarded_signals(sigset_t *set);

/* A started sandbox as its supervisor holds it (start.c and exec.c fill it in). */
struct running {
  pid_t pid;        /* the sandbox's first process: its init (--init) or the program */
  int status_fd;    /* with an init: where it reports the program's wait status, else -1 */
  int tty_master;   /* -t: the master of the program's pty, else -1 */
  pid_t keeper;     /* rootless networking: pasta's keeper (pasta.h), else 0 */
};

/* Runs until the sandbox's first process is gone; writes the "exit" event on ctl.
 * Takes over run's fds (closes them). *caller_gone (if not NULL) says whether the
 * caller closed ctl: nobody will read the result. Returns the exit code the helper
 * itself should end with. */
int supervise(const struct running *run, int ctl, const struct plan *p, bool *caller_gone);

#endif
