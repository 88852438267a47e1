/* Privileges: capability sets, user and group switch, no_new_privs. */
#ifndef LAB_CAPS_H
#define LAB_CAPS_H

#include "plan.h"

/* Drops every capability not in p->caps from the bounding set, switches to the
 * plan's uid/gid with only its groups, leaves p->caps effective for root (and
 * p->ambient as ambient for other users), clears the rest, sets no_new_privs. */
int drop_privileges(const struct plan *p);

#endif
