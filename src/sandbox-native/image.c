/* The root of an image sandbox (plan lines "layer" and "imageroot", src/sandbox/plan.ts).
 *
 * Why idmapped lower layers: the store keeps a layer's files with the image's own ids
 * (0-65535) on disk, and a sandbox runs in a user namespace mapped onto a host range of
 * its own. An idmapped mount of each layer made with the sandbox's maps shows on-disk id
 * k as the range's k, so inside the sandbox an image file owned by 0 or 33 is owned by 0
 * or 33, with no copy or chown per sandbox and one unpacked copy shared by all of them.
 * The upper layer's directory is idmapped the same way, so what a sandbox writes is
 * stored with image ids too (commit turns it into a layer as it is). Overlayfs accepts
 * idmapped layers since Linux 5.19.
 *
 * Order: the parent makes the trees (MOUNT_ATTR_IDMAP needs privilege over the host's
 * file system, which the child never has: userns.c says more); the child attaches each
 * at /layers/img/N on its scratch root, then mounts the overlay over /newroot, whose
 * own contents (mount points, the engine's /etc/hosts, hostname, resolv.conf) are the
 * top lower layer: Docker's init layer, kept out of the upper, so diff and commit never
 * see them. Without a user namespace of our own (--userns=host) or without privilege
 * (rootless: the store's files are the caller's, root inside) the layers are plain
 * clones of the host paths. */
#define _GNU_SOURCE
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"
#include "syscalls.h"
#include "userns.h"
#include "util.h"

#define MAX_LAYERS 128

static int n_layers; /* attached so far, in the child */

static int maps_text(const struct idmap *m, int n, char *buf, size_t cap) {
  size_t off = 0;
  buf[0] = '\0';
  for (int i = 0; i < n; i++) {
    int w = snprintf(buf + off, cap - off, "%lu %lu %lu\n", m[i].inside, m[i].outside, m[i].count);
    if (w < 0 || (size_t)w >= cap - off) return -1;
    off += (size_t)w;
  }
  return 0;
}

/* The directory holding both the upper and the work directory: one tree, as overlayfs
 * wants both on the same mount. */
static int parent_of(const char *path, char *out, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash || (size_t)(slash - path) >= cap) return set_error("imageroot", path, ENAMETOOLONG);
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  memcpy(out, path, n);
  out[n] = '\0';
  return 0;
}

static int idmapped_tree(const char *path, int ns, unsigned attrs) {
  autoclose int src = sys_openat2(AT_FDCWD, path, O_PATH | O_CLOEXEC | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (src < 0) return set_error("open", path, errno);
  int tree = sys_open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) return set_error("open_tree", path, errno);
  struct lab_mount_attr a = {.attr_set = attrs | MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns};
  if (sys_mount_setattr(tree, "", AT_EMPTY_PATH, &a) < 0) {
    int e = errno;
    close(tree);
    return set_error_msg("mount_setattr idmap", path,
                         "cannot idmap an image layer (%s): the store's file system or this kernel lacks idmapped mounts; "
                         "keep the state directory on ext4, xfs or btrfs, or run with --userns=host",
                         strerror(e));
  }
  return tree;
}

