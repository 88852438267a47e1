/* Namespaces: creating the sandbox's, the parent's part of the handshake
 * (id maps; cgroups are cgroup.c), and the in-sandbox network basics. */
#ifndef LAB_NS_H
#define LAB_NS_H

#include <sys/types.h>

#include "plan.h"

/* fork() into the plan's new namespaces. */
pid_t clone_into_namespaces(const struct plan *p);
/* Parent side, for a new user namespace: write its uid/gid maps. */
int write_id_maps(pid_t child, const struct plan *p);
/* Child side, first thing after "go" in a new user namespace: take on the mapped
 * identity (the credentials from clone are still the host's, unmapped inside). */
int assume_mapped_identity(const struct plan *p);
/* Child side: set the hostname and bring lo up. */
int setup_uts_and_net(const struct plan *p);

#endif
