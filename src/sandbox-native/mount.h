/* Building the sandbox's root file system and moving into it. */
#ifndef LAB_MOUNT_H
#define LAB_MOUNT_H

#include "plan.h"

/* Builds the new root from the plan's mount operations, pivots into it and
 * detaches the host's root. Runs in the child, inside its new mount namespace.
 * userns_fd is the sandbox's user namespace for idmapped binds (-1: none). */
int build_root(const struct plan *p, int userns_fd);

/* The plan's MF_RO/NOSUID/NODEV/NOEXEC flags as mount_setattr() MOUNT_ATTR_* bits. */
unsigned mount_attrs_of(unsigned flags);

#endif
