/* The sandbox's cgroups as the helper sees them: lab (TypeScript) creates the groups
 * and applies the limits; the helper moves the sandbox in before it runs and, for a
 * one-shot run, reads the final counters and removes the groups when it has ended. */
#ifndef LAB_CGROUP_H
#define LAB_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plan.h"

/* Joining: cgroup v1 has a `tasks` file beside each cgroup.procs. Writing "0" to it
 * moves the writing thread only, and for a thread (unlike a process) the kernel skips
 * the global cgroup_threadgroup_rwsem write lock. That lock waits for an RCU grace
 * period (about 10 ms here) whenever it was idle, which in a batch is every few dozen
 * sandboxes, for every sandbox starting at that moment. Our helper is single-threaded,
 * so moving its one thread moves the process. v2 has no `tasks` for this; there the
 * child is created in its group (clone3's CLONE_INTO_CGROUP, which takes the lock only
 * for reading), and where that is missing (before Linux 5.7, or clone3 filtered) the
 * parent writes the child's pid to cgroup.procs.
 *
 * Parent, before clone: opens the `tasks` files when every group has one (v1), or the
 * one group's directory (v2); whether the child is to join itself (v1). */
bool prepare_self_join(const struct plan *p);
/* The v2 group's directory for CLONE_INTO_CGROUP, or -1. */
int clone_cgroup_fd(void);
/* Parent: the clone put the child into its group (CLONE_INTO_CGROUP worked). */
void joined_by_clone(void);
/* Parent, after clone, before the child may continue: closes what was prepared and,
 * unless the child joins itself or was created in its group, writes the child's pid
 * to each cgroup.procs. */
int join_cgroups(pid_t child, const struct plan *p);
/* Child (or a helper about to become the sandboxed program), first thing: writes "0"
 * to each prepared `tasks` file and closes it. Does nothing when nothing was prepared. */
int join_self(void);
/* Parent, when there is no child after all: closes the prepared files. */
void cancel_self_join(void);
/* After the sandbox ended with nobody to collect it: removes its groups (every task is
 * gone with its PID namespace) and their parent directory where it is left empty. */
void remove_cgroups(const struct plan *p);
/* A one-shot run's end (plan lines cgstat and cgfinish), once its init is reaped: the
 * PID namespace took every process, so the counters are final. Writes the fragment
 * ,"cgroup":{FILE:CONTENT,...},"cgroupRemoved":BOOL for the exit event into out; the
 * groups are removed (not their parent, which lab keeps while it runs) and, when all
 * are gone, the ownership record too. lab removes whatever this could not. */
void finish_cgroups(const struct plan *p, char *out, size_t cap);
/* The counter files (plan cgstat) as a JSON object {FILE:CONTENT,...}; its length. */
size_t cgroup_stats_json(const struct plan *p, char *out, size_t cap);

#endif
