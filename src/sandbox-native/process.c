/* The sandboxed program's last steps before it runs (rlimits, working directory, sealed
 * fds, default signals) and the exec itself (process.h). */
#define _GNU_SOURCE
#include "process.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syscalls.h"
#include "util.h"

int apply_rlimits(const struct plan *p) {
  set_stage("rlimit");
  for (int i = 0; i < p->n_rlimits; i++)
    if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].lim) < 0) return set_error("setrlimit", NULL, errno);
  return 0;
}

int enter_workdir(const struct plan *p) {
  set_stage("cwd");
  if (chdir(p->cwd) < 0) return set_error("chdir", p->cwd, errno);
  char buf[PATH_MAX];
  /* getcwd() fails (or says "(unreachable)") when cwd is not below the root. */
  if (!getcwd(buf, sizeof buf) || buf[0] != '/') return set_error_msg("getcwd", p->cwd, "working directory is outside the sandbox root");
  return 0;
}

int seal_fds(void) {
  set_stage("fds");
  if (sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) return set_error("close_range", NULL, errno);
  return 0;
}

void reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static const char *env_path(const struct plan *p) {
  for (int i = 0; i < p->n_env; i++)
    if (strncmp(p->env[i], "PATH=", 5) == 0) return p->env[i] + 5;
  return "/usr/local/bin:/usr/bin:/bin";
}

int exec_program(const struct plan *p) {
  set_stage("exec");
  const char *prog = p->argv[0];
  if (strchr(prog, '/')) {
    execve(prog, p->argv, p->env);
    return set_error("execve", prog, errno);
  }
  /* PATH search inside the sandbox, with the sandbox's PATH, remembering the most
   * telling error (EACCES beats ENOENT, as in execvp). */
  int best = ENOENT;
  const char *path = env_path(p);
  char buf[PATH_MAX];
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    if (len > 0 && len + strlen(prog) + 2 < sizeof buf) {
      memcpy(buf, path, len);
      buf[len] = '/';
      strcpy(buf + len + 1, prog);
      execve(buf, p->argv, p->env);
      if (errno == EACCES || errno == ENOEXEC || errno == EPERM) best = errno;
      else if (errno != ENOENT && errno != ENOTDIR && best == ENOENT) best = errno;
    }
    if (!colon) break;
    path = colon + 1;
  }
  return set_error("execve", prog, best);
}
