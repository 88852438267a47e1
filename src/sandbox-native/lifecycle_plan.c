/* The plan lines of the sandbox lifecycle (grammar in src/sandbox/plan.ts), each into
 * the plan part of the module that owns it (detach.h, join.h, exec.h, copy.h, tty.h):
 *   detach RUN_DIR | log FILE MAXBYTES | restart POLICY MAX | keepstdin
 *   autoremove PATH | names DIR ID | join net|ipc|pid|user PID STARTTIME | joinshm DST
 *   target PID STARTTIME
 *   caller PID STARTTIME | cputime MS USAGE_FILE CPUS | outputlimit BYTES | tty ROWS COLS stdin|nostdin
 *   background | copy out|in PATH [follow] [archive] [intodir] */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "logs.h"
#include "plan.h"
#include "util.h"

static int bad(int line, const char *what) {
  char where[32];
  snprintf(where, sizeof where, "line %d", line);
  return set_error_msg("plan", where, "%s", what);
}

static int parse_pid(const char *s, pid_t *out) {
  unsigned long long v;
  if (parse_u64(s, &v) < 0 || v == 0 || v > 4194304) return -1;
  *out = (pid_t)v;
  return 0;
}

int parse_lifecycle_op(struct plan *p, int line, char **t, int n) {
  struct detach_plan *d = &p->detach;
  const char *op = t[0];
  if (strcmp(op, "detach") == 0) {
    if (n != 2 || t[1][0] != '/') return bad(line, "detach needs an absolute run directory");
    d->enabled = true;
    d->run_dir = t[1];
  } else if (strcmp(op, "log") == 0) {
    unsigned long long files;
    if (n != 4 || t[1][0] != '/' || parse_u64(t[2], &d->log_max) < 0 || d->log_max < 4096 || parse_u64(t[3], &files) < 0 ||
        files < 1 || files > LOG_MAX_FILES)
      return bad(line, "log needs an absolute file, a size of at least 4096 and a file count from 1 to 100");
    d->log_path = t[1];
    d->log_files = (unsigned)files;
  } else if (strcmp(op, "restart") == 0) {
    unsigned long long max;
    if (n != 3 || parse_u64(t[2], &max) < 0 || max > 1000000) return bad(line, "restart needs a policy and a count");
    d->restart_max = (unsigned)max;
    if (strcmp(t[1], "no") == 0) d->restart = RESTART_NO;
    else if (strcmp(t[1], "on-failure") == 0) d->restart = RESTART_ON_FAILURE;
    else if (strcmp(t[1], "always") == 0) d->restart = RESTART_ALWAYS;
    else if (strcmp(t[1], "unless-stopped") == 0) d->restart = RESTART_UNLESS_STOPPED;
    else return bad(line, "unknown restart policy");
  } else if (strcmp(op, "keepstdin") == 0) {
    if (n != 1) return bad(line, "keepstdin takes no arguments");
    d->keep_stdin = true;
  } else if (strcmp(op, "autoremove") == 0) {
    if (n != 2 || t[1][0] != '/' || strlen(t[1]) < 2) return bad(line, "autoremove needs an absolute path");
    if (d->n_autoremove >= MAX_AUTOREMOVE) return bad(line, "too many autoremove paths");
    d->autoremove[d->n_autoremove++] = t[1];
  } else if (strcmp(op, "names") == 0) {
    if (n != 3 || t[1][0] != '/') return bad(line, "names needs a directory and an id");
    d->names_dir = t[1];
    d->id = t[2];
  } else if (strcmp(op, "caller") == 0) {
    if (n != 3 || parse_pid(t[1], &d->caller) < 0 || parse_u64(t[2], &d->caller_start) < 0 || !d->caller_start)
      return bad(line, "caller needs a pid and its start time");
  } else if (strcmp(op, "cputime") == 0) {
    unsigned long long par;
    if (n != 4 || parse_u64(t[1], &d->cpu_time_ms) < 0 || !d->cpu_time_ms || t[2][0] != '/' ||
        parse_u64(t[3], &par) < 0 || par < 1 || par > 4096)
      return bad(line, "cputime needs milliseconds, the absolute cgroup usage file and a CPU count");
    d->cpu_usage_file = t[2];
    d->cpu_parallelism = (unsigned)par;
  } else if (strcmp(op, "outputlimit") == 0) {
    if (n != 2 || parse_u64(t[1], &d->output_limit) < 0 || !d->output_limit) return bad(line, "outputlimit needs a byte count");
  } else if (strcmp(op, "tty") == 0) {
    unsigned long long rows, cols;
    if (n != 4 || parse_u64(t[1], &rows) < 0 || parse_u64(t[2], &cols) < 0 || rows > 65535 || cols > 65535 ||
        (strcmp(t[3], "stdin") != 0 && strcmp(t[3], "nostdin") != 0))
      return bad(line, "tty needs rows, columns and stdin or nostdin");
    p->tty.enabled = true;
    p->tty.forward_stdin = t[3][0] == 's';
    p->tty.rows = (unsigned short)rows;
    p->tty.cols = (unsigned short)cols;
  } else if (strcmp(op, "background") == 0) {
    if (n != 1) return bad(line, "background takes no arguments");
    p->exec.background = true;
  } else if (strcmp(op, "copy") == 0) {
    if (n < 3 || n > 6 || (strcmp(t[1], "out") != 0 && strcmp(t[1], "in") != 0) || t[2][0] != '/')
      return bad(line, "copy needs out or in, an absolute path, then optionally follow, archive and intodir");
    p->copy.direction = t[1][0];
    p->copy.path = t[2];
    for (int i = 3; i < n; i++) {
      if (strcmp(t[i], "follow") == 0) p->copy.follow = true;
      else if (strcmp(t[i], "archive") == 0) p->copy.archive = true;
      else if (strcmp(t[i], "intodir") == 0) p->copy.intodir = true;
      else return bad(line, "copy's options are follow, archive and intodir");
    }
  } else if (strcmp(op, "join") == 0 || strcmp(op, "target") == 0) {
    bool join = op[0] == 'j';
    int base = join ? 2 : 1;
    pid_t pid;
    unsigned long long start;
    if (n != base + 2 || parse_pid(t[base], &pid) < 0 || parse_u64(t[base + 1], &start) < 0)
      return bad(line, join ? "join needs a kind, a pid and its start time" : "target needs a pid and its start time");
    if (!join) {
      p->exec.target = pid;
      p->exec.target_start = start;
      return 1;
    }
    if (p->join.n >= MAX_JOINS) return bad(line, "too many joined namespaces");
    int type;
    if (strcmp(t[1], "net") == 0) type = CLONE_NEWNET;
    else if (strcmp(t[1], "ipc") == 0) type = CLONE_NEWIPC;
    else if (strcmp(t[1], "pid") == 0) type = CLONE_NEWPID;
    else if (strcmp(t[1], "user") == 0) type = CLONE_NEWUSER;
    else return bad(line, "join: the namespace must be net, ipc, pid or user");
    if (p->ns_flags & (unsigned long)type) return bad(line, "join: that namespace is also to be created (drop its ns line)");
    struct join_op *j = &p->join.ops[p->join.n++];
    j->nstype = type;
    j->pid = pid;
    j->start = start;
    j->fd = -1;
  } else if (strcmp(op, "joinshm") == 0) {
    /* --ipc sandbox:NAME: that sandbox's /dev/shm, as Docker's shareable IPC shares it */
    if (n != 2 || t[1][0] != '/') return bad(line, "joinshm needs an absolute destination");
    if (p->n_ops >= MAX_OPS) return bad(line, "too many mount operations");
    p->ops[p->n_ops++] = (struct mount_op){.kind = OP_BIND, .src = "joined /dev/shm", .dst = t[1], .flags = MF_JOINSHM, .tree_fd = -1};
  } else {
    return 0;
  }
  return 1;
}
