/* The helper's parent side after the program started: forward signals, watch
 * the caller, enforce the wall-clock limit, reap and report. */
#ifndef LAB_SUPERVISE_H
#define LAB_SUPERVISE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "plan.h"

/* Signals the helper forwards to the sandbox (kept blocked, read via signalfd). */
void forwarded_signals(sigset_t *set);

/* Runs until the sandbox's PID 1 is gone; writes the "exit" event on ctl.
 * status_fd carries the program's real wait status when an init runs (-1 if none).
 * *caller_gone (if not NULL) says whether the caller closed ctl: nobody will read
 * the result. Returns the exit code the helper itself should end with. */
int supervise(pid_t child, int ctl, int status_fd, const struct plan *p, bool *caller_gone);

#endif
