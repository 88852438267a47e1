/* Joined namespaces (--network sandbox:NAME, --ipc sandbox:NAME, --pid sandbox:NAME):
 * the helper enters the other sandbox's namespace before clone, so the child inherits
 * it and clone creates only the namespaces that are not shared. Each namespace is
 * opened once through a pidfd whose process is checked against the start time the
 * engine recorded (a recycled pid can never hand us a host namespace) and the fd is
 * kept, so a restart rejoins the very same namespace.
 *
 * A sandbox with its own user namespace owns its IPC, PID and network namespaces
 * through it, and the kernel lets only a process privileged in that owner mount an
 * mqueue (IPC), a procfs (PID) or a sysfs (network) for them. So a joiner shares the
 * owner too ("join user", as runc does with a container that has its own user
 * namespace): it runs on the same id range, and its other namespaces are created by a
 * process already inside that user namespace, so they are owned by it as well. The
 * helper itself must stay in the host's user namespace (cgroups, id maps, idmapped
 * mounts, restarts), so an intermediate process joins and clones the sandbox with
 * CLONE_PARENT: the sandbox is still the helper's own child to supervise and reap. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "join.h"
#include "pidref.h"
#include "plan.h"
#include "syscalls.h"
#include "util.h"

static const char *ns_file(int nstype) {
  switch (nstype) {
    case CLONE_NEWNET: return "net";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWUSER: return "user";
  }
  return "?";
}

static int open_joined(struct join_op *j) {
  autoclose int pidfd = open_pidfd_checked(j->pid, j->start);
  if (pidfd < 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)j->pid, ns_file(j->nstype));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return set_error("open", path, errno);
  /* Still the same process after the open: the fd is that sandbox's namespace. */
  if (!pidfd_alive(pidfd)) {
    close(fd);
    return set_error_msg("open", path, "the sandbox to join stopped while it was being joined");
  }
  return fd;
}

int joined_userns(const struct plan *p, pid_t *pid) {
  for (int i = 0; i < p->join.n; i++) {
    if (p->join.ops[i].nstype == CLONE_NEWUSER) {
      if (pid) *pid = p->join.ops[i].pid;
      return p->join.ops[i].fd;
    }
  }
  if (pid) *pid = 0;
  return -1;
}

static bool joins_userns(const struct plan *p) {
  for (int i = 0; i < p->join.n; i++)
    if (p->join.ops[i].nstype == CLONE_NEWUSER) return true;
  return false;
}

static int setns_joined(struct join_op *j) {
  if (setns(j->fd, j->nstype) < 0) {
    char what[64];
    snprintf(what, sizeof what, "%s namespace of pid %d", ns_file(j->nstype), (int)j->pid);
    return set_error("setns", what, errno);
  }
  return 0;
}

static int read_map(pid_t pid, const char *file, struct idmap *m, int *n) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  if (read_small_file(path, buf, sizeof buf) < 0) return set_error("read", path, errno);
  *n = 0;
  for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l && *n < MAX_IDMAP; l = strtok_r(NULL, "\n", &save)) {
    if (sscanf(l, "%lu %lu %lu", &m[*n].inside, &m[*n].outside, &m[*n].count) == 3) (*n)++;
  }
  if (*n == 0) return set_error_msg("read", path, "the joined sandbox's user namespace has no id map");
  return 0;
}

int read_joined_maps(struct plan *p) {
  struct join_op *j = NULL;
  for (int i = 0; i < p->join.n; i++)
    if (p->join.ops[i].nstype == CLONE_NEWUSER) j = &p->join.ops[i];
  if (!j || p->n_uidmap > 0) return 0; /* a restart keeps the maps it read */
  autoclose int pidfd = open_pidfd_checked(j->pid, j->start);
  if (pidfd < 0) return -1;
  if (read_map(j->pid, "uid_map", p->uidmap, &p->n_uidmap) < 0 || read_map(j->pid, "gid_map", p->gidmap, &p->n_gidmap) < 0) return -1;
  /* still that process: the maps are those of the namespace we joined */
  if (!pidfd_alive(pidfd)) return set_error_msg("read", "uid_map", "the sandbox to join stopped while it was being joined");
  return 0;
}

