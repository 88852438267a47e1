/* The detached supervisor (detach.c): a sandbox that outlives the CLI that started it
 * (`run -d`), and foreground runs that need one (named volumes, joined namespaces).
 * Its plan lines (grammar in src/sandbox/plan.ts, parsed by lifecycle_plan.c):
 *   detach RUN_DIR | log FILE MAXBYTES FILES | restart POLICY MAX | keepstdin
 *   autoremove PATH | names DIR ID | caller PID STARTTIME
 *   cputime MS USAGE_FILE CPUS | outputlimit BYTES */
#ifndef LAB_DETACH_H
#define LAB_DETACH_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>

#define MAX_AUTOREMOVE 32 /* run dir, record, anonymous volumes, and a group per v1 controller */

enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS, RESTART_UNLESS_STOPPED };

struct detach_plan {
  bool enabled;               /* run as a detached supervisor */
  char *run_dir;              /* status.json, events and the ctl socket live here */
  char *log_path;             /* captured stdout/stderr */
  unsigned long long log_max; /* bytes per log file before it rotates to PATH.1 */
  unsigned log_files;         /* files kept: PATH and PATH.1 … PATH.(N-1) */
  enum restart_policy restart;
  unsigned restart_max;       /* on-failure:N; 0 = no limit */
  bool keep_stdin;            /* -i: stdin is a pipe the supervisor holds open */
  char *autoremove[MAX_AUTOREMOVE]; /* --rm: paths removed when the sandbox ends for good */
  int n_autoremove;
  char *names_dir;            /* --rm: name links pointing at id are removed too */
  char *id;
  pid_t caller;               /* a foreground caller: when it dies, the sandbox ends (and autoremove runs) */
  unsigned long long caller_start;
  unsigned long long cpu_time_ms;  /* --cpu-time, per run; 0 = none */
  char *cpu_usage_file;       /* its cgroup's cpuacct.usage (ns) or cpu.stat (usage_usec) */
  unsigned cpu_parallelism;   /* CPUs it can keep busy: how fast the budget can burn */
  unsigned long long output_limit; /* --output-limit, per run; 0 = none */
};

struct plan;

/* Supervises the sandbox without the caller; returns the helper's exit code. */
int run_detached(struct plan *p, const struct sock_fprog *filter, int ctl);

#endif
