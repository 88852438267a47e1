/* The sandbox's cgroups as the helper sees them: lab (TypeScript) creates the groups
 * and applies the limits; the helper moves the sandbox in before it runs and, for a
 * one-shot run, reads the final counters and removes the groups when it has ended. */
#ifndef LAB_CGROUP_H
#define LAB_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plan.h"

/* Parent side, before the child may continue: put it into its cgroups. */
int join_cgroups(pid_t child, const struct plan *p);
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