int join_namespaces(struct plan *p) {
  set_stage("join");
  bool defer = joins_userns(p);
  for (int i = 0; i < p->join.n; i++) {
    struct join_op *j = &p->join.ops[i];
    if (j->fd < 0 && (j->fd = open_joined(j)) < 0) return -1;
    /* With a joined user namespace the intermediate of clone_joined enters them all. */
    if (!defer && setns_joined(j) < 0) return -1;
  }
  return 0;
}

/* A child's error event (its error record is its own, not ours): copy its call, path and errno or
 * message into ours, so the caller's report names what really failed. */
static void event_field(const char *event, const char *key, char *out, size_t len) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *at = strstr(event, pat);
  out[0] = '\0';
  if (at) snprintf(out, len, "%.*s", (int)strcspn(at + strlen(pat), "\""), at + strlen(pat));
}

static int relay_error(const char *event, const char *call, const char *path) {
  static char c[64], where[512], msg[256];
  event_field(event, "call", c, sizeof c);
  event_field(event, "path", where, sizeof where);
  event_field(event, "message", msg, sizeof msg);
  const char *e = strstr(event, "\"errno\":");
  int err = e ? atoi(e + 8) : 0;
  if (!c[0]) return set_error_msg(call, path, "a helper process ended without a word");
  if (err > 0) return set_error(c, where, err);
  return set_error_msg(c, where, "%s", msg);
}

pid_t clone_joined(struct plan *p) {
  set_stage("join");
  /* the intermediate's answer: the sandbox's pid, or its error event */
  autoclose int answer_r = -1, answer_w = -1;
  if (open_pipe(&answer_r, &answer_w, "join") < 0) return -1;
  pid_t mid = fork();
  if (mid < 0) return (pid_t)set_error("fork", "join", errno);
  if (mid == 0) {
    close_now(&answer_r);
    /* The user namespace first: setns into the others needs privilege over their owner,
     * and what we create below must be owned by it. */
    int32_t out = -1;
    for (int pass = 0; pass < 2 && out == -1; pass++) {
      for (int i = 0; i < p->join.n; i++) {
        struct join_op *j = &p->join.ops[i];
        if ((pass == 0) != (j->nstype == CLONE_NEWUSER)) continue;
        if (setns_joined(j) < 0) out = -2;
      }
    }
    /* Our host ids are not mapped in there: become its mapped root (the first line of
     * the maps prepare_userns copied), which keeps the full capability set setns gave
     * us. setgroups may be denied in a rootless namespace; the list is fixed then. */
    if (out == -1) {
      uid_t uid = (uid_t)(p->n_uidmap ? p->uidmap[0].inside : 0);
      gid_t gid = (gid_t)(p->n_gidmap ? p->gidmap[0].inside : uid);
      setgroups(0, NULL);
      if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) out = -2, set_error("setresuid", "root of the joined user namespace", errno);
    }
    if (out == -1) {
      /* CLONE_PARENT: the sandbox becomes the helper's child, not ours. */
      long pid = syscall(SYS_clone, (unsigned long)((p->ns_flags & ~(unsigned long)CLONE_NEWUSER) | CLONE_PARENT | SIGCHLD), NULL, NULL, NULL, 0);
      if (pid == 0) {
        close_now(&answer_w); /* or the helper would wait for our exec to see EOF */
        return 0;         /* the sandbox's child path, as after clone_into_namespaces */
      }
      if (pid < 0) set_error("clone", "in the joined user namespace", errno), out = -2;
      else out = (int32_t)pid;
    }
    if (out < 0) {
      /* the error travels as the event line the parent reports */
      write_error_event(answer_w);
      _exit(125);
    }
    (void)!write(answer_w, &out, sizeof out);
    _exit(0);
  }
  close_now(&answer_w);
  char buf[2048];
  size_t got = read_to_eof(answer_r, buf, sizeof buf);
  waitpid(mid, NULL, 0);
  if (got == sizeof(int32_t)) {
    int32_t pid;
    memcpy(&pid, buf, sizeof pid);
    if (pid > 0) return (pid_t)pid;
  }
  buf[got] = '\0';
  return (pid_t)relay_error(buf, "clone", "joined user namespace");
}

