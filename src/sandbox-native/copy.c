/* `lab sandbox cp`: files into and out of a running sandbox, resolved the way the
 * sandbox itself sees them, never through its symlinks onto the host.
 *
 * Order, and why:
 *   1. pidfd of the sandbox's PID 1 (checked against the start time the engine saw)
 *      and an fd on its root, before anything changes;
 *   2. not dumpable: nothing in the sandbox may ptrace us while we hold host fds;
 *   3. setns into its user and mount namespaces, then become its root (uid 0 inside):
 *      files we create belong to the sandbox's root, and files the sandbox cannot map
 *      (the host's own, reachable through a hard link on a volume) stay unreadable, as
 *      capabilities in a user namespace never override an unmapped owner;
 *   4. chroot into its root through the fd from step 1;
 *   5. every path is resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): a
 *      symlink planted in the sandbox ("/tmp/x -> /etc/shadow") resolves inside it;
 *      below the named path nothing is followed at all (RESOLVE_BENEATH |
 *      RESOLVE_NO_SYMLINKS, O_NOFOLLOW), and devices, fifos and sockets are refused.
 *
 * The stream (stdout for out, stdin for in) is one entry per header line,
 *   d MODE 0 MTIME PATH | f MODE SIZE MTIME PATH (then SIZE bytes) | l 0 LEN MTIME PATH
 * (then the target), ending with "end"; MTIME is in seconds since the epoch and is kept
 * on the copy (docker cp keeps it too; a directory's after what goes into it, and a time
 * the receiving side may not set is let go); PATH is relative, percent-encoded, its
 * first component the copied top name. With cp -a each header ends in " UID:GID", the owner in the sandbox's ids
 * (docker cp -a: the source's owner is kept; without it the receiving side owns the
 * copy). Set-id bits never travel, with or without -a. A symlink whose target is
 * absolute or climbs above the destination is refused in both directions: on the other
 * side it would point somewhere else. */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"
#include "exec.h"
#include "pidref.h"
#include "plan.h"
#include "syscalls.h"
#include "util.h"

#define MAX_DEPTH 64

static unsigned long long g_files, g_bytes;
static bool g_archive; /* cp -a */

static const char *basename_of(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

/* Percent-encodes a path for a header line (space, newline and % must never appear raw). */
static void encode_path(char *dst, size_t len, const char *src) {
  size_t o = 0;
  for (const unsigned char *s = (const unsigned char *)src; *s && o + 4 < len; s++) {
    if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._-/+,=:@", *s))
      dst[o++] = (char)*s;
    else
      o += (size_t)snprintf(dst + o, len - o, "%%%02x", *s);
  }
  dst[o] = '\0';
}

/* A relative path of plain components: no "", ".", "..", no leading "/". */
static bool safe_relpath(const char *p) {
  if (!*p || *p == '/') return false;
  for (const char *c = p; *c;) {
    const char *e = strchr(c, '/');
    size_t n = e ? (size_t)(e - c) : strlen(c);
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return false;
    if (!e) break;
    c = e + 1;
  }
  return true;
}

/* A link at depth (directories between the destination and the link) may climb at most
 * that many levels: its target must stay inside what is copied, beside the top entry. */
static bool link_stays_inside(const char *target, int depth) {
  if (!*target || *target == '/') return false;
  int level = depth;
  for (const char *c = target; *c;) {
    const char *e = strchr(c, '/');
    size_t n = e ? (size_t)(e - c) : strlen(c);
    if (n == 2 && c[0] == '.' && c[1] == '.') {
      if (--level < 0) return false;
    } else if (n > 0 && !(n == 1 && c[0] == '.')) {
      level++;
    }
    if (!e) break;
    c = e + 1;
  }
  return true;
}

static int enter_sandbox(struct plan *p) {
  set_stage("cp-join");
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  pid_t pid = p->exec.target;
  autoclose int pidfd = open_pidfd_checked(pid, p->exec.target_start);
  if (pidfd < 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
  autoclose int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return set_error("open", path, errno);
  int flags = 0;
  const char *kinds[] = {"user", "mnt"};
  const int bits[] = {CLONE_NEWUSER, CLONE_NEWNS};
  for (int i = 0; i < 2; i++) {
    char mine[64], theirs[64];
    struct stat a, b;
    snprintf(mine, sizeof mine, "/proc/self/ns/%s", kinds[i]);
    snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", (int)pid, kinds[i]);
    if (stat(mine, &a) == 0 && stat(theirs, &b) == 0 && (a.st_ino != b.st_ino || a.st_dev != b.st_dev)) flags |= bits[i];
  }
  if (flags && setns(pidfd, flags) < 0) return set_error("setns", "the sandbox's user and mount namespaces", errno);
  if (!pidfd_alive(pidfd)) return set_error_msg("pidfd_open", NULL, "the sandbox stopped while cp was joining it");
  if (flags & CLONE_NEWUSER) {
    /* Our host ids are not mapped in there: become the sandbox's root. setgroups may be
     * denied in a rootless sandbox's namespace; the group list is then fixed anyway. */
    setgroups(0, NULL);
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) return set_error("setresuid", "root of the sandbox", errno);
  }
  if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0) return set_error("chroot", "the sandbox's root", errno);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* the credential change reset it */
  umask(0);
  return 0;
}

