/* lab-helper: the privileged half of a lab sandbox.
 *
 * The TypeScript engine validates a sandbox spec, turns it into a plan (an ordered
 * list of operations, see src/sandbox/plan.ts) and writes it on fd 3, a socket it
 * keeps open. The helper answers on the same socket with JSON event lines:
 * "error" (setup failed: stage, call, path, errno), "started" (pid), "exit".
 *
 * Stage order:
 *   parent  read plan -> read seccomp BPF -> clone(new namespaces)
 *   child   wait for "go"  (the parent first moves it into its cgroups and writes
 *           its id maps, so everything the child does is already accounted and mapped)
 *   child   cgroup ns -> setsid -> hostname, lo up -> build root, pivot -> rlimits
 *           -> drop capabilities, switch user, no_new_privs -> [fork init]
 *           -> [pty from the sandbox's devpts, see tty.c] -> cwd check -> seal fds
 *           -> reset signals -> seccomp (last) -> exec
 *   parent  "started" -> supervise (forward signals, watch caller, wall-clock limit)
 *           -> reap -> "exit"
 * A plan with "detach" hands over to detach.c after the plan is read: it forks a
 * supervisor that outlives the caller and repeats the parent's part for each restart.
 * Joined namespaces (join.c) are entered by the parent just before clone. A plan with
 * "target" is an exec into a running sandbox (exec.c) and creates no namespaces.
 * The helper is single-threaded throughout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "init.h"
#include "lifecycle.h"
#include "mount.h"
#include "ns.h"
#include "plan.h"
#include "process.h"
#include "seccomp.h"
#include "seccomp_tools.h"
#include "supervise.h"
#include "serve.h"
#include "tty.h"
#include "userns.h"
#include "util.h"

#define CONTROL_FD 3
#define HELPER_VERSION "lab-helper 1"

static struct plan g_plan;

static _Noreturn void child_fail(int err_w, int code) {
  write_error_event(err_w);
  _exit(code);
}

static _Noreturn void child_main(struct plan *p, const struct sock_fprog *filter, int go_r, int err_w, int status_w, int tty_w) {
  /* Die with the helper: a sandbox must never outlive its supervisor. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  char go;
  if (read(go_r, &go, 1) != 1) _exit(125); /* the parent died before releasing us */
  close(go_r);
  /* Into the cgroups first, while still the helper's credentials (cgroup.h explains). */
  if (join_self() < 0) child_fail(err_w, 125);
  /* Nothing may ptrace us or open /proc/1/exe (the helper's binary) while we are still
   * the helper; exec of the program resets this. Only after "go": a non-dumpable
   * process's /proc files belong to root, and an unprivileged parent must first write
   * our id maps there. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (assume_mapped_identity(p) < 0) child_fail(err_w, 125);
  /* A change of credentials clears the parent-death signal (prctl(2)): set it again, or a
   * killed supervisor would leave this sandbox running. Again after drop_privileges. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  g_stage = "namespaces";
  if (p->cgroup_ns && unshare(CLONE_NEWCGROUP) < 0) {
    set_error("unshare CLONE_NEWCGROUP", NULL, errno);
    child_fail(err_w, 125);
  }
  /* Its own session: no controlling terminal, so TIOCSTI cannot inject into the caller's. */
  if (p->new_session && setsid() < 0) {
    set_error("setsid", NULL, errno);
    child_fail(err_w, 125);
  }
  if (setup_uts_and_net(p) < 0) child_fail(err_w, 125);
  umask(0);
  if (build_root(p, -1) < 0) child_fail(err_w, 125);
  if (apply_rlimits(p) < 0) child_fail(err_w, 125);
  if (drop_privileges(p) < 0) child_fail(err_w, 125);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (p->init) {
    if (become_init(status_w, err_w) < 0) child_fail(err_w, 125);
    /* from here on: the program's process; the init is its parent, PID 1 */
  }
  /* After the user switch, so the pty belongs to the sandbox's user; after the init's
   * fork, so the program (not the init) leads the terminal's session. */
  if (tty_w >= 0 && tty_attach_child(p, tty_w) < 0) child_fail(err_w, 125);
  if (enter_workdir(p) < 0) child_fail(err_w, 125);
  if (seal_fds() < 0) child_fail(err_w, 125);
  reset_signals();
  umask(022);
  if (filter->len && install_seccomp(filter) < 0) child_fail(err_w, 125);
  exec_program(p);
  child_fail(err_w, g_error.err == ENOENT ? 127 : 126);
}

char g_last_error_event[2048];

/* Starts one instance of the sandbox (also each restart of a detached one): enter any
 * joined namespaces, clone, move the child into its cgroups and write its id maps,
 * release it, and wait until it has exec'd. Reports "started" or "error" on report_fd.
 * Returns 0 when the program runs, 1 when the child failed before exec (it exits on
 * its own and is still to be reaped), -1 when nothing is left running. */
