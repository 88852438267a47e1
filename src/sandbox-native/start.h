/* Starting one instance of a sandbox (start.c): clone into new namespaces, the
 * parent/child handshake, and the child's steps up to exec. */
#ifndef LAB_START_H
#define LAB_START_H

#include <linux/filter.h>

#include "plan.h"
#include "supervise.h"

#define START_ERROR_MAX 2048 /* an "error" event line, as error.h formats it */

/* Starts the plan's sandbox and reports "started" or "error" on report_fd (-1: none).
 * Returns 0 when the program runs; 1 when the child failed before exec (it exits on
 * its own and run->pid is still to be reaped); -1 when nothing is left running. On 1
 * and -1 the error event is also left in error_event (START_ERROR_MAX bytes), for a
 * caller that keeps it, as the detached supervisor does in its status. */
int start_sandbox(struct plan *p, const struct sock_fprog *filter, int report_fd, struct running *run, char *error_event);

#endif
