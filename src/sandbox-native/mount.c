/* Root construction, in this order (each step explains why it sits where it does):
 *  1. make every mount private, so nothing we do propagates back to the host;
 *  2. mount a size-capped tmpfs on a scratch directory and pivot into it, keeping the host
 *     root reachable at /oldroot: every host path is then opened *below* /oldroot;
 *  3. replay the plan's operations into /newroot (binds are cloned mount trees obtained
 *     from an fd opened without following symlinks; destinations are resolved with
 *     RESOLVE_IN_ROOT so a symlink inside a prepared rootfs can never aim outside it);
 *  4. detach /oldroot, make /newroot read-only if asked, pivot into it and detach the
 *     scratch root. Nothing of this is visible on the host and all of it disappears
 *     with the mount namespace: no temp directory or mount can leak. */
#define _GNU_SOURCE
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "join.h"
#include "syscalls.h"
#include "util.h"

static int oldroot_fd = -1;
static int newroot_fd = -1;
static int overlay_count;

unsigned mount_attrs_of(unsigned flags) {
  unsigned a = 0;
  if (flags & MF_RO) a |= MOUNT_ATTR_RDONLY;
  if (flags & MF_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (flags & MF_NODEV) a |= MOUNT_ATTR_NODEV;
  if (flags & MF_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  return a;
}

static const char *relative(const char *path) {
  while (*path == '/') path++;
  return *path ? path : ".";
}

/* Opens path (absolute, taken relative to the new root) resolved as if the new root
 * were "/". flags: O_PATH for a mount target, O_RDONLY|O_DIRECTORY to create in. */
static int open_in_root(const char *path, int flags) {
  return sys_openat2(newroot_fd, relative(path), (uint64_t)(O_CLOEXEC | flags), RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY)

/* Splits "/a/b/c" into a parent fd (created as needed) and the last component. */
static int open_parent(const char *path, char *name, size_t namelen) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return set_error("open", path, ENAMETOOLONG);
  char *slash = strrchr(buf, '/');
  if (!slash || slash[1] == '\0') return set_error_msg("open", path, "path has no last component");
  snprintf(name, namelen, "%s", slash + 1);
  if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0) return set_error_msg("open", path, "path ends in . or ..");
  *slash = '\0';
  const char *parent = buf[0] ? buf : "/";
  int fd = open_in_root(parent, DIR_FLAGS);
  if (fd >= 0) return fd;
  if (errno != ENOENT) return set_error("openat2", parent, errno);
  /* Create the missing parents one component at a time, each inside the root. */
  autoclose int cur = open_in_root("/", DIR_FLAGS);
  if (cur < 0) return set_error("openat2", "/", errno);
  char walk[PATH_MAX] = "";
  for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    strncat(walk, "/", sizeof walk - strlen(walk) - 1);
    strncat(walk, c, sizeof walk - strlen(walk) - 1);
    int next = open_in_root(walk, DIR_FLAGS);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST) return set_error("mkdir", walk, errno);
      next = open_in_root(walk, DIR_FLAGS);
    }
    if (next < 0) return set_error("openat2", walk, errno);
    close_now(&cur);
    cur = next;
  }
  return take_fd(&cur);
}

/* The mount point for dst: an existing directory/file, or one created for it. */
static int open_target(const char *dst, bool is_file) {
  int fd = open_in_root(dst, O_PATH);
  if (fd >= 0) return fd;
  if (errno != ENOENT) return set_error("openat2", dst, errno);
  char name[NAME_MAX + 1];
  autoclose int dir = open_parent(dst, name, sizeof name);
  if (dir < 0) return -1;
  if (is_file) {
    /* the new file itself is the mount point: its fd serves as the target */
    int f = openat(dir, name, O_CREAT | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0) return set_error("create", dst, errno);
    return f;
  } else if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST) {
    return set_error("mkdir", dst, errno);
  }
  fd = open_in_root(dst, O_PATH);
  if (fd < 0) return set_error("openat2", dst, errno);
  return fd;
}

/* Opens a host path below /oldroot without following any symlink: the engine has
 * already canonicalised it, so a symlink here means it changed under us. */