int start_sandbox(struct plan *p, const struct sock_fprog *filter, int report_fd, pid_t *child_out, int *status_out) {
  g_last_error_event[0] = '\0';
  *status_out = -1;
  /* Joined namespaces are entered by this (parent) process, before clone, so the
   * child inherits them and clone only creates the ones that are not shared. */
  if (join_namespaces(p) < 0) {
    write_error_event(report_fd);
    return -1;
  }
  int go[2], errp[2], statp[2] = {-1, -1};
  autoclose int ttyp_parent = -1;
  int ttyp[2] = {-1, -1};
  p->lc.tty_master = -1;
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || (p->init && pipe2(statp, O_CLOEXEC) < 0)) {
    set_error("pipe2", NULL, errno);
    write_error_event(report_fd);
    return -1;
  }
  /* -t: the child sends its pty master back on this pair (SCM_RIGHTS needs a socket). */
  if (p->lc.tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttyp) < 0) {
    set_error("socketpair", "pty", errno);
    write_error_event(report_fd);
    return -1;
  }
  ttyp_parent = ttyp[0];
  if (prepare_userns(p, report_fd) < 0) {
    write_error_event(report_fd);
    if (ttyp[1] >= 0) close(ttyp[1]);
    close(go[0]), close(go[1]), close(errp[0]), close(errp[1]);
    if (statp[0] >= 0) close(statp[0]), close(statp[1]);
    return -1;
  }
  prepare_self_join(p);
  /* A joined user namespace is entered by an intermediate process (join.c explains). */
  pid_t child = joined_userns(p, NULL) >= 0 ? clone_joined(p) : clone_into_namespaces(p);
  if (child > 0) release_idmapped_trees(p);
  if (child < 0) {
    cancel_self_join();
    write_error_event(report_fd);
    if (ttyp[1] >= 0) close(ttyp[1]);
    close(go[0]), close(go[1]), close(errp[0]), close(errp[1]);
    if (statp[0] >= 0) close(statp[0]), close(statp[1]);
    return -1;
  }
  if (child == 0) {
    close(go[1]);
    close(errp[0]);
    if (statp[0] >= 0) close(statp[0]);
    if (report_fd >= 0) close(report_fd);
    if (ttyp_parent >= 0) close(ttyp_parent);
    child_main(p, filter, go[0], errp[1], statp[1], ttyp[1]);
  }
  close(go[0]);
  close(errp[1]);
  if (ttyp[1] >= 0) close(ttyp[1]);
  if (statp[1] >= 0) close(statp[1]);
  if (join_cgroups(child, p) < 0 || write_id_maps(child, p) < 0 ||
      (write(go[1], "g", 1) != 1 && set_error("write", "sync pipe", errno) < 0)) {
    write_error_event(report_fd);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(go[1]);
    close(errp[0]);
    if (statp[0] >= 0) close(statp[0]);
    return -1;
  }
  close(go[1]);
  report_userns(p, report_fd);
  /* The error pipe is close-on-exec: EOF without data means the program is running. */
  char buf[4096];
  size_t got = read_to_eof(errp[0], buf, sizeof buf);
  close(errp[0]);
  *child_out = child;
  *status_out = statp[0];
  if (ttyp_parent >= 0 && got == 0) p->lc.tty_master = tty_receive_master(ttyp_parent);
  if (got > 0) {
    write_all(report_fd, buf, got);
    snprintf(g_last_error_event, sizeof g_last_error_event, "%.*s", (int)got, buf);
    return 1;
  }
  char started[96];
  int n = snprintf(started, sizeof started, "{\"event\":\"started\",\"pid\":%d}\n", (int)child);
  write_all(report_fd, started, (size_t)n);
  return 0;
}

int helper_run(void) {
  struct stat st;
  if (fstat(CONTROL_FD, &st) < 0) {
    fprintf(stderr, "lab-helper: fd %d (control socket) is not open; this program is started by lab\n", CONTROL_FD);
    return 125;
  }
  int ctl = CONTROL_FD;
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  forwarded_signals(&set);
  /* Blocked before clone so no signal is lost; the child unblocks before exec. */
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (read_plan(ctl, &g_plan) < 0) {
    write_error_event(ctl);
    return 125;
  }
  struct sock_fprog filter = {0, NULL};
  if (g_plan.seccomp_bpf && read_seccomp_bpf(g_plan.seccomp_bpf, &filter) < 0) {
    write_error_event(ctl);
    return 125;
  }
  /* Detached sandboxes and exec have their own supervisors (detach.c, exec.c). */
  g_plan.lc.tty_master = -1;
  if (g_plan.lc.detach) return run_detached(&g_plan, &filter, ctl);
  if (g_plan.lc.target && g_plan.lc.copy) return run_copy(&g_plan, ctl);
  if (g_plan.lc.target) return run_exec(&g_plan, &filter, ctl);
  pid_t child;
  int status_fd;
  int r = start_sandbox(&g_plan, &filter, ctl, &child, &status_fd);
  if (r < 0) return 125;
  bool caller_gone = false;
  int code = supervise(child, ctl, status_fd, &g_plan, &caller_gone);
  /* Normally lab reads the group's accounting and removes it; a caller that died (even
   * by SIGKILL) cannot, so the groups go now, and the shared parent if it is empty. */
  if (caller_gone) remove_cgroups(&g_plan);
  return code;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "version") == 0) {
    puts(HELPER_VERSION);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "run") == 0) return helper_run();
  if (argc >= 2 && strcmp(argv[1], "serve") == 0) return serve();
  /* `lab profile record` runs this as the sandbox's first program; compiling profiles
   * needs libseccomp and is the separate lab-seccomp binary (seccomp_tool.c). */
  if (argc >= 2 && strcmp(argv[1], "seccomp-record") == 0) return seccomp_record_main(argc, argv);
  fprintf(stderr, "usage: lab-helper run   (plan on fd 3; started by lab, not by hand)\n       lab-helper version\n");
  return 125;
}
