/* The plan: what the TypeScript engine asks the helper to do, as parsed from
 * the control socket. One line per operation, tokens separated by one space,
 * each token percent-encoded. The grammar is documented in src/sandbox/plan.ts. */
#ifndef LAB_PLAN_H
#define LAB_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "copy.h"
#include "detach.h"
#include "exec.h"
#include "join.h"
#include "net.h"
#include "pasta.h"
#include "tty.h"

#define MAX_OPS 512
#define MAX_ARGS 4096
#define MAX_ENV 4096
#define MAX_CGROUPS 16
#define MAX_CGSTATS 24
#define MAX_RLIMITS 16
#define MAX_GROUPS 64
#define MAX_IDMAP 8

enum op_kind {
  OP_BIND,      /* src dst flags: bind a host path (resolved without symlinks) */
  OP_TMPFS,     /* dst size mode flags */
  OP_PROC,      /* dst */
  OP_SYSFS,     /* dst: sysfs, read-only */
  OP_DEVPTS,    /* dst: a new devpts instance */
  OP_MQUEUE,    /* dst */
  OP_SYMLINK,   /* target dst */
  OP_MKDIR,     /* dst mode */
  OP_FILE,      /* dst mode content */
  OP_MASK,      /* dst: hide a path (a /dev/null bind for files, an empty ro tmpfs for dirs) */
  OP_READONLY,  /* dst: make a mounted path read-only */
  OP_OVERLAY,   /* src dst: writable copy-on-write view of host src; upper on the root tmpfs */
  OP_LAYER,     /* src flags: a read-only image layer (image.c), bottom first */
  OP_IMAGEROOT, /* upper work flags: the overlay of the layers becomes the root (image.c) */
};

/* flags of mount ops */
#define MF_RO (1u << 0)
#define MF_NOSUID (1u << 1)
#define MF_NODEV (1u << 2)
#define MF_NOEXEC (1u << 3)
#define MF_OPTIONAL (1u << 4) /* skip silently when the source does not exist */
#define MF_FILE (1u << 5)     /* the destination is a file, not a directory */
#define MF_IDMAP (1u << 6)    /* apply the sandbox's id mapping to this bind */
#define MF_JOINSHM (1u << 7)  /* the joined IPC sandbox's /dev/shm (tree made by join.c) */
#define MF_UPPER (1u << 8)    /* overlay: the directory at DST is the upper layer */
#define MF_ROOTMAP (1u << 9)  /* idmap a host-root-owned source too: the filter refuses set-id modes */
#define MF_HIDE (1u << 10)    /* idmapped bind of a directory as an overlay's only upper: mountinfo shows no host path */

struct mount_op {
  enum op_kind kind;
  char *src;
  char *dst;
  char *data;
  unsigned flags;
  unsigned long long size;
  unsigned mode;
  int tree_fd;          /* an idmapped tree made by the parent (userns.c), or -1 */
};

struct rlimit_op {
  int resource;
  struct rlimit lim;
};

struct idmap {
  unsigned long inside, outside, count;
};

/* Host id ranges handed out to sandboxes: `count` ranges of `size` ids from `base`,
 * each locked through a file in `dir` while a sandbox uses it. */
struct idpool {
  char *dir;
  unsigned long base, size, count;
};

struct plan {
  unsigned long ns_flags;     /* CLONE_NEW* for the sandbox */
  bool cgroup_ns;             /* unshare(CLONE_NEWCGROUP) after joining the cgroup */
  char *hostname;
  char *cgroup_procs[MAX_CGROUPS];
  int n_cgroups;
  char *cgroup_owner; /* the groups' ownership record (removed with them) */
  char *cgstats[MAX_CGSTATS]; /* counter files read when a one-shot run ends */
  int n_cgstats;
  bool cgfinish; /* the helper ends the groups of a one-shot run (cgroup.c) */
  unsigned long long root_size; /* size of the tmpfs the root is built on */
  bool root_readonly;
  struct mount_op ops[MAX_OPS];
  int n_ops;
  struct rlimit_op rlimits[MAX_RLIMITS];
  int n_rlimits;
  uid_t uid;
  gid_t gid;
  gid_t groups[MAX_GROUPS];
  int n_groups;
  uint64_t caps;          /* capabilities kept in the bounding set (and effective for root) */
  uint64_t ambient;       /* capabilities raised as ambient (non-root users) */
  struct idmap uidmap[MAX_IDMAP];
  int n_uidmap;
  struct idmap gidmap[MAX_IDMAP];
  int n_gidmap;
  struct idpool idpool;   /* when set, the uid/gid maps come from the pool */
  bool setgroups_deny;    /* unprivileged maps: /proc/PID/setgroups must say deny */
  char *newuidmap;        /* rootless with subordinate ids: the setuid map writers */
  char *newgidmap;
  char *seccomp_bpf;      /* path of a compiled BPF program, or NULL */
  char *env[MAX_ENV + 1];
  int n_env;
  char *cwd;
  bool init;              /* run a reaping init as PID 1 */
  bool loopback;          /* bring lo up in a new net namespace */
  struct net_plan net;    /* veth pairs onto bridges (net.h) */
  struct pasta_plan pasta; /* rootless: pasta serves the sandbox's network (pasta.h) */
  bool new_session;
  unsigned long long timeout_ms;
  /* Each module's own plan lines (their headers list them). */
  struct detach_plan detach;  /* a supervisor of its own: logs, restarts, --rm, limits per run */
  struct join_plan join;      /* other sandboxes' namespaces to enter */
  struct exec_plan exec;      /* exec (and cp) into a running sandbox */
  struct copy_plan copy;      /* cp */
  struct tty_plan tty;        /* -t */
  char *argv[MAX_ARGS + 1];
  int n_argv;
};

/* Reads the plan from fd until a line "end"; parses it into p. */
int read_plan(int fd, struct plan *p);
/* lifecycle_plan.c: parses the plan lines of detach.h, join.h, exec.h, copy.h and tty.h.
 * Returns 1 when handled, 0 when the line is not one of those, -1 on a malformed line. */
int parse_lifecycle_op(struct plan *p, int line, char **t, int n);

#endif