static int open_host(const char *src) {
  return sys_openat2(oldroot_fd, relative(src), O_PATH | O_CLOEXEC,
                     RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

static int attach(int tree, const char *dst, bool is_file) {
  autoclose int target = open_target(dst, is_file);
  if (target < 0) return -1;
  if (sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return set_error("move_mount", dst, errno);
  return 0;
}

static int set_attrs(int tree, const char *dst, unsigned attrs, int userns_fd) {
  if (!attrs && userns_fd < 0) return 0;
  struct lab_mount_attr a = {.attr_set = attrs};
  if (userns_fd >= 0) {
    a.attr_set |= MOUNT_ATTR_IDMAP;
    a.userns_fd = (uint64_t)userns_fd;
  }
  /* The idmap flag may only be set on the top mount, never recursively. */
  unsigned flags = AT_EMPTY_PATH | (userns_fd >= 0 ? 0 : AT_RECURSIVE);
  if (sys_mount_setattr(tree, "", flags, &a) < 0) return set_error("mount_setattr", dst, errno);
  return 0;
}

/* A directory whose host path must not show in /proc/self/mountinfo (a bind's root is
 * its path on the host's file system): the idmapped tree of its parent (userns.c) goes
 * on the scratch root, and the directory becomes the only upper layer of an overlay over
 * an empty lower one. Overlayfs shows its layers as given — paths on the scratch root,
 * detached with it — and writes go straight to the upper: the directory itself. */
static int do_hidden_bind(const struct mount_op *o, bool in_userns) {
  const char *base = strrchr(o->src, '/');
  if (!base || !base[1]) return set_error_msg("bind", o->src, "a hidden bind needs a directory with a parent");
  base++;
  int n = overlay_count++;
  char at[64], empty[64], upper[PATH_MAX], work[PATH_MAX];
  snprintf(at, sizeof at, "/layers/h%d", n);
  snprintf(empty, sizeof empty, "/layers/h%d-lower", n);
  if ((mkdir("/layers", 0700) < 0 && errno != EEXIST) || mkdir(at, 0700) < 0 || mkdir(empty, 0755) < 0) return set_error("mkdir", at, errno);
  if (sys_move_mount(o->tree_fd, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0) return set_error("move_mount", o->dst, errno);
  if (snprintf(upper, sizeof upper, "%s/%s", at, base) >= (int)sizeof upper || snprintf(work, sizeof work, "%s/.%s.work", at, base) >= (int)sizeof work)
    return set_error("bind", o->src, ENAMETOOLONG);
  autoclose int fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) return set_error("fsopen", "overlay", errno);
  const char *kv[] = {"lowerdir", empty, "upperdir", upper, "workdir", work, NULL};
  for (int i = 0; kv[i]; i += 2)
    if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING, kv[i], kv[i + 1], 0) < 0) return set_error("fsconfig overlay", o->dst, errno);
  if (in_userns && sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) return set_error("fsconfig overlay", "userxattr", errno);
  if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return set_error("fsconfig create", o->dst, errno);
  autoclose int mnt = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | mount_attrs_of(o->flags));
  if (mnt < 0) return set_error("fsmount", o->dst, errno);
  return attach(mnt, o->dst, false);
}

/* The read-only form: the clone is the upper of two lower layers (the other empty), so
 * the overlay is read-only by construction and needs no work directory. */
static int do_hidden_ro_bind(const struct mount_op *o, int tree, bool in_userns) {
  int n = overlay_count++;
  char at[64], lower[160];
  snprintf(at, sizeof at, "/layers/h%d", n);
  snprintf(lower, sizeof lower, "%s:/layers/h%d-lower", at, n);
  if ((mkdir("/layers", 0700) < 0 && errno != EEXIST) || mkdir(at, 0700) < 0) return set_error("mkdir", at, errno);
  char empty[64];
  snprintf(empty, sizeof empty, "/layers/h%d-lower", n);
  if (mkdir(empty, 0755) < 0) return set_error("mkdir", empty, errno);
  if (sys_move_mount(tree, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0) return set_error("move_mount", o->dst, errno);
  autoclose int fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) return set_error("fsopen", "overlay", errno);
  if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0) return set_error("fsconfig overlay", o->dst, errno);
  if (in_userns && sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) return set_error("fsconfig overlay", "userxattr", errno);
  if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return set_error("fsconfig create", o->dst, errno);
  autoclose int mnt = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | mount_attrs_of(o->flags));
  if (mnt < 0) return set_error("fsmount", o->dst, errno);
  return attach(mnt, o->dst, false);
}

