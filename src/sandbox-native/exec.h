/* `lab sandbox exec` (exec.c): a program started inside a running sandbox. The running
 * sandbox to enter is also cp's (copy.c). Plan lines: target PID STARTTIME | background. */
#ifndef LAB_EXEC_H
#define LAB_EXEC_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>

struct exec_plan {
  pid_t target;               /* a process of the sandbox to enter (0: none, a new sandbox) */
  unsigned long long target_start;
  bool background;            /* exec -d: the exec'd program runs on without the caller */
};

struct plan;

/* Runs the plan's program inside the running sandbox p->exec.target. */
int run_exec(struct plan *p, const struct sock_fprog *filter, int ctl);

#endif