int prepare_image_trees(struct plan *p) {
  autoclose int ns = -1;
  for (int i = 0; i < p->n_ops; i++) {
    struct mount_op *o = &p->ops[i];
    if ((o->kind != OP_LAYER && o->kind != OP_IMAGEROOT) || !(o->flags & MF_IDMAP) || o->tree_fd >= 0) continue;
    if (o->kind == OP_IMAGEROOT && !o->src[0]) continue; /* the upper is on the scratch tmpfs */
    if (ns < 0) {
      char umap[512], gmap[512];
      if (p->n_uidmap == 0 || maps_text(p->uidmap, p->n_uidmap, umap, sizeof umap) < 0 ||
          maps_text(p->gidmap, p->n_gidmap, gmap, sizeof gmap) < 0)
        return set_error_msg("image", NULL, "an image root needs the sandbox's id maps");
      ns = mapping_userns_of(umap, gmap);
      if (ns < 0) return -1;
    }
    if (o->kind == OP_LAYER) {
      o->tree_fd = idmapped_tree(o->src, ns, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    } else {
      char dir[PATH_MAX];
      if (parent_of(o->src, dir, sizeof dir) < 0) return -1;
      o->tree_fd = idmapped_tree(dir, ns, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    }
    if (o->tree_fd < 0) return -1;
  }
  return 0;
}

static int mkdir_scratch(const char *path, mode_t mode) {
  if (mkdir(path, mode) < 0 && errno != EEXIST) return set_error("mkdir", path, errno);
  return 0;
}

/* A tree at a directory of the scratch root: the prepared one, or a clone of the host path. */
static int attach_tree(int prepared, const char *host_path, int oldroot_fd, const char *at) {
  autoclose int own = -1;
  int tree = prepared;
  if (tree < 0) {
    const char *rel = host_path;
    while (*rel == '/') rel++;
    autoclose int src = sys_openat2(oldroot_fd, *rel ? rel : ".", O_PATH | O_CLOEXEC | O_DIRECTORY,
                                    RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (src < 0) return set_error("open", host_path, errno);
    own = sys_open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (own < 0) return set_error("open_tree", host_path, errno);
    tree = own;
  }
  if (mkdir_scratch(at, 0700) < 0) return -1;
  if (sys_move_mount(tree, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0) return set_error("move_mount", at, errno);
  return 0;
}

int attach_image_layer(const struct mount_op *o, int oldroot_fd) {
  if (n_layers >= MAX_LAYERS) return set_error_msg("layer", o->src, "an image may have at most %d layers", MAX_LAYERS);
  char at[64];
  snprintf(at, sizeof at, "/layers/img/%d", n_layers);
  if (mkdir_scratch("/layers", 0700) < 0 || mkdir_scratch("/layers/img", 0700) < 0) return -1;
  if (attach_tree(o->tree_fd, o->src, oldroot_fd, at) < 0) return -1;
  n_layers++;
  return 0;
}

int mount_image_root(const struct mount_op *o, int oldroot_fd, bool in_userns) {
  if (n_layers == 0) return set_error_msg("imageroot", NULL, "an image root needs at least one layer");
  /* lowerdir: the init layer first (topmost), then the image's layers top to bottom */
  char lower[MAX_LAYERS * 20 + 16] = "/newroot";
  for (int i = n_layers - 1; i >= 0; i--) {
    size_t len = strlen(lower);
    snprintf(lower + len, sizeof lower - len, ":/layers/img/%d", i);
  }
  char upper[PATH_MAX], work[PATH_MAX];
  if (mkdir_scratch("/layers/rw", 0700) < 0) return -1;
  if (!o->src[0]) {
    /* a run that keeps nothing: the upper lives on the scratch tmpfs, capped by its
     * size, and goes with the mount namespace */
    snprintf(upper, sizeof upper, "/layers/rw/upper");
    snprintf(work, sizeof work, "/layers/rw/work");
    if (mkdir_scratch(upper, 0755) < 0 || mkdir_scratch(work, 0700) < 0) return -1;
  } else {
    char dir[PATH_MAX];
    if (parent_of(o->src, dir, sizeof dir) < 0) return -1;
    if (attach_tree(o->tree_fd, dir, oldroot_fd, "/layers/rw") < 0) return -1;
    const char *ub = strrchr(o->src, '/') + 1, *wb = strrchr(o->data, '/') + 1;
    if (snprintf(upper, sizeof upper, "/layers/rw/%s", ub) >= (int)sizeof upper ||
        snprintf(work, sizeof work, "/layers/rw/%s", wb) >= (int)sizeof work)
      return set_error("imageroot", o->src, ENAMETOOLONG);
  }
  autoclose int fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) return set_error("fsopen", "overlay", errno);
  const char *kv[] = {"lowerdir", lower, "upperdir", upper, "workdir", work, NULL};
  for (int i = 0; kv[i]; i += 2)
    if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING, kv[i], kv[i + 1], 0) < 0) return set_error("fsconfig overlay", kv[i], errno);
  /* in a user namespace trusted.* xattrs are out of reach: whiteouts and opaque
   * directories are read from user.overlay.* (the store marks layers with both) */
  if (in_userns && sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) return set_error("fsconfig overlay", "userxattr", errno);
  if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return set_error("fsconfig create", "image root overlay", errno);
  autoclose int mnt = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | mount_attrs_of(o->flags));
  if (mnt < 0) return set_error("fsmount", "image root overlay", errno);
  if (sys_move_mount(mnt, "", AT_FDCWD, "/newroot", MOVE_MOUNT_F_EMPTY_PATH) < 0) return set_error("move_mount", "/newroot", errno);
  return 0;
}
