/* The root of an image sandbox: an overlay of the image's layers (read-only, shared by
 * every sandbox of the image) under a per-sandbox upper layer. */
#ifndef LAB_IMAGE_H
#define LAB_IMAGE_H

#include "plan.h"

/* Parent, before clone (after the id range is known): the idmapped trees of the layers
 * and of the upper layer's directory, made with the sandbox's own id maps, so that the
 * image's ids 0-65535 show inside as themselves. Released with release_idmapped_trees. */
int prepare_image_trees(struct plan *p);

/* Child, on the scratch root: a layer attached at /layers/img/N (its prepared tree, or a
 * clone of the host path below oldroot_fd). */
int attach_image_layer(const struct mount_op *o, int oldroot_fd);

/* Child: the overlay of the layers attached so far, with /newroot (what the plan put
 * there before: mount points and the engine's /etc files, Docker's init layer) as the
 * top lower layer, mounted over /newroot. The caller reopens its /newroot fd. */
int mount_image_root(const struct mount_op *o, int oldroot_fd, bool in_userns);

#endif