/* Runs in a short-lived child of the helper (host root): enters the joined sandbox's
 * mount namespace and clones its /dev/shm mount, which is only allowed from inside that
 * namespace. The path is resolved without following any link the sandbox may have
 * planted, and must be the tmpfs itself, not something mounted over or linked to it. */
static int clone_shm_tree(pid_t pid, unsigned long long start, int sock) {
  autoclose int pidfd = open_pidfd_checked(pid, start);
  if (pidfd < 0) return -1;
  if (setns(pidfd, CLONE_NEWNS) < 0) return set_error("setns", "mount namespace of the joined sandbox", errno);
  autoclose int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return set_error("open", "/", errno);
  autoclose int shm = sys_openat2(root, "dev/shm", O_PATH | O_DIRECTORY | O_CLOEXEC,
                                  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (shm < 0) return set_error("open", "/dev/shm of the joined sandbox", errno);
  struct statfs sf;
  if (fstatfs(shm, &sf) < 0) return set_error("fstatfs", "/dev/shm of the joined sandbox", errno);
  if (sf.f_type != 0x01021994 /* TMPFS_MAGIC */)
    return set_error_msg("open", "/dev/shm", "the joined sandbox's /dev/shm is not its tmpfs any more");
  /* not AT_RECURSIVE: only the tmpfs, never a mount the sandbox stacked inside it */
  autoclose int tree = sys_open_tree(shm, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) return set_error("open_tree", "/dev/shm of the joined sandbox", errno);
  if (!pidfd_alive(pidfd)) return set_error_msg("open", "/dev/shm", "the sandbox to join stopped while it was being joined");
  if (fd_send(sock, tree) < 0) return set_error("sendmsg", "/dev/shm tree", errno);
  return 0;
}

int prepare_joined_shm(struct plan *p) {
  struct mount_op *o = NULL;
  for (int i = 0; i < p->n_ops; i++)
    if (p->ops[i].flags & MF_JOINSHM) o = &p->ops[i];
  if (!o || o->tree_fd >= 0) return 0;
  struct join_op *ipc = NULL;
  for (int i = 0; i < p->join.n; i++)
    if (p->join.ops[i].nstype == CLONE_NEWIPC) ipc = &p->join.ops[i];
  if (!ipc) return set_error_msg("plan", o->dst, "joinshm without a joined IPC namespace");
  set_stage("join");
  autoclose int sock = -1, child_sock = -1;
  if (open_socketpair(&sock, &child_sock, "/dev/shm tree") < 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return set_error("fork", "/dev/shm tree", errno);
  if (pid == 0) {
    close_now(&sock);
    if (clone_shm_tree(ipc->pid, ipc->start, child_sock) < 0) {
      write_error_event(child_sock);
      _exit(1);
    }
    _exit(0);
  }
  close_now(&child_sock);
  char buf[2048];
  struct iovec iov = {buf, sizeof buf - 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t r;
  do r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  close_now(&sock);
  waitpid(pid, NULL, 0);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (r == 1 && c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
    memcpy(&o->tree_fd, CMSG_DATA(c), sizeof(int));
    return 0;
  }
  buf[r > 0 ? r : 0] = '\0';
  return relay_error(buf, "open", "/dev/shm of the joined sandbox");
}
