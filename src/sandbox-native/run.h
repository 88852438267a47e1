/* `lab-helper run`: one sandbox, as the plan on fd 3 asks (run.c). */
#ifndef LAB_RUN_H
#define LAB_RUN_H

/* Reads the plan on fd 3 and runs it: a foreground sandbox, a detached one, an exec
 * or a cp. Events go back on fd 3. Returns the helper's exit code. serve.c runs it
 * once per sandbox of a batch, in a child with the same fds. */
int helper_run(void);

#endif
