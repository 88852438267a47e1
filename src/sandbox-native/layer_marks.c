/* The store records a layer's OCI whiteouts and opaque directories (src/images/layer.ts);
 * overlayfs reads them from the layer directory itself: a whiteout is a character device
 * 0/0 at the deleted path, an opaque directory carries the xattr overlay.opaque=y
 * (user.* for an overlay mounted in a user namespace with userxattr, trusted.* for one
 * in the host's). Node can make neither, so this tool does, once per layer, when a layer
 * is first used as a root (src/images/overlay.ts). A device 0/0 needs no CAP_MKNOD since
 * Linux 5.8, and user.* xattrs belong to the file's owner: this works rootless too.
 *
 * Every path is resolved below ROOT without following symlinks: the store refused
 * links as parents when it unpacked the layer, and a link here means something changed
 * it. Missing parents of a whiteout are made (as tar would have made them).
 *
 * overlay-scan is the other direction, for commit and diff (src/images/upper.ts): the
 * opaque directories of a sandbox's upper layer, which Node cannot read either. */
#define _GNU_SOURCE
#include "layer_marks.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "syscalls.h"
#include "util.h"

static int root_fd = -1;

static int fail(const char *what, const char *path, int err) {
  fprintf(stderr, "lab-helper: %s %s: %s\n", what, path, strerror(err));
  return 1;
}

/* The directory holding PATH's last component (made as needed), and that component. */
static int parent_dir(char *path, const char **name) {
  char *slash = strrchr(path, '/');
  *name = slash ? slash + 1 : path;
  if (!**name || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0) return -(errno = EINVAL);
  int dir = dup(root_fd);
  if (!slash) return dir;
  *slash = '\0';
  for (char *save = NULL, *c = strtok_r(path, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (strcmp(c, "..") == 0 || strcmp(c, ".") == 0) {
      close(dir);
      return -(errno = EINVAL);
    }
    int next = sys_openat2(dir, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (next < 0 && errno == ENOENT && mkdirat(dir, c, 0755) == 0)
      next = sys_openat2(dir, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    int e = errno;
    close(dir);
    if (next < 0) return -(errno = e);
    dir = next;
  }
  *slash = '/';
  return dir;
}

static int whiteout(char *path) {
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  const char *name;
  autoclose int dir = parent_dir(copy, &name);
  if (dir < 0) return fail("open parent of", path, errno);
  if (mknodat(dir, name, S_IFCHR | 0600, makedev(0, 0)) == 0) return 0;
  struct stat st;
  if (errno == EEXIST && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0) return 0;
  return fail("mknod (whiteout)", path, errno);
}

static int opaque(char *path) {
  autoclose int dir = -1;
  if (!*path || strcmp(path, ".") == 0) {
    dir = dup(root_fd);
  } else {
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *name;
    autoclose int parent = parent_dir(copy, &name);
    if (parent < 0) return fail("open parent of", path, errno);
    dir = sys_openat2(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (dir < 0 && errno == ENOENT && mkdirat(parent, name, 0755) == 0)
      dir = sys_openat2(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
  }
  if (dir < 0) return fail("open", path, errno);
  if (fsetxattr(dir, "user.overlay.opaque", "y", 1, 0) < 0) return fail("setxattr user.overlay.opaque", path, errno);
  /* for an overlay in the host's user namespace (--userns=host); only root may set it */
  if (geteuid() == 0 && fsetxattr(dir, "trusted.overlay.opaque", "y", 1, 0) < 0) return fail("setxattr trusted.overlay.opaque", path, errno);
  return 0;
}

int layer_marks_main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: lab-helper layer-marks ROOT < marks\n");
    return 2;
  }
  root_fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root_fd < 0) return fail("open", argv[2], errno);
  umask(0);
  char line[PATH_MAX + 8];
  while (fgets(line, sizeof line, stdin)) {
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') line[--n] = '\0';
    if (n < 2 || line[1] != ' ' || (line[0] != 'w' && line[0] != 'o')) {
      fprintf(stderr, "lab-helper: layer-marks: bad line \"%s\"\n", line);
      return 2;
    }
    char *path = line + 2;
    if (strcmp(path, "%") == 0) path[0] = '\0';
    else if (pct_decode(path) < 0) return fail("decode", path, EINVAL);
    if (line[0] == 'w' ? whiteout(path) : opaque(path)) return 1;
  }
  return 0;
}

static size_t root_len;

static int scan_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  if (type != FTW_D) return 0;
  char v[4];
  ssize_t n = lgetxattr(path, "user.overlay.opaque", v, sizeof v);
  if (n < 0) n = lgetxattr(path, "trusted.overlay.opaque", v, sizeof v);
  if (n == 1 && v[0] == 'y') {
    const char *rel = path + root_len;
    while (*rel == '/') rel++;
    fwrite(rel, 1, strlen(rel) + 1, stdout);
  }
  return 0;
}

int overlay_scan_main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: lab-helper overlay-scan ROOT\n");
    return 2;
  }
  root_len = strlen(argv[2]);
  if (nftw(argv[2], scan_entry, 32, FTW_PHYS | FTW_MOUNT) < 0) return fail("walk", argv[2], errno);
  return fflush(stdout) == 0 ? 0 : 1;
}
