/* Joined namespaces (join.c): --network/--ipc/--pid sandbox:NAME enter another running
 * sandbox's namespaces (and the user namespace that owns them) before clone.
 * Plan lines: join net|ipc|pid|user PID STARTTIME | joinshm DST. */
#ifndef LAB_JOIN_H
#define LAB_JOIN_H

#include <sys/types.h>

#define MAX_JOINS 4 /* net, ipc, pid and the user namespace that owns them */

struct join_op {
  int nstype;                 /* CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWPID or CLONE_NEWUSER */
  pid_t pid;                  /* a process of the sandbox to join */
  unsigned long long start;   /* its start time (field 22 of /proc/PID/stat): guards against pid reuse */
  int fd;                     /* the namespace, opened once and kept for restarts (-1 before) */
};

struct join_plan {
  struct join_op ops[MAX_JOINS];
  int n;
};

struct plan;

/* Parent side, before clone: enter the namespaces the plan joins (with a joined user
 * namespace they are only opened here; clone_joined enters them). */
int join_namespaces(struct plan *p);
/* The joined user namespace's fd and pid (-1/0 when the plan joins none). */
int joined_userns(const struct plan *p, pid_t *pid);
/* With a joined user namespace, clone's stand-in: an intermediate process enters it and
 * the other joined namespaces, then clones the sandbox as the helper's own child
 * (CLONE_PARENT), its new namespaces owned by that user namespace. Returns as clone. */
pid_t clone_joined(struct plan *p);
/* Copies the joined user namespace's uid/gid maps into p (no-op without one). */
int read_joined_maps(struct plan *p);
/* The joined sandbox's /dev/shm as a detached mount (the "joinshm" op's tree). */
int prepare_joined_shm(struct plan *p);

#endif