static int do_bind(const struct mount_op *o, int userns_fd, bool in_userns) {
  if (o->tree_fd >= 0 && (o->flags & MF_HIDE)) return do_hidden_bind(o, in_userns);
  if (o->tree_fd >= 0) {
    /* An idmapped tree prepared by the parent, attributes already set. */
    struct stat st;
    if (fstat(o->tree_fd, &st) < 0) return set_error("fstat", o->src, errno);
    return attach(o->tree_fd, o->dst, !S_ISDIR(st.st_mode));
  }
  autoclose int src = open_host(o->src);
  if (src < 0) {
    if (errno == ENOENT && (o->flags & MF_OPTIONAL)) return 0;
    if (errno == ELOOP) return set_error_msg("bind", o->src, "source changed into a symlink while the sandbox was set up");
    return set_error("open", o->src, errno);
  }
  struct stat st;
  if (fstat(src, &st) < 0) return set_error("fstat", o->src, errno);
  unsigned tflags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (userns_fd >= 0 ? 0 : AT_RECURSIVE);
  autoclose int tree = sys_open_tree(src, "", tflags);
  if (tree < 0) return set_error("open_tree", o->src, errno);
  if (set_attrs(tree, o->dst, mount_attrs_of(o->flags), (o->flags & MF_IDMAP) ? userns_fd : -1) < 0) return -1;
  if ((o->flags & MF_HIDE) && (o->flags & MF_RO) && !(o->flags & MF_IDMAP) && S_ISDIR(st.st_mode)) return do_hidden_ro_bind(o, tree, in_userns);
  return attach(tree, o->dst, !S_ISDIR(st.st_mode));
}

/* A fresh superblock of type fs, configured with key=value pairs, attached at dst. */
static int do_fs(const char *fs, const char *dst, const char *const *kv, unsigned attrs) {
  autoclose int fsfd = sys_fsopen(fs, FSOPEN_CLOEXEC);
  if (fsfd < 0) return set_error("fsopen", fs, errno);
  for (int i = 0; kv && kv[i]; i += 2) {
    if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING, kv[i], kv[i + 1], 0) < 0) {
      char what[128];
      snprintf(what, sizeof what, "%s %s=%s", fs, kv[i], kv[i + 1]);
      return set_error("fsconfig", what, errno);
    }
  }
  if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return set_error("fsconfig create", dst, errno);
  autoclose int mnt = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
  if (mnt < 0) return set_error("fsmount", dst, errno);
  return attach(mnt, dst, false);
}

static int do_tmpfs(const struct mount_op *o) {
  char size[32], mode[16];
  snprintf(size, sizeof size, "%llu", o->size);
  snprintf(mode, sizeof mode, "%o", o->mode);
  const char *kv[] = {"size", size, "mode", mode, NULL};
  return do_fs("tmpfs", o->dst, kv, mount_attrs_of(o->flags));
}

static int do_symlink(const struct mount_op *o) {
  char name[NAME_MAX + 1];
  autoclose int dir = open_parent(o->dst, name, sizeof name);
  if (dir < 0) return -1;
  if (symlinkat(o->src, dir, name) < 0 && errno != EEXIST) return set_error("symlink", o->dst, errno);
  return 0;
}

static int do_mkdir(const struct mount_op *o) {
  autoclose int made = open_target(o->dst, false);
  if (made < 0) return -1;
  autoclose int fd = open_in_root(o->dst, DIR_FLAGS);
  if (fd < 0) return set_error("open", o->dst, errno);
  if (fchmod(fd, o->mode) < 0) return set_error("fchmod", o->dst, errno);
  return 0;
}

