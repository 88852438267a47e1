/* User remapping: a distinct host id range per sandbox from a pool, and idmapped
 * mounts for writable volumes. Parent side only (it runs in the host's user namespace). */
#ifndef LAB_USERNS_H
#define LAB_USERNS_H

#include "plan.h"

/* Before clone: take a free range from the pool (once per helper lifetime; held by
 * an flock that dies with this process) and fill p->uidmap/gidmap; then build the
 * idmapped trees of writable binds (a warning event on report_fd where the file
 * system cannot idmap, and the bind falls back to a plain one). */
int prepare_userns(struct plan *p, int report_fd);
/* After clone, in the parent: the child holds its own copies of the trees. */
void report_userns(const struct plan *p, int report_fd);
void release_idmapped_trees(struct plan *p);
/* A parked user namespace with these /proc/PID/uid_map and gid_map texts (its fd), for
 * MOUNT_ATTR_IDMAP; the parent only. */
int mapping_userns_of(const char *uid_map, const char *gid_map);

#endif
