/* Namespaces: the clone into new ones, the id maps the parent writes for a new user
 * namespace, the child's mapped identity, and hostname and loopback inside (ns.h). */
#define _GNU_SOURCE
#include "ns.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

pid_t clone_into_namespaces(const struct plan *p) {
  set_stage("clone");
  /* cgroup v2: created in its group (cgroup.h explains). Any failure, also one of the
   * namespace flags, is retried the classic way, which then reports it. */
  int cg = clone_cgroup_fd();
  if (cg >= 0) {
    struct clone_args a = {.flags = (uint64_t)p->ns_flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cg};
    long pid = syscall(SYS_clone3, &a, sizeof a);
    if (pid > 0) joined_by_clone();
    if (pid >= 0) return (pid_t)pid;
  }
  /* Raw clone with a NULL stack behaves like fork() but takes namespace flags, so
   * the child is PID 1 of its new PID namespace from its first instruction. */
  long pid = syscall(SYS_clone, (unsigned long)(p->ns_flags | SIGCHLD), NULL, NULL, NULL, 0);
  if (pid < 0) return (pid_t)set_error("clone", NULL, errno);
  return (pid_t)pid;
}

static int write_map(pid_t child, const char *file, const struct idmap *m, int n) {
  char path[64], buf[512];
  size_t o = 0;
  for (int i = 0; i < n && o < sizeof buf; i++)
    o += (size_t)snprintf(buf + o, sizeof buf - o, "%lu %lu %lu\n", m[i].inside, m[i].outside, m[i].count);
  snprintf(path, sizeof path, "/proc/%d/%s", (int)child, file);
  return write_file(path, buf);
}

/* newuidmap/newgidmap (setuid root, from shadow's uidmap package) write ranges the
 * caller owns in /etc/subuid and /etc/subgid, which an unprivileged process cannot. */
static int run_mapper(const char *tool, pid_t child, const struct idmap *m, int n) {
  char args[3 * MAX_IDMAP + 2][24];
  char *argv[3 * MAX_IDMAP + 3];
  int a = 0;
  argv[a++] = (char *)tool;
  snprintf(args[0], sizeof args[0], "%d", (int)child);
  argv[a++] = args[0];
  for (int i = 0; i < n; i++) {
    snprintf(args[1 + 3 * i], sizeof args[0], "%lu", m[i].inside);
    snprintf(args[2 + 3 * i], sizeof args[0], "%lu", m[i].outside);
    snprintf(args[3 + 3 * i], sizeof args[0], "%lu", m[i].count);
    argv[a++] = args[1 + 3 * i];
    argv[a++] = args[2 + 3 * i];
    argv[a++] = args[3 + 3 * i];
  }
  argv[a] = NULL;
  pid_t pid = fork();
  if (pid < 0) return set_error("fork", tool, errno);
  if (pid == 0) {
    char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve(tool, argv, envp);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) < 0) return set_error("waitpid", tool, errno);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return set_error_msg(tool, NULL, "%s failed (exit %d): check the caller's entries in /etc/subuid and /etc/subgid", tool,
                         WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}

int write_id_maps(pid_t child, const struct plan *p) {
  set_stage("userns");
  if (!(p->ns_flags & CLONE_NEWUSER)) return 0;
  if (p->newuidmap) {
    if (run_mapper(p->newuidmap, child, p->uidmap, p->n_uidmap) < 0) return -1;
    return run_mapper(p->newgidmap, child, p->gidmap, p->n_gidmap);
  }
  if (p->n_uidmap && write_map(child, "uid_map", p->uidmap, p->n_uidmap) < 0) return -1;
  if (p->setgroups_deny) {
    /* Without privilege over the gids, the kernel demands setgroups be denied first. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)child);
    if (write_file(path, "deny") < 0) return -1;
  }
  if (p->n_gidmap && write_map(child, "gid_map", p->gidmap, p->n_gidmap) < 0) return -1;
  return 0;
}

int assume_mapped_identity(const struct plan *p) {
  if (!(p->ns_flags & CLONE_NEWUSER) || p->n_uidmap == 0) return 0;
  set_stage("userns");
  uid_t uid = (uid_t)p->uidmap[0].inside;
  gid_t gid = (gid_t)(p->n_gidmap ? p->gidmap[0].inside : p->uidmap[0].inside);
  /* Host supplementary groups are unmapped here; drop them while we may. */
  if (!p->setgroups_deny && setgroups(0, NULL) < 0) return set_error("setgroups", NULL, errno);
  if (setresgid(gid, gid, gid) < 0) return set_error("setresgid", NULL, errno);
  if (setresuid(uid, uid, uid) < 0) return set_error("setresuid", NULL, errno);
  return 0;
}

int setup_uts_and_net(const struct plan *p) {
  set_stage("uts");
  if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0) return set_error("sethostname", p->hostname, errno);
  if (!p->loopback) return 0;
  set_stage("net");
  autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return set_error("socket", "lo", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return set_error("ioctl SIOCGIFFLAGS", "lo", errno);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return set_error("ioctl SIOCSIFFLAGS", "lo", errno);
  return configure_veths(&p->net);
}
