/* Sandbox lifecycle: detached supervision (detach.c), captured logs (logs.c), joined
 * namespaces (join.c) and exec into a running sandbox (exec.c). The plan lines that set
 * these fields are documented in src/sandbox/plan.ts. */
#ifndef LAB_LIFECYCLE_H
#define LAB_LIFECYCLE_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>

#define MAX_JOINS 4 /* net, ipc, pid and the user namespace that owns them */
#define MAX_AUTOREMOVE 32 /* run dir, record, anonymous volumes, and a group per v1 controller */

enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS, RESTART_UNLESS_STOPPED };

struct join_op {
  int nstype;                 /* CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWPID or CLONE_NEWUSER */
  pid_t pid;                  /* a process of the sandbox to join */
  unsigned long long start;   /* its start time (field 22 of /proc/PID/stat): guards against pid reuse */
  int fd;                     /* the namespace, opened once and kept for restarts (-1 before) */
};

struct lifecycle {
  bool detach;                /* run as a detached supervisor */
  char *run_dir;              /* status.json, events and the ctl socket live here */
  char *log_path;             /* captured stdout/stderr (detached only) */
  unsigned long long log_max; /* bytes per log file before it rotates to PATH.1 */
  unsigned log_files;         /* files kept: PATH and PATH.1 … PATH.(N-1) */
  enum restart_policy restart;
  unsigned restart_max;       /* on-failure:N; 0 = no limit */
  bool keep_stdin;            /* -i: stdin is a pipe the supervisor holds open */
  char *autoremove[MAX_AUTOREMOVE]; /* --rm: paths removed when the sandbox ends for good */
  int n_autoremove;
  char *names_dir;            /* --rm: name links pointing at id are removed too */
  char *id;
  struct join_op joins[MAX_JOINS];
  int n_joins;
  pid_t target;               /* exec: a process of the sandbox to enter */
  unsigned long long target_start;
  pid_t caller;               /* a foreground caller: when it dies, the sandbox ends (and autoremove runs) */
  unsigned long long caller_start;
  unsigned long long cpu_time_ms;  /* --cpu-time of a detached sandbox, per run; 0 = none */
  char *cpu_usage_file;       /* its cgroup's cpuacct.usage (ns) or cpu.stat (usage_usec) */
  unsigned cpu_parallelism;   /* CPUs it can keep busy: how fast the budget can burn */
  unsigned long long output_limit; /* --output-limit of a detached sandbox, per run; 0 = none */
  bool tty;                   /* the program gets a pty from the sandbox's devpts (tty.c) */
  bool tty_stdin;             /* -i with -t: the caller's stdin is relayed into the pty */
  unsigned short tty_rows, tty_cols;
  int tty_master;             /* runtime: the master of the current run's pty, -1 if none */
  bool background;            /* exec -d: the exec'd program runs on without the caller */
  char copy;                  /* cp: 'o' out of the sandbox, 'i' into it (copy.c); 0 = no copy */
  char *copy_path;            /* the path inside the sandbox */
  bool copy_follow;           /* cp -L out: a symlink at copy_path itself is followed */
  bool copy_archive;          /* cp -a: owners travel with the entries (ids inside the sandbox) */
  bool copy_intodir;          /* cp - (a tar archive): PATH must be a directory; many top entries go into it */
};

struct plan;

/* Parses a lifecycle plan line. Returns 1 when handled, 0 when the line is not one of
 * ours, -1 on a malformed line (error set). */
int parse_lifecycle_op(struct plan *p, int line, char **t, int n);

/* join.c: parent side, before clone: enter the namespaces the plan joins (with a joined
 * user namespace they are only opened here; clone_joined enters them). */
int join_namespaces(struct plan *p);
/* join.c: the joined user namespace's fd and pid (-1/0 when the plan joins none). */
int joined_userns(const struct plan *p, pid_t *pid);
/* join.c: with a joined user namespace, clone's stand-in: an intermediate process enters
 * it and the other joined namespaces, then clones the sandbox as the helper's own child
 * (CLONE_PARENT), its new namespaces owned by that user namespace. Returns as clone. */
pid_t clone_joined(struct plan *p);
/* join.c: copy the joined user namespace's uid/gid maps into p (no-op without one). */
int read_joined_maps(struct plan *p);
/* join.c: the joined sandbox's /dev/shm as a detached mount (the "joinshm" op's tree). */
int prepare_joined_shm(struct plan *p);
/* join.c: the start time of pid from /proc/PID/stat (0 if it is gone). */
unsigned long long process_start_time(pid_t pid);
/* join.c: a pidfd for pid, refused when its start time is not start (0: unchecked). */
int open_pidfd_checked(pid_t pid, unsigned long long start);
bool pidfd_alive(int pidfd);

/* main.c: starts one instance of the sandbox and reports "started"/"error" on report_fd. */
int start_sandbox(struct plan *p, const struct sock_fprog *filter, int report_fd, pid_t *child, int *status_fd);

/* detach.c: supervise the sandbox without the caller; returns the helper's exit code. */
int run_detached(struct plan *p, const struct sock_fprog *filter, int ctl);

/* exec.c: run the plan's program inside the running sandbox p->lc.target. */
int run_exec(struct plan *p, const struct sock_fprog *filter, int ctl);

/* copy.c: `lab sandbox cp`: a framed stream of files on stdout (out) or stdin (in). */
int run_copy(struct plan *p, int ctl);

#endif
