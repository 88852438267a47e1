/* Recording the syscalls a program makes, for `lab profile record`.
 *
 * Runs as the first program of an unconfined sandbox: `lab-helper seccomp-record OUT
 * -- CMD...`. It forks; the child installs a filter that turns every syscall into a
 * user notification (SECCOMP_RET_USER_NOTIF, Linux 5.5+ for CONTINUE), hands the
 * listener fd to the parent and execs CMD. The parent notes (arch, number) of each
 * notification and lets the call continue unchanged. Children of CMD inherit the
 * filter, so the whole process tree is recorded. OUT gets one "ARCH NR" line per
 * distinct syscall; lab turns numbers into names.
 *
 * Limits (documented in docs/seccomp.md): only calls that this run makes are seen;
 * arguments are not recorded; every call costs a round trip to the recorder. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp_tools.h"
#include "fdpass.h"
#include "util.h"

/* The one syscall the recording filter lets through unnoticed: the child's sendmsg of
 * the listener on this descriptor number (before it, no one could answer a notice). */
#define HANDOVER_FD 1000
#define MAX_SEEN 8192

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_S390X
#else
#error "seccomp-record: add this architecture's AUDIT_ARCH_ value"
#endif

struct seen {
  uint32_t arch;
  int nr;
};
static struct seen g_seen[MAX_SEEN];
static int g_nseen;
static pid_t g_child;
static int g_child_status = -1; /* set once the recorded program has been reaped */

static void note(uint32_t arch, int nr) {
  for (int i = 0; i < g_nseen; i++)
    if (g_seen[i].arch == arch && g_seen[i].nr == nr) return;
  if (g_nseen < MAX_SEEN) g_seen[g_nseen++] = (struct seen){arch, nr};
}

static void forward_signal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

static int install_recording_filter(void) {
  /* Little-endian low word of args[0]; the high word must be 0 as well. */
  struct sock_filter insns[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 0, 7),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sendmsg, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HANDOVER_FD, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
  };
  struct sock_fprog prog = {sizeof insns / sizeof insns[0], insns};
  int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd < 0) return set_error("seccomp", "SECCOMP_FILTER_FLAG_NEW_LISTENER", errno);
  return fd;
}

static _Noreturn void record_child(int sock, char **cmd) {
  if (dup2(sock, HANDOVER_FD) < 0) _exit(125);
  close(sock);
  int lfd = install_recording_filter();
  if (lfd < 0) {
    write_error_event(2);
    _exit(125);
  }
  if (fd_send(HANDOVER_FD, lfd) < 0) _exit(125);
  /* From here every call is recorded, these two included (the sandbox needs them too). */
  close(HANDOVER_FD);
  close(lfd);
  execvp(cmd[0], cmd);
  fprintf(stderr, "lab-helper seccomp-record: cannot run %s: %s\n", cmd[0], strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

static int write_seen(const char *path) {
  autoclose int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return set_error("open", path, errno);
  for (int i = 0; i < g_nseen; i++) {
    char line[48];
    int n = snprintf(line, sizeof line, "%u %d\n", g_seen[i].arch, g_seen[i].nr);
    if (write_all(fd, line, (size_t)n) < 0) return set_error("write", path, errno);
  }
  if (fsync(fd) < 0) return set_error("fsync", path, errno);
  return 0;
}

/* Answers notices until no process uses the filter any more. */
static void serve(int lfd) {
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  int child_done = 0;
  for (;;) {
    struct pollfd p = {lfd, POLLIN, 0};
    int r = poll(&p, 1, child_done ? 50 : 200);
    if (r < 0 && errno != EINTR) break;
    if (r > 0 && (p.revents & POLLIN)) {
      memset(&req, 0, sizeof req);
      if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
        note(req.data.arch, req.data.nr);
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp); /* ENOENT: the caller died meanwhile */
      }
      continue;
    }
    if (r > 0 && (p.revents & (POLLHUP | POLLERR))) break; /* every filtered process is gone */
    if (!child_done && waitpid(g_child, &g_child_status, WNOHANG) == g_child) {
      child_done = 1;
    } else if (child_done && r == 0) {
      break; /* older kernels never report POLLHUP: stop after a quiet spell */
    }
  }
}

int seccomp_record_main(int argc, char **argv) {
  set_stage("seccomp-record");
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: lab-helper seccomp-record OUT -- CMD [ARG...]\n");
    return 2;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    set_error("socketpair", NULL, errno);
    write_error_event(2);
    return 125;
  }
  g_child = fork();
  if (g_child < 0) {
    set_error("fork", NULL, errno);
    write_error_event(2);
    return 125;
  }
  if (g_child == 0) {
    close(sv[0]);
    record_child(sv[1], argv + 4);
  }
  close(sv[1]);
  /* As PID 1 of the sandbox, pass the caller's signals on to the recorded program. */
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], forward_signal);
  int lfd = fd_recv(sv[0], 0);
  close(sv[0]);
  if (lfd >= 0) {
    serve(lfd);
    close(lfd);
  }
  int status = g_child_status;
  if (status < 0 && waitpid(g_child, &status, 0) < 0) status = 125 << 8;
  g_child = 0;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  if (lfd < 0) return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
  if (write_seen(argv[2]) < 0) {
    write_error_event(2);
    return 125;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
