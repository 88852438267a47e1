/* Starting one instance of a sandbox: the clone, the parent/child handshake and the
 * child's steps up to exec. A foreground run (run.c) starts once; a detached sandbox
 * (detach.c) starts here again for each restart.
 *
 * Stage order:
 *   parent  [enter joined namespaces, join.c] -> pipes -> user ids (userns.c)
 *           -> clone(new namespaces)
 *   child   wait for "go"  (the parent first moves it into its cgroups and writes
 *           its id maps, so everything the child does is already accounted and mapped)
 *   parent  [veth pairs onto bridges, net.c] [pasta up, pasta.c] -> "go"
 *   child   cgroup ns -> setsid -> hostname, lo up, [veth addresses, route] -> build root, pivot -> rlimits
 *           -> drop capabilities, switch user, no_new_privs -> [fork init]
 *           -> [pty from the sandbox's devpts, see tty.c] -> cwd check -> seal fds
 *           -> reset signals -> seccomp (last) -> exec
 *   parent  read the child's error pipe to EOF (close-on-exec: EOF without data means
 *           the program runs) -> "started", or the child's "error" event
 * Supervising what was started is the caller's: supervise.c for a foreground run,
 * detach.c for a detached one. Joined namespaces (join.c) are entered by the parent
 * just before clone; with a joined user namespace an intermediate process clones. */
#define _GNU_SOURCE
#include "start.h"

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
#include "init.h"
#include "join.h"
#include "mount.h"
#include "net.h"
#include "pasta.h"
#include "ns.h"
#include "process.h"
#include "seccomp.h"
#include "tty.h"
#include "userns.h"
#include "util.h"

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
  set_stage("namespaces");
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
  child_fail(err_w, last_error()->err == ENOENT ? 127 : 126);
}

/* The parent's side of a failed start: the error goes to the caller and into error_event. */
static int start_failed(int report_fd, char *error_event) {
  size_t n = format_error_event(error_event, START_ERROR_MAX);
  if (report_fd >= 0 && n) write_all(report_fd, error_event, n);
  return -1;
}

int start_sandbox(struct plan *p, const struct sock_fprog *filter, int report_fd, struct running *run, char *error_event) {
  error_event[0] = '\0';
  *run = (struct running){.pid = 0, .status_fd = -1, .tty_master = -1};
  /* Joined namespaces are entered by this (parent) process, before clone, so the
   * child inherits them and clone only creates the ones that are not shared. */
  if (join_namespaces(p) < 0) return start_failed(report_fd, error_event);
  /* go: the parent releases the child; err: the child's error event, EOF at its exec;
   * status: the init's report of the program's status (--init only). */
  autoclose int go_r = -1, go_w = -1, err_r = -1, err_w = -1, status_r = -1, status_w = -1;
  /* -t: the child sends its pty master back on this pair (SCM_RIGHTS needs a socket). */
  autoclose int tty_r = -1, tty_w = -1;
  if (open_pipe(&go_r, &go_w, "sync pipe") < 0 || open_pipe(&err_r, &err_w, "error pipe") < 0 ||
      (p->init && open_pipe(&status_r, &status_w, "init status pipe") < 0) ||
      (p->tty.enabled && open_socketpair(&tty_r, &tty_w, "pty") < 0))
    return start_failed(report_fd, error_event);
  if (prepare_userns(p, report_fd) < 0) {
    release_idmapped_trees(p); /* those made before the failure; a restart makes them anew */
    return start_failed(report_fd, error_event);
  }
  prepare_self_join(p);
  /* A joined user namespace is entered by an intermediate process (join.c explains). */
  pid_t child = joined_userns(p, NULL) >= 0 ? clone_joined(p) : clone_into_namespaces(p);
  if (child < 0) {
    cancel_self_join();
    release_idmapped_trees(p);
    return start_failed(report_fd, error_event);
  }
  if (child == 0) {
    close_now(&go_w);
    close_now(&err_r);
    close_now(&status_r);
    close_now(&tty_r);
    if (report_fd >= 0) close(report_fd);
    child_main(p, filter, go_r, err_w, status_w, tty_w);
  }
  release_idmapped_trees(p);
  close_now(&go_r);
  close_now(&err_w);
  close_now(&status_w);
  close_now(&tty_w);
  /* The veth pairs after the maps (the peer is created in the child's namespace, owned
   * by its user namespace) and before "go": the child configures them first thing. */
  /* pasta likewise: it configures the interface in the child's namespace before "go". */
  if (join_cgroups(child, p) < 0 || write_id_maps(child, p) < 0 || attach_veths(&p->net, child) < 0 ||
      start_pasta(&p->pasta, child, &run->keeper) < 0 ||
      (write(go_w, "g", 1) != 1 && set_error("write", "sync pipe", errno) < 0)) {
    start_failed(report_fd, error_event);
    stop_pasta(&run->keeper);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return -1;
  }
  close_now(&go_w);
  report_userns(p, report_fd);
  char buf[START_ERROR_MAX];
  size_t got = read_to_eof(err_r, buf, sizeof buf);
  run->pid = child;
  run->status_fd = take_fd(&status_r);
  if (got > 0) {
    write_all(report_fd, buf, got);
    snprintf(error_event, START_ERROR_MAX, "%.*s", (int)got, buf);
    return 1;
  }
  if (tty_r >= 0) run->tty_master = tty_receive_master(tty_r);
  char started[96];
  int n = snprintf(started, sizeof started, "{\"event\":\"started\",\"pid\":%d}\n", (int)child);
  write_all(report_fd, started, (size_t)n);
  return 0;
}
