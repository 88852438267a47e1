/* Moving a sandbox into its cgroups before it runs, and ending the groups of a one-shot
 * run when it is over (cgroup.h explains the v1/v2 joining). The groups themselves and
 * their limits are made by lab (src/sandbox/cgroups/). */
#define _GNU_SOURCE
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static bool group_dir(const char *procs, char *dir, size_t cap);

/* What prepare_self_join opened (the helper is single-threaded; a forked child has its
 * own copy). */
static int tasks_fds[MAX_CGROUPS];
static int n_tasks_fds;
static int into_fd = -1;
static bool cloned_in;

static void close_tasks_fds(void) {
  for (int i = 0; i < n_tasks_fds; i++) close(tasks_fds[i]);
  n_tasks_fds = 0;
  if (into_fd >= 0) close(into_fd);
  into_fd = -1;
  cloned_in = false;
}

int clone_cgroup_fd(void) {
  return into_fd;
}

void joined_by_clone(void) {
  cloned_in = true;
}

bool prepare_self_join(const struct plan *p) {
  close_tasks_fds();
  for (int i = 0; i < p->n_cgroups; i++) {
    char dir[4096], tasks[4200];
    if (!group_dir(p->cgroup_procs[i], dir, sizeof dir)) break;
    snprintf(tasks, sizeof tasks, "%s/tasks", dir);
    int fd = open(tasks, O_WRONLY | O_CLOEXEC);
    if (fd < 0) break;
    tasks_fds[n_tasks_fds++] = fd;
  }
  if (n_tasks_fds == p->n_cgroups && n_tasks_fds > 0) return true;
  close_tasks_fds();
  char dir[4096];
  /* v2: one group. A mix (hybrid host): the parent writes pids to each cgroup.procs. */
  if (p->n_cgroups == 1 && group_dir(p->cgroup_procs[0], dir, sizeof dir))
    into_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return false;
}

void cancel_self_join(void) {
  close_tasks_fds();
}

int join_self(void) {
  set_stage("cgroup");
  for (int i = 0; i < n_tasks_fds; i++) {
    if (write(tasks_fds[i], "0", 1) != 1) {
      int e = errno;
      close_tasks_fds();
      return set_error("write", "the sandbox's cgroup (tasks)", e);
    }
  }
  close_tasks_fds();
  return 0;
}

int join_cgroups(pid_t child, const struct plan *p) {
  set_stage("cgroup");
  bool done = n_tasks_fds > 0 || cloned_in; /* the child joins itself, or is in already */
  close_tasks_fds();
  if (done) return 0;
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)child);
  for (int i = 0; i < p->n_cgroups; i++)
    if (write_file(p->cgroup_procs[i], pid) < 0) return -1;
  return 0;
}

/* .../lab/<id>/cgroup.procs -> .../lab/<id>; false for a path without two levels */
static bool group_dir(const char *procs, char *dir, size_t cap) {
  snprintf(dir, cap, "%s", procs);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return false;
  *slash = '\0';
  return true;
}

/* rmdir, retried while the last tasks finish exiting (the group is busy until then) */
static bool remove_dir(const char *dir) {
  for (int tries = 0; tries < 50; tries++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) return false;
    usleep(2000);
  }
  return false;
}

/* Removes the groups; with parents, also each parent left empty (refused while another
 * sandbox's group is in it). Whether every group is gone. */
static bool remove_groups(const struct plan *p, bool parents) {
  bool removed = true;
  for (int i = 0; i < p->n_cgroups; i++) {
    char dir[4096];
    if (!group_dir(p->cgroup_procs[i], dir, sizeof dir)) continue;
    if (!remove_dir(dir)) removed = false;
    char *slash = strrchr(dir, '/');
    if (!parents || !slash || slash == dir) continue;
    *slash = '\0';
    rmdir(dir);
  }
  return removed;
}

void remove_cgroups(const struct plan *p) {
  remove_groups(p, true);
  /* what a later sweep would otherwise find: a record whose owner is gone */
  if (p->cgroup_owner) unlink(p->cgroup_owner);
}

/* Appends s to out at *o, never past cap (the event is then cut, and lab falls back to
 * reading the files itself for whatever is missing). */
static void append(char *out, size_t cap, size_t *o, const char *s) {
  size_t n = strlen(s);
  if (*o + n + 1 > cap) return;
  memcpy(out + *o, s, n + 1);
  *o += n;
}

size_t cgroup_stats_json(const struct plan *p, char *out, size_t cap) {
  size_t o = 0;
  out[0] = '\0';
  append(out, cap, &o, "{");
  bool first = true;
  for (int i = 0; i < p->n_cgstats; i++) {
    char buf[2048], path[1100], text[4200], item[5400];
    /* a kernel without this file: lab reads it as absent */
    if (read_small_file(p->cgstats[i], buf, sizeof buf) < 0) continue;
    json_escape(path, sizeof path, p->cgstats[i]);
    json_escape(text, sizeof text, buf);
    snprintf(item, sizeof item, "%s\"%s\":\"%s\"", first ? "" : ",", path, text);
    if (o + strlen(item) + 2 > cap) break;
    append(out, cap, &o, item);
    first = false;
  }
  append(out, cap, &o, "}");
  return o;
}

void finish_cgroups(const struct plan *p, char *out, size_t cap) {
  size_t o = 0;
  out[0] = '\0';
  append(out, cap, &o, ",\"cgroup\":");
  o += cgroup_stats_json(p, out + o, cap - o - 32);
  bool removed = remove_groups(p, false); /* lab keeps the parent while it runs */
  if (removed && p->cgroup_owner) unlink(p->cgroup_owner);
  append(out, cap, &o, removed ? ",\"cgroupRemoved\":true" : ",\"cgroupRemoved\":false");
}
