/* `lab-helper run`: the one-sandbox path. The TypeScript engine validates a sandbox
 * spec, turns it into a plan (an ordered list of operations, see src/sandbox/plan.ts)
 * and writes it on fd 3, a socket it keeps open. The helper answers on the same socket
 * with JSON event lines: "error" (setup failed: stage, call, path, errno), "started"
 * (pid), "exit".
 *
 * Order: block the forwarded signals (before any clone, so none is lost) -> read the
 * plan -> read the seccomp BPF (on the host, before any root changes) -> then by what
 * the plan asks for:
 *   "detach"          detach.c: a supervisor that outlives the caller;
 *   "target" + "copy" copy.c: files into or out of a running sandbox;
 *   "target"          exec.c: a program in a running sandbox (no new namespaces);
 *   otherwise         start.c starts the sandbox, supervise.c stays with it until it ends. */
#define _GNU_SOURCE
#include "run.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "plan.h"
#include "seccomp.h"
#include "start.h"
#include "supervise.h"
#include "syscalls.h"
#include "util.h"

#define CONTROL_FD 3

/* Too large for the stack; one per process, and a process runs one plan. */
static struct plan plan;

int helper_run(void) {
  struct stat st;
  if (fstat(CONTROL_FD, &st) < 0) {
    fprintf(stderr, "lab-helper: fd %d (control socket) is not open; this program is started by lab\n", CONTROL_FD);
    return 125;
  }
  /* 0-2 and the control socket are all lab hands us. Anything else came from lab's own
   * caller (Node marks only its low fds close-on-exec) and must not be held: a detached
   * supervisor would keep a caller's pipe or lock open for as long as its sandbox runs. */
  sys_close_range(CONTROL_FD + 1, ~0U, 0);
  int ctl = CONTROL_FD;
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  forwarded_signals(&set);
  /* Blocked before clone so no signal is lost; the child unblocks before exec. */
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (read_plan(ctl, &plan) < 0) {
    write_error_event(ctl);
    return 125;
  }
  struct sock_fprog filter = {0, NULL};
  if (plan.seccomp_bpf && read_seccomp_bpf(plan.seccomp_bpf, &filter) < 0) {
    write_error_event(ctl);
    return 125;
  }
  /* Detached sandboxes and exec have their own supervisors (detach.c, exec.c). */
  if (plan.detach.enabled) return run_detached(&plan, &filter, ctl);
  if (plan.exec.target && plan.copy.direction) return run_copy(&plan, ctl);
  if (plan.exec.target) return run_exec(&plan, &filter, ctl);
  struct running run;
  char error_event[START_ERROR_MAX];
  if (start_sandbox(&plan, &filter, ctl, &run, error_event) < 0) return 125;
  bool caller_gone = false;
  int code = supervise(&run, ctl, &plan, &caller_gone);
  /* Normally lab reads the group's accounting and removes it; a caller that died (even
   * by SIGKILL) cannot, so the groups go now, and the shared parent if it is empty. */
  if (caller_gone) remove_cgroups(&plan);
  return code;
}
