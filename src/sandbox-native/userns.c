/* Why the parent does all of this: writing another process's id maps, and setting
 * MOUNT_ATTR_IDMAP on a host file system, both need privilege in the host's user
 * namespace, which the sandbox's child never has. The idmapped trees are detached
 * mounts the child inherits through clone and attaches with move_mount. */
#define _GNU_SOURCE
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "join.h"
#include "mount.h"
#include "syscalls.h"
#include "util.h"

static int pool_lock_fd = -1;
static unsigned long pool_base;

/* Slots are files in the pool directory; a slot is in use while anyone holds a (shared)
 * flock on it, and the kernel drops the lock when this process (and its inheritors) are
 * gone, so a crashed helper frees its range by itself. A sandbox that joins another's
 * user namespace shares its range and holds the slot too (share_range): the range must
 * not go to a new sandbox while any process runs on it. Claiming is "exclusive lock
 * succeeds, then turn it shared"; the turn is not atomic (flock(2)), so claims are
 * serialised by the pool's .claim lock and nobody can slip in between. */
static int lock_pool(const struct idpool *ip) {
  if (mkdir(ip->dir, 0700) < 0 && errno != EEXIST) return set_error("mkdir", ip->dir, errno);
  char path[600];
  snprintf(path, sizeof path, "%s/.claim", ip->dir);
  int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return set_error("open", path, errno);
  while (flock(fd, LOCK_EX) < 0) {
    if (errno != EINTR) {
      int e = errno;
      close(fd);
      return set_error("flock", path, e);
    }
  }
  return fd;
}

static int allocate_range(struct plan *p) {
  if (pool_lock_fd >= 0) return 0; /* restarts keep their range */
  const struct idpool *ip = &p->idpool;
  autoclose int claim = lock_pool(ip);
  if (claim < 0) return -1;
  unsigned long start = (unsigned long)getpid() % ip->count;
  for (unsigned long i = 0; i < ip->count; i++) {
    unsigned long slot = (start + i) % ip->count;
    char path[600];
    snprintf(path, sizeof path, "%s/%lu", ip->dir, slot);
    int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return set_error("open", path, errno);
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && flock(fd, LOCK_SH) == 0) {
      pool_lock_fd = fd;
      pool_base = ip->base + slot * ip->size;
      /* for debugging: who holds the slot. Fixed width, overwritten in place: no
       * truncate, so on a disk-backed /run it costs no block allocation per sandbox. */
      char owner[16];
      int n = snprintf(owner, sizeof owner, "%10d\n", (int)getpid());
      if (pwrite(fd, owner, (size_t)n, 0) < 0) { /* informational only */
      }
      return 0;
    }
    close(fd);
  }
  return set_error_msg("idpool", ip->dir, "all %lu id ranges of the pool are in use", ip->count);
}

/* A joiner: hold the slot of the range it shares (found from the joined namespace's map).
 * A range outside the pool (rootless: the caller's own ids) needs no lock. */
static int share_range(struct plan *p) {
  if (pool_lock_fd >= 0) return 0;
  const struct idpool *ip = &p->idpool;
  if (ip->count == 0 || p->n_uidmap == 0) return 0;
  unsigned long outside = p->uidmap[0].outside;
  if (outside < ip->base || outside >= ip->base + ip->count * ip->size || (outside - ip->base) % ip->size) return 0;
  autoclose int claim = lock_pool(ip);
  if (claim < 0) return -1;
  char path[600];
  snprintf(path, sizeof path, "%s/%lu", ip->dir, (outside - ip->base) / ip->size);
  int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return set_error("open", path, errno);
  /* Claims hold the exclusive lock only under .claim, which is ours now: never blocks. */
  if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
    int e = errno;
    close(fd);
    return set_error("flock", path, e);
  }
  pool_lock_fd = fd;
  pool_base = outside;
  return 0;
}

/* A parked user namespace with the given uid_map and gid_map texts, for
 * MOUNT_ATTR_IDMAP: a file owned by an id inside it on disk shows as the mapped host id. */
int mapping_userns_of(const char *uid_map, const char *gid_map) {
  /* the child waits on sync_r until sync_w closes: then its namespace may go */
  autoclose int sync_r = -1, sync_w = -1;
  if (open_pipe(&sync_r, &sync_w, "id-mapping namespace") < 0) return -1;
  long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0);
  if (pid < 0) return set_error("clone", "id-mapping namespace", errno);
  if (pid == 0) {
    char c;
    close_now(&sync_w);
    (void)!read(sync_r, &c, 1); /* parked until the parent has what it needs */
    _exit(0);
  }
  close_now(&sync_r);
  char path[64];
  int fd = -1;
  snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
  int rc = write_file(path, uid_map);
  if (rc == 0) {
    snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
    rc = write_file(path, gid_map);
  }
  if (rc == 0) {
    snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) rc = set_error("open", path, errno);
  }
  close_now(&sync_w);
  waitpid((pid_t)pid, NULL, 0);
  return rc < 0 ? -1 : fd;
}

/* Only inside → outside (one id, uid and gid). */
static int mapping_userns(unsigned long uid_in, unsigned long uid_out, unsigned long gid_in, unsigned long gid_out) {
  char umap[96], gmap[96];
  snprintf(umap, sizeof umap, "%lu %lu 1\n", uid_in, uid_out);
  snprintf(gmap, sizeof gmap, "%lu %lu 1\n", gid_in, gid_out);
  return mapping_userns_of(umap, gmap);
}