/* The parent directory of path inside the sandbox (symlinks resolved inside its root)
 * and the last component; "/" itself has no parent and is refused by the caller. */
static int open_parent(const char *path, char *last, size_t lastlen) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) return set_error_msg("cp", path, "path too long");
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
  char *slash = strrchr(dir, '/');
  snprintf(last, lastlen, "%s", slash + 1);
  if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  int fd = sys_openat2(AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) return set_error("openat2", dir, errno);
  return fd;
}

// ------------------------------------------------------------------ out of the sandbox

static int put_header(char kind, unsigned mode, unsigned long long size, const char *rel, const struct stat *st) {
  char enc[PATH_MAX * 3 + 1], line[PATH_MAX * 3 + 64];
  encode_path(enc, sizeof enc, rel);
  long long mtime = (long long)st->st_mtim.tv_sec;
  int n = g_archive ? snprintf(line, sizeof line, "%c %o %llu %lld %s %u:%u\n", kind, mode, size, mtime, enc, (unsigned)st->st_uid, (unsigned)st->st_gid)
                    : snprintf(line, sizeof line, "%c %o %llu %lld %s\n", kind, mode, size, mtime, enc);
  if (write_all(1, line, (size_t)n) < 0) return set_error("write", "copy stream", errno);
  return 0;
}

static int send_entry(int dirfd, const char *name, const char *rel, int depth);
static int send_file(int fd, const char *rel);

static int send_dir(int fd, const char *rel, int depth) {
  if (depth >= MAX_DEPTH) return set_error_msg("cp", rel, "directories nested deeper than %d levels", MAX_DEPTH);
  int dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return set_error("open", rel, errno);
  DIR *d = fdopendir(dup);
  if (!d) {
    close(dup);
    return set_error("fdopendir", rel, errno);
  }
  struct dirent *e;
  int r = 0;
  while (r == 0 && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char child[PATH_MAX];
    if (snprintf(child, sizeof child, "%s/%s", rel, e->d_name) >= (int)sizeof child) {
      r = set_error_msg("cp", rel, "path too long");
      break;
    }
    r = send_entry(fd, e->d_name, child, depth + 1);
  }
  closedir(d);
  return r;
}

static int send_entry(int dirfd, const char *name, const char *rel, int depth) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return set_error("stat", rel, errno);
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
    if (n < 0) return set_error("readlink", rel, errno);
    target[n] = '\0';
    if (!link_stays_inside(target, depth))
      return set_error_msg("cp", rel, "refusing a symlink that points outside what is copied (-> %s)", target);
    if (put_header('l', 0, (unsigned long long)n, rel, &st) < 0 || write_all(1, target, (size_t)n) < 0) return set_error("write", "copy stream", errno);
    return 0;
  }
  if (S_ISDIR(st.st_mode)) {
    autoclose int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return set_error("open", rel, errno);
    if (put_header('d', st.st_mode & 0777, 0, rel, &st) < 0) return -1;
    return send_dir(fd, rel, depth);
  }
  if (!S_ISREG(st.st_mode)) return set_error_msg("cp", rel, "refusing to copy a device, fifo or socket");
  /* O_NONBLOCK: should the name have been swapped for a fifo since fstatat, open must not hang. */
  autoclose int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return set_error("open", rel, errno);
  return send_file(fd, rel);
}

