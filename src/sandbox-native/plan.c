/* Parsing the plan the engine sends on fd 3 into struct plan (plan.h); the lines of
 * detach, join, exec, cp and tty are lifecycle_plan.c's. A malformed line is refused
 * with its number: the engine validated the spec, but the helper does not rely on it. */
#define _GNU_SOURCE
#include "plan.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define PLAN_MAX_BYTES (8u << 20)

static const struct {
  const char *name;
  unsigned long flag;
} ns_names[] = {
    {"pid", CLONE_NEWPID}, {"mount", CLONE_NEWNS}, {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
    {"net", CLONE_NEWNET}, {"user", CLONE_NEWUSER}, {"cgroup", 0},
};

static const struct {
  const char *name;
  int res;
} rlimit_names[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

static const struct {
  const char *name;
  unsigned flag;
} flag_names[] = {
    {"ro", MF_RO},           {"nosuid", MF_NOSUID}, {"nodev", MF_NODEV}, {"noexec", MF_NOEXEC},
    {"optional", MF_OPTIONAL}, {"file", MF_FILE},   {"idmap", MF_IDMAP}, {"upper", MF_UPPER}, {"rootmap", MF_ROOTMAP}, {"hide", MF_HIDE}, {"-", 0},
};

static int parse_flags(const char *s, unsigned *out) {
  *out = 0;
  char buf[256];
  if (strlen(s) >= sizeof buf) return -1;
  strcpy(buf, s);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    size_t i;
    for (i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
      if (strcmp(t, flag_names[i].name) == 0) break;
    if (i == sizeof flag_names / sizeof flag_names[0]) return -1;
    *out |= flag_names[i].flag;
  }
  return 0;
}

static int parse_mode(const char *s, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 8);
  if (errno || *end || v > 07777) return -1;
  *out = (unsigned)v;
  return 0;
}

static int parse_rlim(const char *s, rlim_t *out) {
  unsigned long long v;
  if (strcmp(s, "unlimited") == 0) {
    *out = RLIM_INFINITY;
    return 0;
  }
  if (parse_u64(s, &v) < 0) return -1;
  *out = (rlim_t)v;
  return 0;
}

static int parse_idmap(char **tok, int ntok, struct idmap *m, int *n) {
  unsigned long long a, b, c;
  if (ntok != 4 || *n >= MAX_IDMAP) return -1;
  if (parse_u64(tok[1], &a) < 0 || parse_u64(tok[2], &b) < 0 || parse_u64(tok[3], &c) < 0) return -1;
  m[*n].inside = a;
  m[*n].outside = b;
  m[*n].count = c;
  (*n)++;
  return 0;
}

static int bad(int line, const char *what) {
  char where[32];
  snprintf(where, sizeof where, "line %d", line);
  return set_error_msg("plan", where, "%s", what);
}

static int add_op(struct plan *p, int line, enum op_kind kind, char *src, char *dst, char *data,
                  const char *flags, const char *size, const char *mode) {
  if (p->n_ops >= MAX_OPS) return bad(line, "too many mount operations");
  struct mount_op *o = &p->ops[p->n_ops++];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->tree_fd = -1;
  o->src = src;
  o->dst = dst;
  o->data = data;
  if (dst && dst[0] != '/') return bad(line, "destination must be absolute");
  if (flags && parse_flags(flags, &o->flags) < 0) return bad(line, "unknown mount flag");
  if (size && parse_u64(size, &o->size) < 0) return bad(line, "bad size");
  if (mode && parse_mode(mode, &o->mode) < 0) return bad(line, "bad mode");
  return 0;
}

static int parse_line(struct plan *p, int line, char **t, int n) {
  const char *op = t[0];
#define NEED(k)                                                   \
  do {                                                            \
    if (n != (k)) return bad(line, "wrong number of arguments"); \
  } while (0)
  if (strcmp(op, "version") == 0) {
    NEED(2);
    if (strcmp(t[1], "1") != 0) return bad(line, "unsupported plan version");
  } else if (strcmp(op, "ns") == 0) {
    NEED(2);
    size_t i;
    for (i = 0; i < sizeof ns_names / sizeof ns_names[0]; i++)
      if (strcmp(t[1], ns_names[i].name) == 0) break;
    if (i == sizeof ns_names / sizeof ns_names[0]) return bad(line, "unknown namespace");
    if (strcmp(t[1], "cgroup") == 0)
      p->cgroup_ns = true;
    else
      p->ns_flags |= ns_names[i].flag;
  } else if (strcmp(op, "hostname") == 0) {
    NEED(2);
    p->hostname = t[1];
  } else if (strcmp(op, "cgroup") == 0) {
    NEED(2);
    if (p->n_cgroups >= MAX_CGROUPS) return bad(line, "too many cgroups");
    p->cgroup_procs[p->n_cgroups++] = t[1];
  } else if (strcmp(op, "cgstat") == 0) {
    NEED(2);
    if (t[1][0] != '/') return bad(line, "a counter file must be an absolute path");
    if (p->n_cgstats >= MAX_CGSTATS) return bad(line, "too many counter files");
    p->cgstats[p->n_cgstats++] = t[1];
  } else if (strcmp(op, "cgfinish") == 0) {
    p->cgfinish = true;
  } else if (strcmp(op, "cgroupowner") == 0) {
    NEED(2);
    if (t[1][0] != '/') return bad(line, "the ownership record must be an absolute path");
    p->cgroup_owner = t[1];
  } else if (strcmp(op, "root") == 0) {
    NEED(3);
    if (parse_u64(t[1], &p->root_size) < 0) return bad(line, "bad root size");
    if (strcmp(t[2], "ro") == 0)
      p->root_readonly = true;
    else if (strcmp(t[2], "rw") == 0)
      p->root_readonly = false;
    else
      return bad(line, "root mode must be ro or rw");
  } else if (strcmp(op, "bind") == 0) {
    NEED(4);
    return add_op(p, line, OP_BIND, t[1], t[2], NULL, t[3], NULL, NULL);
  } else if (strcmp(op, "overlay") == 0) {
    if (n != 3 && n != 4) return bad(line, "wrong number of arguments");
    return add_op(p, line, OP_OVERLAY, t[1], t[2], NULL, n == 4 ? t[3] : NULL, NULL, NULL);
  } else if (strcmp(op, "layer") == 0) {
    NEED(3);
    if (t[1][0] != '/') return bad(line, "a layer must be an absolute path");
    return add_op(p, line, OP_LAYER, t[1], "/", NULL, t[2], NULL, NULL);
  } else if (strcmp(op, "imageroot") == 0) {
    NEED(4);
    /* both empty (the upper on the scratch tmpfs) or both absolute */
    if ((t[1][0] == '\0') != (t[2][0] == '\0') || (t[1][0] && (t[1][0] != '/' || t[2][0] != '/')))
      return bad(line, "imageroot takes an absolute upper and work directory, or neither");
    return add_op(p, line, OP_IMAGEROOT, t[1], "/", t[2], t[3], NULL, NULL);
  } else if (strcmp(op, "tmpfs") == 0) {
    NEED(5);
    return add_op(p, line, OP_TMPFS, NULL, t[1], NULL, t[4], t[2], t[3]);
  } else if (strcmp(op, "proc") == 0) {
    NEED(2);
    return add_op(p, line, OP_PROC, NULL, t[1], NULL, NULL, NULL, NULL);
  } else if (strcmp(op, "sysfs") == 0) {
    NEED(2);
    return add_op(p, line, OP_SYSFS, NULL, t[1], NULL, NULL, NULL, NULL);
  } else if (strcmp(op, "devpts") == 0) {
    NEED(2);
    return add_op(p, line, OP_DEVPTS, NULL, t[1], NULL, NULL, NULL, NULL);
  } else if (strcmp(op, "mqueue") == 0) {
    NEED(2);
    return add_op(p, line, OP_MQUEUE, NULL, t[1], NULL, NULL, NULL, NULL);
  } else if (strcmp(op, "symlink") == 0) {
    NEED(3);
    return add_op(p, line, OP_SYMLINK, t[1], t[2], NULL, NULL, NULL, NULL);
  } else if (strcmp(op, "mkdir") == 0) {
    NEED(3);
    return add_op(p, line, OP_MKDIR, NULL, t[1], NULL, NULL, NULL, t[2]);
  } else if (strcmp(op, "file") == 0) {
    NEED(4);
    return add_op(p, line, OP_FILE, NULL, t[1], t[3], NULL, NULL, t[2]);
  } else if (strcmp(op, "mask") == 0) {
    NEED(2);
    return add_op(p, line, OP_MASK, NULL, t[1], NULL, NULL, NULL, NULL);
  } else if (strcmp(op, "readonly") == 0) {
    NEED(2);
    return add_op(p, line, OP_READONLY, NULL, t[1], NULL, NULL, NULL, NULL);
  } else if (strcmp(op, "rlimit") == 0) {
    NEED(4);
    if (p->n_rlimits >= MAX_RLIMITS) return bad(line, "too many rlimits");
    size_t i;
    for (i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
      if (strcmp(t[1], rlimit_names[i].name) == 0) break;
    if (i == sizeof rlimit_names / sizeof rlimit_names[0]) return bad(line, "unknown rlimit");
    struct rlimit_op *r = &p->rlimits[p->n_rlimits++];
    r->resource = rlimit_names[i].res;
    if (parse_rlim(t[2], &r->lim.rlim_cur) < 0 || parse_rlim(t[3], &r->lim.rlim_max) < 0)
      return bad(line, "bad rlimit value");
    if (r->lim.rlim_cur > r->lim.rlim_max) return bad(line, "rlimit soft value above hard value");
  } else if (strcmp(op, "user") == 0) {
    if (n < 3 || n - 3 > MAX_GROUPS) return bad(line, "wrong number of arguments");
    unsigned long long u, g;
    if (parse_u64(t[1], &u) < 0 || parse_u64(t[2], &g) < 0 || u > 0xfffffffeULL || g > 0xfffffffeULL)
      return bad(line, "bad uid or gid");
    p->uid = (uid_t)u;
    p->gid = (gid_t)g;
    for (int i = 3; i < n; i++) {
      if (parse_u64(t[i], &g) < 0 || g > 0xfffffffeULL) return bad(line, "bad group");
      p->groups[p->n_groups++] = (gid_t)g;
    }
  } else if (strcmp(op, "caps") == 0 || strcmp(op, "ambient") == 0) {
    NEED(2);
    unsigned long long v;
    if (strcmp(t[1], "-") == 0)
      v = 0;
    else {
      char *end;
      errno = 0;
      v = strtoull(t[1], &end, 16);
      if (errno || *end) return bad(line, "capability set must be hex");
    }
    if (op[0] == 'c')
      p->caps = v;
    else
      p->ambient = v;
  } else if (strcmp(op, "uidmap") == 0) {
    if (parse_idmap(t, n, p->uidmap, &p->n_uidmap) < 0) return bad(line, "bad uid map");
  } else if (strcmp(op, "gidmap") == 0) {
    if (parse_idmap(t, n, p->gidmap, &p->n_gidmap) < 0) return bad(line, "bad gid map");
  } else if (strcmp(op, "idpool") == 0) {
    NEED(5);
    unsigned long long b, z, c;
    if (t[1][0] != '/' || parse_u64(t[2], &b) < 0 || parse_u64(t[3], &z) < 0 || parse_u64(t[4], &c) < 0 || z == 0 || c == 0 ||
        b + z * c > 0xffffffffULL)
      return bad(line, "bad id pool");
    p->idpool = (struct idpool){.dir = t[1], .base = b, .size = z, .count = c};
  } else if (strcmp(op, "mapper") == 0) {
    NEED(3);
    if (t[1][0] != '/' || t[2][0] != '/') return bad(line, "mapper paths must be absolute");
    p->newuidmap = t[1];
    p->newgidmap = t[2];
  } else if (strcmp(op, "setgroups") == 0) {
    NEED(2);
    if (strcmp(t[1], "deny") != 0) return bad(line, "setgroups takes deny");
    p->setgroups_deny = true;
  } else if (strcmp(op, "seccomp") == 0) {
    NEED(2);
    p->seccomp_bpf = t[1];
  } else if (strcmp(op, "env") == 0) {
    NEED(2);
    if (p->n_env >= MAX_ENV) return bad(line, "too many environment variables");
    if (!strchr(t[1], '=')) return bad(line, "environment entry without =");
    p->env[p->n_env++] = t[1];
  } else if (strcmp(op, "cwd") == 0) {
    NEED(2);
    if (t[1][0] != '/') return bad(line, "working directory must be absolute");
    p->cwd = t[1];
  } else if (strcmp(op, "init") == 0) {
    NEED(1);
    p->init = true;
  } else if (strcmp(op, "loopback") == 0) {
    NEED(1);
    p->loopback = true;
  } else if (strcmp(op, "veth") == 0) {
    return parse_veth_op(&p->net, line, t, n);
  } else if (strcmp(op, "pasta") == 0 || strcmp(op, "pastaport") == 0) {
    return parse_pasta_op(&p->pasta, line, t, n);
  } else if (strcmp(op, "timeout") == 0) {
    NEED(2);
    if (parse_u64(t[1], &p->timeout_ms) < 0) return bad(line, "bad timeout");
  } else if (strcmp(op, "exec") == 0) {
    if (n < 2 || n - 1 > MAX_ARGS) return bad(line, "exec needs a command");
    for (int i = 1; i < n; i++) p->argv[p->n_argv++] = t[i];
  } else {
    int r = parse_lifecycle_op(p, line, t, n);
    if (r < 0) return -1;
    if (r == 0) return bad(line, "unknown operation");
  }
  return 0;
#undef NEED
}

int read_plan(int fd, struct plan *p) {
  set_stage("plan");
  memset(p, 0, sizeof *p);
  p->new_session = true;
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  if (!buf) return set_error("malloc", NULL, ENOMEM);
  /* Read until the terminating "end" line; the socket stays open afterwards
   * because it is also how the helper learns that its caller died. */
  for (;;) {
    if (len + 1 >= cap) {
      if (cap >= PLAN_MAX_BYTES) return set_error_msg("plan", NULL, "plan larger than 8 MiB");
      cap *= 2;
      char *nb = realloc(buf, cap);
      if (!nb) return set_error("realloc", NULL, ENOMEM);
      buf = nb;
    }
    ssize_t r = read(fd, buf + len, cap - len - 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return set_error("read", "control socket", errno);
    }
    if (r == 0) return set_error_msg("plan", NULL, "control socket closed before the plan ended");
    len += (size_t)r;
    buf[len] = '\0';
    if (len >= 4 && memcmp(buf + len - 4, "end\n", 4) == 0 && (len == 4 || buf[len - 5] == '\n')) break;
  }
  int line = 0;
  char *save = NULL;
  for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    line++;
    if (strcmp(l, "end") == 0) break;
    char *tok[MAX_ARGS + 2];
    int n = 0;
    for (char *s2 = NULL, *t = strtok_r(l, " ", &s2); t; t = strtok_r(NULL, " ", &s2)) {
      if (n >= MAX_ARGS + 1) return bad(line, "too many tokens");
      if (strcmp(t, "%") == 0)
        t[0] = '\0'; /* a lone % is the empty string */
      else if (pct_decode(t) < 0)
        return bad(line, "bad percent-encoding");
      tok[n++] = t;
    }
    if (n == 0) continue;
    if (parse_line(p, line, tok, n) < 0) return -1;
  }
  /* a cp plan (copy.c) runs no program: it only streams files */
  if (p->n_argv == 0 && !p->copy.direction) return set_error_msg("plan", NULL, "plan has no exec line");
  p->argv[p->n_argv] = NULL;
  p->env[p->n_env] = NULL;
  if (!p->cwd) p->cwd = "/";
  return 0;
}