static void warn_event(int fd, const char *code, const char *path, const char *message) {
  if (fd < 0) return;
  char p[1100], m[1400], line[2800];
  json_escape(p, sizeof p, path);
  json_escape(m, sizeof m, message);
  int n = snprintf(line, sizeof line, "{\"event\":\"warning\",\"code\":\"%s\",\"path\":\"%s\",\"message\":\"%s\"}\n", code, p, m);
  if (n > 0) write_all(fd, line, (size_t)n);
}

static int build_idmapped_tree(struct plan *p, struct mount_op *o, int report_fd) {
  /* The volume's owner: files it owns show as the sandbox user, and what the sandbox
   * user creates is stored as it. */
  autoclose int src = sys_openat2(AT_FDCWD, o->src, O_PATH | O_CLOEXEC, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (src < 0) return set_error("open", o->src, errno);
  struct stat st;
  if (fstat(src, &st) < 0) return set_error("fstat", o->src, errno);
  char msg[1200];
  if (st.st_uid == 0 && !(o->flags & MF_ROOTMAP)) {
    /* Mapping host root to the sandbox's user would make it host root on that tree
     * (every root-owned file there, hard links to system files included). */
    snprintf(msg, sizeof msg,
             "volume %s belongs to host root, so it is not id-mapped: the sandbox may write there only where "
             "permissions for others allow; give the directory to an ordinary user to make it the sandbox's",
             o->src);
    warn_event(report_fd, "root-owned-volume", o->src, msg);
    o->flags &= ~(MF_IDMAP | MF_HIDE);
    return 0;
  }
  /* A group-root directory: its owner's id stands in for the group (user-private groups). */
  gid_t gid_in = st.st_gid == 0 ? (gid_t)st.st_uid : st.st_gid;
  unsigned long uid_out = pool_base + p->uid, gid_out = pool_base + p->gid;
  if (p->n_uidmap > 0) uid_out = p->uidmap[0].outside + p->uid - p->uidmap[0].inside;
  if (p->n_gidmap > 0) gid_out = p->gidmap[0].outside + p->gid - p->gidmap[0].inside;
  autoclose int ns = mapping_userns(st.st_uid, uid_out, gid_in, gid_out);
  if (ns < 0) return -1;
  /* a hidden bind (mount.c) needs the directory and its work directory on one tree: its parent */
  autoclose int parent = -1;
  if (o->flags & MF_HIDE) {
    parent = sys_openat2(src, "..", O_PATH | O_CLOEXEC | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (parent < 0) return set_error("open", o->src, errno);
  }
  int tree = sys_open_tree(parent >= 0 ? parent : src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) return set_error("open_tree", o->src, errno);
  struct lab_mount_attr a = {.attr_set = mount_attrs_of(o->flags) | MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns};
  if (sys_mount_setattr(tree, "", AT_EMPTY_PATH, &a) < 0) {
    int e = errno;
    close(tree);
    if (e == EINVAL || e == EOPNOTSUPP || e == ENOSYS || e == EPERM) {
      snprintf(msg, sizeof msg,
               "cannot idmap %s (%s: its file system or this kernel lacks idmapped mounts); it is mounted without "
               "id mapping, so the sandbox's users do not own it and may write there only where permissions for "
               "others allow; keep volumes on a file system that can idmap (ext4, xfs, btrfs; tmpfs from Linux "
               "6.3), or run with --userns=host",
               o->src, strerror(e));
      warn_event(report_fd, "no-idmap", o->src, msg);
      o->flags &= ~(MF_IDMAP | MF_HIDE);
      return 0;
    }
    return set_error("mount_setattr idmap", o->src, e);
  }
  o->tree_fd = tree;
  return 0;
}

int prepare_userns(struct plan *p, int report_fd) {
  /* a joined sandbox's /dev/shm: needed with or without a user namespace */
  if (prepare_joined_shm(p) < 0) return -1;
  bool joined = joined_userns(p, NULL) >= 0;
  if (!(p->ns_flags & CLONE_NEWUSER) && !joined) return 0;
  set_stage("userns");
  if (joined) {
    /* the joined sandbox's range, not a new one: one user namespace, one range */
    if (read_joined_maps(p) < 0 || share_range(p) < 0) return -1;
  } else if (p->idpool.count > 0) {
    if (allocate_range(p) < 0) return -1;
    p->n_uidmap = p->n_gidmap = 1;
    p->uidmap[0] = (struct idmap){.inside = 0, .outside = pool_base, .count = p->idpool.size};
    p->gidmap[0] = p->uidmap[0];
  }
  for (int i = 0; i < p->n_ops; i++) {
    struct mount_op *o = &p->ops[i];
    if (o->kind == OP_BIND && (o->flags & MF_IDMAP) && o->tree_fd < 0 && build_idmapped_tree(p, o, report_fd) < 0) return -1;
  }
  return prepare_image_trees(p);
}

/* Tells lab which host ids the sandbox got. Sent once the child is released, so that
 * waking lab (or whoever reads the events) does not delay the clone. */
void report_userns(const struct plan *p, int report_fd) {
  if (report_fd < 0 || p->n_uidmap == 0 || !((p->ns_flags & CLONE_NEWUSER) || joined_userns(p, NULL) >= 0)) return;
  char line[160];
  int n = snprintf(line, sizeof line, "{\"event\":\"userns\",\"uidBase\":%lu,\"gidBase\":%lu,\"size\":%lu}\n",
                   p->uidmap[0].outside, p->n_gidmap ? p->gidmap[0].outside : 0, p->uidmap[0].count);
  write_all(report_fd, line, (size_t)n);
}

void release_idmapped_trees(struct plan *p) {
  for (int i = 0; i < p->n_ops; i++) {
    if (p->ops[i].tree_fd >= 0) {
      close(p->ops[i].tree_fd);
      p->ops[i].tree_fd = -1;
    }
  }
}