/* A regular file's entry from an open fd (anything else is refused). */
static int send_file(int fd, const char *rel) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return set_error_msg("cp", rel, "refusing to copy a device, fifo or socket");
  unsigned long long left = (unsigned long long)st.st_size;
  if (put_header('f', st.st_mode & 0777, left, rel, &st) < 0) return -1;
  char buf[65536];
  while (left > 0) {
    ssize_t r = read(fd, buf, left < sizeof buf ? left : sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return set_error("read", rel, errno);
    if (r == 0) { /* it shrank while we copied: keep the stream's framing */
      memset(buf, 0, sizeof buf);
      r = (ssize_t)(left < sizeof buf ? left : sizeof buf);
    }
    if (write_all(1, buf, (size_t)r) < 0) return set_error("write", "copy stream", errno);
    left -= (unsigned long long)r;
  }
  g_files++;
  g_bytes += (unsigned long long)st.st_size;
  return 0;
}

/* cp -L: a symlink at the named path itself is followed, inside the sandbox's root like
 * every resolution here, and what it leads to is sent under the name given; below it
 * nothing is followed. The type is checked on an O_PATH fd first (no device is ever
 * opened), and the file reopened for reading must be that same file. */
static int send_followed(const char *path, const char *top) {
  const unsigned long res = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  autoclose int o = sys_openat2(AT_FDCWD, path, O_PATH | O_CLOEXEC, res);
  if (o < 0) return set_error("openat2", path, errno);
  struct stat st, again;
  if (fstat(o, &st) < 0) return set_error("stat", path, errno);
  if (S_ISDIR(st.st_mode)) {
    autoclose int fd = openat(o, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return set_error("open", path, errno);
    if (put_header('d', st.st_mode & 0777, 0, top, &st) < 0) return -1;
    return send_dir(fd, top, 0);
  }
  if (!S_ISREG(st.st_mode)) return set_error_msg("cp", path, "refusing to copy a device, fifo or socket");
  autoclose int fd = sys_openat2(AT_FDCWD, path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, res);
  if (fd < 0) return set_error("open", path, errno);
  if (fstat(fd, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino)
    return set_error_msg("cp", path, "it changed while being copied");
  return send_file(fd, top);
}

static int copy_out(const char *path, bool follow) {
  set_stage("cp-out");
  char last[NAME_MAX + 1];
  if (strcmp(path, "/") == 0) return set_error_msg("cp", path, "copy a directory below / (the root itself cannot be named)");
  autoclose int parent = open_parent(path, last, sizeof last);
  if (parent < 0) return -1;
  /* "." and ".." as the last component would name something else than the user wrote. */
  if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0) return set_error_msg("cp", path, "the path must end in a name, not . or ..");
  if ((follow ? send_followed(path, last) : send_entry(parent, last, last, 0)) < 0) return -1;
  if (write_all(1, "end\n", 4) < 0) return set_error("write", "copy stream", errno);
  return 0;
}

// ------------------------------------------------------------------ into the sandbox

struct reader {
  int fd;
  char buf[65536];
  size_t pos, len;
};

static int rd_fill(struct reader *r) {
  if (r->pos < r->len) return 0;
  for (;;) {
    ssize_t n = read(r->fd, r->buf, sizeof r->buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return set_error("read", "copy stream", errno);
    if (n == 0) return set_error_msg("cp", NULL, "the copy stream ended early");
    r->pos = 0;
    r->len = (size_t)n;
    return 0;
  }
}

static int rd_line(struct reader *r, char *line, size_t cap) {
  size_t o = 0;
  for (;;) {
    if (rd_fill(r) < 0) return -1;
    char c = r->buf[r->pos++];
    if (c == '\n') break;
    if (o + 1 >= cap) return set_error_msg("cp", NULL, "malformed copy stream (header too long)");
    line[o++] = c;
  }
  line[o] = '\0';
  return 0;
}

/* Copies n bytes of the stream to fd (-1: into a buffer of at most cap bytes). */
static int rd_bytes(struct reader *r, int fd, char *dst, unsigned long long n) {
  while (n > 0) {
    if (rd_fill(r) < 0) return -1;
    size_t k = r->len - r->pos;
    if (k > n) k = (size_t)n;
    if (fd >= 0 && write_all(fd, r->buf + r->pos, k) < 0) return set_error("write", "copied file", errno);
    if (dst) {
      memcpy(dst, r->buf + r->pos, k);
      dst += k;
    }
    r->pos += k;
    n -= k;
  }
  return 0;
}

static int depth_of(const char *rel) {
  int d = 0;
  for (const char *c = rel; *c; c++)
    if (*c == '/') d++;
  return d;
}

/* One entry of the stream, created below base: the parent is opened without following
 * any symlink (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a link made by an earlier
 * entry, or planted meanwhile by the sandbox, is never walked through. */
/* cp -a: the entry gets the owner the stream gave, in the sandbox's ids. */
static int give_owner(int dirfd, const char *name, int fd, const char *path, long uid, long gid) {
  if (!g_archive || uid < 0) return 0;
  int rc = fd >= 0 ? fchown(fd, (uid_t)uid, (gid_t)gid) : fchownat(dirfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
  if (rc == 0) return 0;
  if (errno == EINVAL)
    return set_error_msg("cp", path, "owner %ld:%ld is not one of the sandbox's ids (copy without -a, or give it an owner the sandbox has)", uid, gid);
  return set_error("chown", path, errno);
}

/* Directories get their times last: what is copied into them changes them. */
struct dir_time {
  char *path;
  long long mtime;
};
static struct dir_time *g_dirs;
static size_t g_ndirs, g_capdirs;

static void remember_dir(const char *path, long long mtime) {
  if (g_ndirs == g_capdirs) {
    size_t cap = g_capdirs ? g_capdirs * 2 : 64;
    struct dir_time *d = realloc(g_dirs, cap * sizeof *d);
    if (!d) return; /* times are kept where memory allows; the copy itself goes on */
    g_dirs = d;
    g_capdirs = cap;
  }
  char *p = strdup(path);
  if (p) g_dirs[g_ndirs++] = (struct dir_time){p, mtime};
}

static void mtime_spec(struct timespec ts[2], long long mtime) {
  ts[0] = (struct timespec){.tv_sec = mtime, .tv_nsec = 0};
  ts[1] = ts[0];
}

/* The deepest first, each resolved beneath base again without following anything. */
static void set_dir_times(int base) {
  for (size_t i = g_ndirs; i-- > 0;) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", g_dirs[i].path);
    char *slash = strrchr(dir, '/');
    const char *name = slash ? slash + 1 : dir;
    if (slash) *slash = '\0';
    autoclose int pfd = slash ? sys_openat2(base, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
                              : fcntl(base, F_DUPFD_CLOEXEC, 0);
    struct timespec ts[2];
    mtime_spec(ts, g_dirs[i].mtime);
    if (pfd >= 0) utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW);
    free(g_dirs[i].path);
  }
  g_ndirs = 0;
}

static int receive_entry(struct reader *r, int base, const char *top, char kind, unsigned mode, unsigned long long size, long long mtime, const char *rel, long uid, long gid) {
  char path[PATH_MAX], dir[PATH_MAX];
  const char *rest = strchr(rel, '/');
  if (snprintf(path, sizeof path, "%s%s", top, rest ? rest : "") >= (int)sizeof path) return set_error_msg("cp", rel, "path too long");
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  const char *name = slash ? basename_of(path) : path;
  if (slash) *slash = '\0';
  autoclose int pfd = slash ? sys_openat2(base, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
                            : fcntl(base, F_DUPFD_CLOEXEC, 0);
  if (pfd < 0) return set_error("openat2", dir, errno);
  mode &= 0777; /* never set-id bits from a copy */
  struct stat st;
  bool exists = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  struct timespec ts[2];
  mtime_spec(ts, mtime);
  if (kind == 'd') {
    remember_dir(path, mtime);
    if (exists && S_ISDIR(st.st_mode)) return 0;
    if (exists) return set_error_msg("cp", path, "cannot replace a non-directory with a directory");
    if (mkdirat(pfd, name, mode | 0700) < 0) return set_error("mkdir", path, errno);
    return give_owner(pfd, name, -1, path, uid, gid);
  }
  if (kind == 'l') {
    char target[PATH_MAX];
    if (size >= sizeof target) return set_error_msg("cp", path, "symlink target too long");
    if (rd_bytes(r, -1, target, size) < 0) return -1;
    target[size] = '\0';
    if (!link_stays_inside(target, depth_of(rel))) return set_error_msg("cp", path, "refusing a symlink that points outside what is copied (-> %s)", target);
    if (exists) return set_error_msg("cp", path, "already exists; symlinks are not replaced");
    if (symlinkat(target, pfd, name) < 0) return set_error("symlink", path, errno);
    utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW); /* before the owner changes: ours to set */
    return give_owner(pfd, name, -1, path, uid, gid);
  }
  if (exists && !S_ISREG(st.st_mode)) return set_error_msg("cp", path, "refusing to write onto a directory, symlink, device, fifo or socket");
  autoclose int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
  if (fd < 0) return set_error("open", path, errno);
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return set_error_msg("cp", path, "refusing to write onto a device, fifo or socket");
  if (ftruncate(fd, 0) < 0) return set_error("ftruncate", path, errno);
  if (rd_bytes(r, fd, NULL, size) < 0) return -1;
  futimens(fd, ts);
  if (give_owner(-1, NULL, fd, path, uid, gid) < 0) return -1;
  if (fchmod(fd, mode) < 0) return set_error("chmod", path, errno);
  g_files++;
  g_bytes += size;
  return 0;
}

static int copy_in(const char *path, bool intodir) {
  set_stage("cp-in");
  static struct reader r = {.fd = 0};
  char line[PATH_MAX * 3 + 64], last[NAME_MAX + 1];
  /* Where the top entry goes: into an existing directory under its own name, or as
   * the path's last component (docker cp's rule). */
  autoclose int dest = sys_openat2(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  autoclose int parent = -1;
  if (dest < 0 && errno != ENOENT && errno != ENOTDIR) return set_error("openat2", path, errno);
  /* An archive's entries go into a directory that exists, as docker cp - has it. */
  if (dest < 0 && intodir) return set_error_msg("cp", path, errno == ENOTDIR ? "not a directory (an archive is unpacked into a directory)" : "no such directory (an archive is unpacked into a directory that exists)");
  if (dest < 0) {
    if (strcmp(path, "/") == 0 || (parent = open_parent(path, last, sizeof last)) < 0) return -1;
    if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0) return set_error_msg("cp", path, "the path must end in a name, not . or ..");
  }
  int base = dest >= 0 ? dest : parent;
  char top[NAME_MAX + 1] = "";
  for (;;) {
    if (rd_line(&r, line, sizeof line) < 0) return -1;
    if (strcmp(line, "end") == 0) break;
    char kind, rel[PATH_MAX * 3 + 1];
    unsigned mode, uid = 0, gid = 0;
    unsigned long long size;
    long long mtime;
    int got = sscanf(line, "%c %o %llu %lld %s %u:%u", &kind, &mode, &size, &mtime, rel, &uid, &gid);
    if ((got != 5 && got != 7) || !strchr("dfl", kind) || pct_decode(rel) < 0 || !safe_relpath(rel))
      return set_error_msg("cp", NULL, "malformed copy stream entry");
    size_t toplen = strcspn(rel, "/");
    if (intodir && (strlen(top) != toplen || strncmp(top, rel, toplen) != 0)) top[0] = '\0'; /* the next top entry */
    if (!top[0]) {
      if (toplen > NAME_MAX) return set_error_msg("cp", rel, "name too long");
      if (dest >= 0) snprintf(top, sizeof top, "%.*s", (int)toplen, rel);
      else snprintf(top, sizeof top, "%s", last);
    } else if (rel[toplen] != '/') {
      return set_error_msg("cp", rel, "malformed copy stream (more than one top entry)");
    }
    if (receive_entry(&r, base, top, kind, mode, size, mtime, rel, got == 7 ? (long)uid : -1, got == 7 ? (long)gid : -1) < 0) return -1;
  }
  set_dir_times(base);
  return 0;
}

int run_copy(struct plan *p, int ctl) {
  g_archive = p->copy.archive;
  if (enter_sandbox(p) < 0 || (p->copy.direction == 'o' ? copy_out(p->copy.path, p->copy.follow) : copy_in(p->copy.path, p->copy.intodir)) < 0) {
    write_error_event(ctl);
    return 1;
  }
  char done[128];
  int n = snprintf(done, sizeof done, "{\"event\":\"copied\",\"files\":%llu,\"bytes\":%llu}\n", g_files, g_bytes);
  write_all(ctl, done, (size_t)n);
  return 0;
}
