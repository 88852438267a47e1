/* `lab sandbox exec`: run a program inside a running sandbox with the same hardening.
 *
 * Order, and why:
 *   1. pidfd for the sandbox's PID 1, checked against the start time the engine saw,
 *      and an fd on its root (/proc/PID/root) -- both before anything changes;
 *   2. join its cgroups while the host's cgroup file system is still what we see;
 *   3. setns(pidfd, every namespace that differs from ours) in one call: the kernel
 *      enters them atomically and in the right order (user first);
 *   4. chroot into the sandbox's root through the fd from step 1 (entering a mount
 *      namespace only resets the root to that namespace's original root, not the
 *      pivoted one);
 *   5. fork (the pid namespace applies to children only); the child then takes the
 *      sandbox's steps: rlimits -> capabilities, user, no_new_privs -> cwd -> sealed
 *      fds -> default signals -> seccomp (last) -> exec;
 *   6. the parent supervises exactly as for a foreground run (supervise.c).
 * -t: the child takes a pty of the sandbox's devpts after the user switch (tty.c) and
 * the parent relays it. -d ("background"): before step 1 the helper forks; the first
 * process returns at once, the second leaves the caller's session, reports on fd 3,
 * closes it and stays as the program's parent (its PDEATHSIG) with 0-2 on /dev/null.
 * Neither process is dumpable, so nothing in the sandbox can ptrace the helper while it
 * still holds host fds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "exec.h"
#include "ns.h"
#include "pidref.h"
#include "plan.h"
#include "process.h"
#include "seccomp.h"
#include "supervise.h"
#include "tty.h"
#include "util.h"

static const struct {
  const char *name;
  int flag;
} kinds[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
};

/* The namespaces of pid that are not ours. */
static int differing_namespaces(pid_t pid) {
  int flags = 0;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    char mine[64], theirs[64];
    struct stat a, b;
    snprintf(mine, sizeof mine, "/proc/self/ns/%s", kinds[i].name);
    snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", (int)pid, kinds[i].name);
    if (stat(mine, &a) < 0 || stat(theirs, &b) < 0) continue;
    if (a.st_ino != b.st_ino || a.st_dev != b.st_dev) flags |= kinds[i].flag;
  }
  return flags;
}

static _Noreturn void exec_child(struct plan *p, const struct sock_fprog *filter, int err_w, int tty_w) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (p->new_session && setsid() < 0) {
    set_error("setsid", NULL, errno);
    goto fail;
  }
  if (apply_rlimits(p) < 0 || drop_privileges(p) < 0) goto fail;
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* the credential change cleared it */
  if (tty_w >= 0 && tty_attach_child(p, tty_w) < 0) goto fail;
  if (enter_workdir(p) < 0 || seal_fds() < 0) goto fail;
  reset_signals();
  umask(022);
  if (filter->len && install_seccomp(filter) < 0) goto fail;
  exec_program(p);
  write_error_event(err_w);
  _exit(last_error()->err == ENOENT ? 127 : 126);
fail:
  write_error_event(err_w);
  _exit(125);
}

int run_exec(struct plan *p, const struct sock_fprog *filter, int ctl) {
  set_stage("exec-join");
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (p->exec.background) {
    pid_t f = fork();
    if (f < 0) {
      set_error("fork", "exec -d", errno);
      return report_error(ctl, 125);
    }
    if (f > 0) return 0;
    setsid();
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2), close(devnull);
  }
  pid_t pid = p->exec.target;
  autoclose int pidfd = open_pidfd_checked(pid, p->exec.target_start);
  if (pidfd < 0) return report_error(ctl, 125);
  char root[64];
  snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
  autoclose int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    set_error("open", root, errno);
    return report_error(ctl, 125);
  }
  int flags = differing_namespaces(pid);
  if (!pidfd_alive(pidfd)) {
    set_error_msg("pidfd_open", NULL, "the sandbox stopped while exec was joining it");
    return report_error(ctl, 125);
  }
  if ((prepare_self_join(p) ? join_self() : join_cgroups(getpid(), p)) < 0) return report_error(ctl, 125);
  set_stage("exec-join");
  if (flags && setns(pidfd, flags) < 0) {
    set_error("setns", "the sandbox's namespaces", errno);
    return report_error(ctl, 125);
  }
  if (fchdir(rootfd) < 0 || chroot(".") < 0) {
    set_error("chroot", "the sandbox's root", errno);
    return report_error(ctl, 125);
  }
  /* err: the child's error event, EOF at its exec; tty: -t, the pty master comes back */
  autoclose int err_r = -1, err_w = -1, tty_r = -1, tty_w = -1;
  if (open_pipe(&err_r, &err_w, "error pipe") < 0 || (p->tty.enabled && open_socketpair(&tty_r, &tty_w, "pty") < 0)) return report_error(ctl, 125);
  pid_t child = fork();
  if (child < 0) {
    set_error("fork", "exec", errno);
    return report_error(ctl, 125);
  }
  if (child == 0) {
    close_now(&err_r);
    close_now(&tty_r);
    close(ctl);
    exec_child(p, filter, err_w, tty_w);
  }
  close_now(&err_w);
  close_now(&tty_w);
  char buf[4096];
  size_t got = read_to_eof(err_r, buf, sizeof buf);
  close_now(&err_r);
  struct running run = {.pid = child, .status_fd = -1, .tty_master = -1};
  if (got > 0) {
    write_all(ctl, buf, got);
  } else {
    if (tty_r >= 0) run.tty_master = tty_receive_master(tty_r);
    char started[96];
    int n = snprintf(started, sizeof started, "{\"event\":\"started\",\"pid\":%d}\n", (int)child);
    write_all(ctl, started, (size_t)n);
  }
  close_now(&tty_r);
  if (p->exec.background) {
    /* The caller has its answer; from now on it may go. */
    close(ctl);
    ctl = -1;
  }
  return supervise(&run, ctl, p, NULL); /* the groups are the target sandbox's */
}