static int do_file(const struct mount_op *o) {
  char name[NAME_MAX + 1];
  autoclose int dir = open_parent(o->dst, name, sizeof name);
  if (dir < 0) return -1;
  autoclose int f = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, o->mode);
  if (f < 0) return set_error("create", o->dst, errno);
  if (write_all(f, o->data, strlen(o->data)) < 0) return set_error("write", o->dst, errno);
  if (fchmod(f, o->mode) < 0) return set_error("fchmod", o->dst, errno);
  return 0;
}

/* The empty read-only tmpfs that hides a masked directory, made once per sandbox and
 * cloned for the next one (it holds nothing and can hold nothing). */
static int mask_dir_tree = -1;

static int do_mask(const struct mount_op *o) {
  autoclose int target = open_in_root(o->dst, O_PATH);
  if (target < 0) return errno == ENOENT ? 0 : set_error("openat2", o->dst, errno);
  struct stat st;
  if (fstat(target, &st) < 0) return set_error("fstat", o->dst, errno);
  if (S_ISDIR(st.st_mode)) {
    if (mask_dir_tree < 0) {
      const char *kv[] = {"size", "4096", "mode", "555", "nr_inodes", "16", NULL};
      if (do_fs("tmpfs", o->dst, kv, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) < 0) return -1;
      mask_dir_tree = open_in_root(o->dst, O_PATH);
      return mask_dir_tree < 0 ? set_error("openat2", o->dst, errno) : 0;
    }
    autoclose int tree = sys_open_tree(mask_dir_tree, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) return set_error("open_tree", o->dst, errno);
    if (sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) return set_error("move_mount", o->dst, errno);
    return 0;
  }
  autoclose int null = sys_open_tree(oldroot_fd, "dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (null < 0) return set_error("open_tree", "/dev/null", errno);
  if (sys_move_mount(null, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return set_error("move_mount", o->dst, errno);
  return 0;
}

static int do_readonly(const struct mount_op *o) {
  autoclose int target = open_in_root(o->dst, O_PATH);
  if (target < 0) return errno == ENOENT ? 0 : set_error("openat2", o->dst, errno);
  /* A mount of its own (the /etc overlay) takes the attributes directly; a path inside
   * one (/proc/sys) first becomes a bind mount of its own. */
  struct statx sx;
  if (statx(target, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, 0, &sx) == 0 && (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
      (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
    return set_attrs(target, o->dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, -1);
  autoclose int tree = sys_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (tree < 0) return set_error("open_tree", o->dst, errno);
  if (set_attrs(tree, o->dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, -1) < 0) return -1;
  if (sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return set_error("move_mount", o->dst, errno);
  return 0;
}

/* A copy-on-write view of a host directory; the upper layer lives on the scratch tmpfs,
 * so writes are capped by its size and vanish with the sandbox. Optional FLAGS add
 * nosuid/noexec (nodev always). */
static int do_overlay_in(const struct mount_op *o, bool in_userns);

/* The lower layer is named "." from inside it: the kernel resolves an overlay's layers
 * against the caller's working directory and shows them in /proc/self/mountinfo as
 * given, so a host path (lab's state directory) would otherwise be visible inside. */
static int do_overlay(const struct mount_op *o, bool in_userns) {
  autoclose int lower = open_host(o->src);
  if (lower < 0) return set_error("open", o->src, errno);
  if (fchdir(lower) < 0) return set_error("fchdir", o->src, errno);
  int r = do_overlay_in(o, in_userns);
  int saved = errno;
  if (chdir("/") < 0 && r == 0) return set_error("chdir", "/", errno);
  errno = saved;
  return r;
}

static int do_overlay_in(const struct mount_op *o, bool in_userns) {
  char upper[PATH_MAX + 16], work[64];
  const char *lower = ".";
  int n = overlay_count++;
  snprintf(work, sizeof work, "/layers/%d/work", n);
  char dir[64];
  snprintf(dir, sizeof dir, "/layers/%d", n);
  if (o->flags & MF_UPPER) {
    /* The directory already at DST (made by the plan's mkdir/file operations) is the
     * upper layer, filled before the overlay hides it: the sandbox's own files need no
     * copy-up. The work directory must be on the same mount, the new root: it goes in
     * /dev, which the plan's /dev tmpfs covers afterwards, out of the sandbox's sight. */
    struct stat st;
    if (snprintf(upper, sizeof upper, "/newroot%s", o->dst) >= (int)sizeof upper) return set_error("overlay", o->dst, ENAMETOOLONG);
    if (lstat(upper, &st) < 0 || !S_ISDIR(st.st_mode)) return set_error_msg("overlay", o->dst, "the upper directory is missing");
    snprintf(work, sizeof work, "/newroot/dev/.overlay-work-%d", n);
    if ((mkdir("/newroot/dev", 0755) < 0 && errno != EEXIST) || mkdir(work, 0700) < 0) return set_error("mkdir", work, errno);
  } else {
    snprintf(upper, sizeof upper, "/layers/%d/upper", n);
    if ((mkdir("/layers", 0700) < 0 && errno != EEXIST) || mkdir(dir, 0700) < 0 || mkdir(work, 0700) < 0 || mkdir(upper, 0755) < 0)
      return set_error("mkdir", dir, errno);
  }
  const char *kv[] = {"lowerdir", lower, "upperdir", upper, "workdir", work, in_userns ? "userxattr" : NULL, NULL, NULL};
  unsigned attrs = MOUNT_ATTR_NODEV | mount_attrs_of(o->flags);
  if (in_userns) {
    /* userxattr is a flag, not a string option */
    autoclose int fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
    if (fsfd < 0) return set_error("fsopen", "overlay", errno);
    for (int i = 0; i < 6; i += 2)
      if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING, kv[i], kv[i + 1], 0) < 0) return set_error("fsconfig", o->src, errno);
    if (sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) return set_error("fsconfig userxattr", o->src, errno);
    if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return set_error("fsconfig create", o->dst, errno);
    autoclose int mnt = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
    if (mnt < 0) return set_error("fsmount", o->dst, errno);
    return attach(mnt, o->dst, false);
  }
  kv[6] = NULL;
  return do_fs("overlay", o->dst, kv, attrs);
}

static int apply_op(const struct mount_op *o, const struct plan *p, int userns_fd) {
  switch (o->kind) {
    case OP_BIND: return do_bind(o, userns_fd, (p->ns_flags & CLONE_NEWUSER) != 0 || joined_userns(p, NULL) >= 0);
    case OP_TMPFS: return do_tmpfs(o);
    case OP_PROC: return do_fs("proc", o->dst, NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    case OP_SYSFS: {
      if (do_fs("sysfs", o->dst, NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) == 0)
        return 0;
      /* Without a net namespace of our own the kernel refuses a new sysfs: fall back to
       * a read-only recursive bind of the host's. */
      struct mount_op b = {.kind = OP_BIND, .src = "/sys", .dst = o->dst, .flags = MF_RO | MF_NOSUID | MF_NODEV | MF_NOEXEC, .tree_fd = -1};
      return do_bind(&b, -1, false);
    }
    case OP_DEVPTS: {
      const char *kv[] = {"newinstance", "", "ptmxmode", "0666", "mode", "0620", NULL};
      autoclose int fsfd = sys_fsopen("devpts", FSOPEN_CLOEXEC);
      if (fsfd < 0) return set_error("fsopen", "devpts", errno);
      if (sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, kv[0], NULL, 0) < 0 ||
          sys_fsconfig(fsfd, FSCONFIG_SET_STRING, kv[2], kv[3], 0) < 0 ||
          sys_fsconfig(fsfd, FSCONFIG_SET_STRING, kv[4], kv[5], 0) < 0)
        return set_error("fsconfig", "devpts", errno);
      if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return set_error("fsconfig create", o->dst, errno);
      autoclose int mnt = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
      if (mnt < 0) return set_error("fsmount", o->dst, errno);
      return attach(mnt, o->dst, false);
    }
    case OP_MQUEUE: return do_fs("mqueue", o->dst, NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    case OP_SYMLINK: return do_symlink(o);
    case OP_MKDIR: return do_mkdir(o);
    case OP_FILE: return do_file(o);
    case OP_MASK: return do_mask(o);
    case OP_READONLY: return do_readonly(o);
    /* in a joined user namespace as much as in a new one: trusted xattrs are out of reach */
    case OP_OVERLAY: return do_overlay(o, (p->ns_flags & CLONE_NEWUSER) != 0 || joined_userns(p, NULL) >= 0);
    case OP_LAYER: return attach_image_layer(o, oldroot_fd);
    case OP_IMAGEROOT: {
      if (mount_image_root(o, oldroot_fd, (p->ns_flags & CLONE_NEWUSER) != 0 || joined_userns(p, NULL) >= 0) < 0) return -1;
      /* from here on the plan's operations build on the overlay, mounted over /newroot */
      close(newroot_fd);
      newroot_fd = open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
      return newroot_fd < 0 ? set_error("open", "/newroot", errno) : 0;
    }
  }
  return set_error_msg("plan", o->dst, "unknown operation");
}

static int enter_scratch_root(const struct plan *p) {
  /* Private first: none of the mounts below may propagate to the host. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return set_error("mount private", "/", errno);
  const char *bases[] = {"/tmp", "/mnt", "/run", "/var/tmp", NULL};
  const char *base = NULL;
  char opts[64];
  snprintf(opts, sizeof opts, "size=%llu,mode=0755", p->root_size ? p->root_size : 16ull << 20);
  for (int i = 0; bases[i]; i++) {
    if (mount("lab-root", bases[i], "tmpfs", MS_NOSUID | MS_NODEV, opts) == 0) {
      base = bases[i];
      break;
    }
  }
  if (!base) return set_error("mount tmpfs", "/tmp", errno);
  if (chdir(base) < 0) return set_error("chdir", base, errno);
  if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0) return set_error("mkdir", base, errno);
  if (sys_pivot_root(".", "oldroot") < 0) return set_error("pivot_root", base, errno);
  if (chdir("/") < 0) return set_error("chdir", "/", errno);
  /* pivot_root needs the final root to be a mount point of its own. */
  if (mount("/newroot", "/newroot", NULL, MS_BIND, NULL) < 0) return set_error("mount bind", "/newroot", errno);
  oldroot_fd = open("/oldroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
  newroot_fd = open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (oldroot_fd < 0 || newroot_fd < 0) return set_error("open", "/newroot", errno);
  return 0;
}

static int leave_for_new_root(const struct plan *p) {
  if (mask_dir_tree >= 0) close(mask_dir_tree);
  mask_dir_tree = -1;
  close(oldroot_fd);
  oldroot_fd = -1;
  if (umount2("/oldroot", MNT_DETACH) < 0) return set_error("umount", "/oldroot", errno);
  if (p->root_readonly) {
    struct lab_mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (sys_mount_setattr(newroot_fd, "", AT_EMPTY_PATH, &a) < 0) return set_error("mount_setattr ro", "/", errno);
  } else {
    struct lab_mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (sys_mount_setattr(newroot_fd, "", AT_EMPTY_PATH, &a) < 0) return set_error("mount_setattr", "/", errno);
  }
  if (fchdir(newroot_fd) < 0) return set_error("fchdir", "/newroot", errno);
  close(newroot_fd);
  newroot_fd = -1;
  /* Stack the new root over the scratch root, then detach the scratch root from under it. */
  if (sys_pivot_root(".", ".") < 0) return set_error("pivot_root", "/newroot", errno);
  if (umount2(".", MNT_DETACH) < 0) return set_error("umount", "scratch root", errno);
  if (chdir("/") < 0) return set_error("chdir", "/", errno);
  return 0;
}

int build_root(const struct plan *p, int userns_fd) {
  set_stage("mount");
  if (enter_scratch_root(p) < 0) return -1;
  for (int i = 0; i < p->n_ops; i++)
    if (apply_op(&p->ops[i], p, userns_fd) < 0) return -1;
  set_stage("pivot");
  return leave_for_new_root(p);
}
