/* The last steps before the sandboxed program runs, and the exec itself. */
#ifndef LAB_PROCESS_H
#define LAB_PROCESS_H

#include "plan.h"

int apply_rlimits(const struct plan *p);
/* chdir into the working directory and make sure it is inside the root (the runc
 * CVE-2024-21626 class: a cwd reached through a leaked fd lies outside it). */
int enter_workdir(const struct plan *p);
/* Marks every fd above 2 close-on-exec, so the program inherits only 0-2. */
int seal_fds(void);
/* Replaces the process with the program; returns only on failure (errno set). */
int exec_program(const struct plan *p);
/* Resets signal dispositions and mask to defaults for the program. */
void reset_signals(void);

#endif
