/* The detached supervisor: what keeps a `run -d` sandbox alive after the CLI exits.
 *
 * Order, and why:
 *   1. in the helper the CLI started: bind the control socket, open the log, make the
 *      output pipes -- every failure here still reaches the caller as an "error" event;
 *   2. fork, and setsid in the child: the supervisor leaves the caller's session, so
 *      neither Ctrl-C nor a hang-up of the CLI's terminal reaches it; the first process
 *      exits at once and the CLI learns the outcome from events on fd 3;
 *   3. start the sandbox (start_sandbox, as in the foreground), report "started" and
 *      "detached" on fd 3 and close it: from now on the CLI may die freely;
 *   4. loop: reap, copy output into the log, answer the control socket (kill, stop,
 *      status), enforce --timeout and the stop grace period, and restart with
 *      exponential back-off as the policy says (100 ms doubling to 60 s; reset after
 *      10 s of running, as Docker does);
 *   5. when the sandbox ends for good: final status, socket removed, and with --rm
 *      its state removed.
 * The limits the foreground CLI enforces in a run of its own are enforced here, per run:
 * --cpu-time (the cgroup's CPU usage, checked when the rest could first be used up, at
 * most 250 ms apart) and --output-limit (bytes read from the sandbox; the rest is cut).
 * A foreground run through this supervisor names its caller ("caller"): when that CLI
 * dies, even by SIGKILL, the sandbox is killed and its state removed, as a plain
 * foreground run ends with its CLI.
 * Each sandbox is a child of the supervisor with PR_SET_PDEATHSIG=SIGKILL: if the
 * supervisor is killed, its sandbox dies with it and the next CLI command cleans up.
 * status.json is replaced atomically (write a temp file, rename) on every change. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cgroup.h"
#include "detach.h"
#include "logs.h"
#include "pidref.h"
#include "plan.h"
#include "start.h"
#include "supervise.h"
#include "util.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 60000
#define BACKOFF_RESET_MS 10000
#define DEFAULT_STOP_GRACE_MS 10000

struct sup {
  struct plan *p;
  const struct sock_fprog *filter;
  int lsock, sfd, killt, backofft, events;
  int out_r, err_r, stdin_w;
  int ttym;                 /* -t: the current run's pty master (its output is logged as stdout) */
  int callerfd, cput;       /* pidfd of a foreground caller; the --cpu-time check timer */
  unsigned long long cpu_base_us, out_bytes;
  bool caller_gone;
  struct logsink log;
  pid_t child;
  pid_t keeper; /* pasta's keeper of this run (pasta.h), else 0 */
  int status_fd;
  const char *state;
  const char *kill_reason; /* why killt fires: "timeout" or "stop" */
  const char *killed_by;
  int restart_count, backoff_n;
  bool manual_stop, no_restart;
  long long started_at, finished_at, started_mono;
  int exit_code, exit_signal;
  unsigned long long self_start;
  char cgstats[6144]; /* the groups' final counters, kept in the status once they are gone */
  struct attach_set att; /* lab sandbox attach */
  char last_error[START_ERROR_MAX]; /* the last start's "error" event, kept in the status */
};

/* Where an attached client's typing goes: the terminal, or the kept stdin pipe (-i only). */
static int attach_input(struct sup *s) {
  if (!s->p->detach.keep_stdin) return -1;
  return s->p->tty.enabled ? s->ttym : s->stdin_w;
}

static long long wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void arm(int tfd, long long ms) {
  struct itimerspec its = {{0, 0}, {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L}};
  if (ms <= 0) its.it_value.tv_nsec = 1; /* fire now; zero would disarm */
  timerfd_settime(tfd, 0, &its, NULL);
}

static void disarm(int tfd) {
  struct itimerspec its = {{0, 0}, {0, 0}};
  timerfd_settime(tfd, 0, &its, NULL);
}

static int status_json(struct sup *s, char *out, size_t len) {
  char err[2100] = "null";
  if (s->last_error[0]) {
    snprintf(err, sizeof err, "%s", s->last_error);
    char *nl = strchr(err, '\n');
    if (nl) *nl = '\0';
  }
  return snprintf(out, len,
                  "{\"state\":\"%s\",\"pid\":%d,\"supervisorPid\":%d,\"supervisorStart\":%llu,\"startedAt\":%lld,"
                  "\"finishedAt\":%lld,\"exitCode\":%d,\"signal\":%d,\"killedBy\":%s%s%s,\"restartCount\":%d,"
                  "\"manualStop\":%s,\"error\":%s%s%s}\n",
                  s->state, (int)s->child, (int)getpid(), s->self_start, s->started_at, s->finished_at, s->exit_code,
                  s->exit_signal, s->killed_by ? "\"" : "", s->killed_by ? s->killed_by : "null", s->killed_by ? "\"" : "",
                  s->restart_count, s->manual_stop ? "true" : "false", err, s->cgstats[0] ? ",\"cgroup\":" : "", s->cgstats);
}

static void write_status(struct sup *s) {
  char json[10240], tmp[4200], dst[4200];
  int n = status_json(s, json, sizeof json);
  if (n < 0 || (size_t)n >= sizeof json) return;
  snprintf(tmp, sizeof tmp, "%s/status.json.tmp", s->p->detach.run_dir);
  snprintf(dst, sizeof dst, "%s/status.json", s->p->detach.run_dir);
  autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return;
  if (write_all(fd, json, (size_t)n) == 0) rename(tmp, dst);
}

static void event(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(struct sup *s, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0 && s->events >= 0) write_all(s->events, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static int make_socket(const char *run_dir) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (snprintf(addr.sun_path, sizeof addr.sun_path, "%s/ctl", run_dir) >= (int)sizeof addr.sun_path)
    return set_error_msg("bind", run_dir, "state directory path too long for a control socket");
  unlink(addr.sun_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return set_error("socket", "ctl", errno);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || chmod(addr.sun_path, 0600) < 0 || listen(fd, 64) < 0) {
    int e = errno;
    close(fd);
    return set_error("bind", addr.sun_path, e);
  }
  return fd;
}

/* The cgroup's CPU time in µs: cpu.stat usage_usec (v2) or cpuacct.usage in ns (v1). */
static unsigned long long cpu_usage_us(const char *file) {
  char buf[2048];
  if (read_small_file(file, buf, sizeof buf) <= 0) return 0;
  char *u = strstr(buf, "usage_usec ");
  if (u) return strtoull(u + 11, NULL, 10);
  return strtoull(buf, NULL, 10) / 1000;
}

static void arm_cpu_check(struct sup *s, unsigned long long used_us) {
  unsigned long long limit_us = s->p->detach.cpu_time_ms * 1000ULL;
  long long left_ms = (long long)((limit_us - used_us) / 1000 / s->p->detach.cpu_parallelism);
  arm(s->cput, left_ms < 5 ? 5 : left_ms > 250 ? 250 : left_ms);
}

/* Moves what fd has into the log; past --output-limit the rest is cut and the run ends. */
static long pump(struct sup *s, char stream, int *fd) {
  static char buf[16384];
  ssize_t r = read(*fd, buf, sizeof buf);
  if (r <= 0) {
    /* a pty master reports EIO once the sandbox closed its side: stop polling it */
    if (fd == &s->ttym && (r == 0 || (errno != EAGAIN && errno != EINTR))) {
      close(s->ttym);
      s->ttym = -1;
    }
    return r;
  }
  unsigned long long lim = s->p->detach.output_limit;
  size_t keep = (size_t)r;
  if (lim) {
    unsigned long long room = s->out_bytes >= lim ? 0 : lim - s->out_bytes;
    if (keep > room) {
      keep = (size_t)room;
      if (s->child > 0 && !s->killed_by) {
        s->killed_by = "output-limit";
        kill(s->child, SIGKILL);
      }
    }
    s->out_bytes += keep;
  }
  if (keep && s->log.fd >= 0) log_append(&s->log, stream, buf, keep);
  if (keep && s->att.n) attach_broadcast(&s->att, stream, buf, keep);
  return r;
}

static void drain_output(struct sup *s) {
  while (s->out_r >= 0 && pump(s, 'o', &s->out_r) > 0) {}
  while (s->err_r >= 0 && pump(s, 'e', &s->err_r) > 0) {}
  while (s->ttym >= 0 && pump(s, 'o', &s->ttym) > 0) {}
  if (s->ttym >= 0) close(s->ttym);
  s->ttym = -1;
}

static void request_stop(struct sup *s, long long grace_ms) {
  s->manual_stop = true;
  if (s->child > 0) {
    kill(s->child, SIGTERM);
    s->kill_reason = "stop";
    arm(s->killt, grace_ms);
  } else {
    disarm(s->backofft); /* a pending restart is cancelled */
    s->no_restart = true;
  }
}

/* Returns true when the client stays connected (attach). */
static bool handle_client(struct sup *s, int c) {
  char buf[128];
  size_t got = 0;
  struct pollfd pfd = {c, POLLIN, 0};
  /* The CLI writes its one request line right after connecting. */
  while (got < sizeof buf - 1 && !memchr(buf, '\n', got) && poll(&pfd, 1, 1000) > 0) {
    ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  buf[got] = '\0';
  char reply[3100];
  int sig;
  long long ms;
  if (sscanf(buf, "kill %d", &sig) == 1 && sig > 0 && sig < NSIG) {
    if (s->child <= 0) {
      snprintf(reply, sizeof reply, "error not-running\n");
    } else {
      /* Docker's rule: a sandbox killed with its stop or kill signal stays down. */
      if (sig == SIGKILL || sig == SIGTERM) s->manual_stop = true;
      if (sig == SIGKILL) s->killed_by = "kill";
      kill(s->child, sig);
      snprintf(reply, sizeof reply, "ok\n");
    }
  } else if (sscanf(buf, "stop %lld", &ms) == 1 && ms >= 0) {
    request_stop(s, ms);
    snprintf(reply, sizeof reply, "ok\n");
  } else if (strncmp(buf, "status", 6) == 0) {
    status_json(s, reply, sizeof reply);
  } else if (strcmp(buf, "attach\n") == 0) {
    snprintf(reply, sizeof reply, "ok %s %s\n", s->p->tty.enabled ? "tty" : "notty", s->p->detach.keep_stdin ? "stdin" : "nostdin");
    /* the reply first, while the socket still blocks: then frames only */
    if (s->att.n >= ATTACH_MAX) snprintf(reply, sizeof reply, "error too-many-attached\n");
    else if (write_all(c, reply, strlen(reply)) == 0 && attach_add(&s->att, c)) return true;
    else return false;
  } else {
    snprintf(reply, sizeof reply, "error unknown-command\n");
  }
  write_all(c, reply, strlen(reply));
  return false;
}

static void on_exit_status(struct sup *s, int ws) {
  if (s->status_fd >= 0) {
    char line[64];
    ssize_t r = read(s->status_fd, line, sizeof line - 1);
    int st;
    if (r > 0) {
      line[r] = '\0';
      if (sscanf(line, "status %d", &st) == 1) ws = st;
    }
    close(s->status_fd);
    s->status_fd = -1;
  }
  s->exit_signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
  s->exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + s->exit_signal;
  s->finished_at = wall_ms();
  s->child = 0;
  disarm(s->killt);
  if (s->cput >= 0) disarm(s->cput);
}

static bool should_restart(struct sup *s) {
  if (s->manual_stop || s->no_restart) return false;
  switch (s->p->detach.restart) {
    case RESTART_NO: return false;
    case RESTART_ON_FAILURE:
      return s->exit_code != 0 && (s->p->detach.restart_max == 0 || (unsigned)s->restart_count < s->p->detach.restart_max);
    case RESTART_ALWAYS:
    case RESTART_UNLESS_STOPPED: return true;
  }
  return false;
}

static long long next_backoff(struct sup *s) {
  if (mono_ms() - s->started_mono >= BACKOFF_RESET_MS) s->backoff_n = 0;
  long long d = BACKOFF_FIRST_MS;
  for (int i = 0; i < s->backoff_n && d < BACKOFF_MAX_MS; i++) d *= 2;
  s->backoff_n++;
  return d > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d;
}

static void began(struct sup *s, const struct running *run) {
  s->child = run->pid;
  s->keeper = run->keeper;
  s->status_fd = run->status_fd;
  s->state = "running";
  s->killed_by = NULL;
  s->started_at = wall_ms();
  s->started_mono = mono_ms();
  s->finished_at = 0;
  if (s->p->timeout_ms) {
    s->kill_reason = "timeout";
    arm(s->killt, (long long)s->p->timeout_ms);
  }
  s->ttym = run->tty_master;
  s->out_bytes = 0;
  if (s->p->detach.cpu_time_ms && s->cput >= 0) {
    s->cpu_base_us = cpu_usage_us(s->p->detach.cpu_usage_file);
    arm_cpu_check(s, 0);
  }
  event(s, "{\"event\":\"started\",\"pid\":%d,\"at\":%lld,\"restartCount\":%d}\n", (int)run->pid, s->started_at, s->restart_count);
  write_status(s);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  if (type != FTW_DP) {
    unlink(path);
    return 0;
  }
  /* A cgroup directory (autoremove of a foreground run) is busy until the kernel has
   * let go of the last task; it is empty by now, so this is a matter of milliseconds. */
  for (int i = 0; i < 50 && rmdir(path) < 0 && errno == EBUSY; i++) usleep(2000);
  return 0;
}

static void remove_state(struct sup *s) {
  const struct detach_plan *d = &s->p->detach;
  if (d->names_dir && d->id) {
    DIR *dir = opendir(d->names_dir);
    struct dirent *e;
    char target[80];
    while (dir && (e = readdir(dir))) {
      ssize_t n = readlinkat(dirfd(dir), e->d_name, target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      if (strcmp(target, d->id) == 0) unlinkat(dirfd(dir), e->d_name, 0);
    }
    if (dir) closedir(dir);
  }
  /* FTW_PHYS: never follow a symlink out of the state directory; FTW_MOUNT: never cross into a mount. */
  for (int i = 0; i < d->n_autoremove; i++) nftw(d->autoremove[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int supervise_loop(struct sup *s) {
  for (;;) {
    if (s->child > 0) {
      int ws;
      struct rusage ru;
      pid_t w = wait4(s->child, &ws, WNOHANG, &ru);
      if (w == s->child) {
        stop_pasta(&s->keeper); /* each run has its own namespace, and pasta */
        drain_output(s);
        on_exit_status(s, ws);
        if (!s->killed_by && s->kill_reason && s->manual_stop) s->killed_by = "stop";
        event(s, "{\"event\":\"exit\",\"exitCode\":%d,\"signal\":%d,\"at\":%lld}\n", s->exit_code, s->exit_signal, s->finished_at);
        if (!should_restart(s)) break;
        long long delay = next_backoff(s);
        s->state = "restarting";
        event(s, "{\"event\":\"restarting\",\"delayMs\":%lld,\"at\":%lld}\n", delay, wall_ms());
        write_status(s);
        arm(s->backofft, delay);
      }
    } else if (s->no_restart || s->manual_stop) {
      break;
    }
    struct pollfd pfd[9 + ATTACH_MAX] = {{s->sfd, POLLIN, 0}, {s->lsock, POLLIN, 0}, {s->out_r, POLLIN, 0},
                                         {s->err_r, POLLIN, 0}, {s->killt, POLLIN, 0}, {s->backofft, POLLIN, 0},
                                         {s->ttym, POLLIN, 0}, {s->callerfd, POLLIN, 0}, {s->cput, POLLIN, 0}};
    /* attached clients: their frames, or the program's input while their typing waits */
    int in_fd = attach_input(s), nat = s->att.n, client_fd[ATTACH_MAX];
    for (int i = 0; i < nat; i++) {
      struct attached *c = &s->att.c[i];
      client_fd[i] = c->fd;
      pfd[9 + i] = c->npend && in_fd >= 0 ? (struct pollfd){in_fd, POLLOUT, 0} : (struct pollfd){c->fd, POLLIN, 0};
    }
    if (poll(pfd, 9 + nat, -1) < 0) continue;
    /* a drop moves the last client into the dropped one's place: find each by its fd */
    for (int i = 0; i < nat; i++) {
      if (!pfd[9 + i].revents) continue;
      for (int k = 0; k < s->att.n; k++) {
        if (s->att.c[k].fd != client_fd[i]) continue;
        if (pfd[9 + i].fd == client_fd[i]) attach_read(&s->att, k, attach_input(s), s->ttym);
        else attach_flush(&s->att, k, attach_input(s), s->ttym);
        break;
      }
    }
    if (pfd[6].revents & (POLLIN | POLLHUP | POLLERR)) pump(s, 'o', &s->ttym);
    if (pfd[7].revents & POLLIN) {
      /* The foreground caller is gone (its pidfd is readable): nobody follows this
       * sandbox any more. End it for good, as its own supervisor would. */
      close(s->callerfd);
      s->callerfd = -1;
      s->caller_gone = true;
      s->manual_stop = true;
      if (s->child > 0) {
        s->killed_by = "caller-exit";
        kill(s->child, SIGKILL);
      } else {
        disarm(s->backofft);
        s->no_restart = true;
      }
    }
    if (pfd[8].revents & POLLIN) {
      unsigned long long x;
      if (read(s->cput, &x, sizeof x) > 0 && s->child > 0) {
        unsigned long long now = cpu_usage_us(s->p->detach.cpu_usage_file);
        unsigned long long used = now > s->cpu_base_us ? now - s->cpu_base_us : 0;
        if (used >= s->p->detach.cpu_time_ms * 1000ULL) {
          if (!s->killed_by) s->killed_by = "cpu-time";
          kill(s->child, SIGKILL);
        } else {
          arm_cpu_check(s, used);
        }
      }
    }
    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(s->sfd, &si, sizeof si) == sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) request_stop(s, DEFAULT_STOP_GRACE_MS);
        else if (sig != SIGCHLD && sig != SIGHUP && s->child > 0) kill(s->child, sig);
      }
    }
    if (pfd[1].revents & POLLIN) {
      int c = accept4(s->lsock, NULL, NULL, SOCK_CLOEXEC);
      if (c >= 0 && !handle_client(s, c)) close(c);
    }
    if (pfd[2].revents & (POLLIN | POLLHUP)) pump(s, 'o', &s->out_r);
    if (pfd[3].revents & (POLLIN | POLLHUP)) pump(s, 'e', &s->err_r);
    if (pfd[4].revents & POLLIN) {
      unsigned long long x;
      if (read(s->killt, &x, sizeof x) > 0 && s->child > 0) {
        s->killed_by = s->kill_reason;
        kill(s->child, SIGKILL);
      }
    }
    if (pfd[5].revents & POLLIN) {
      unsigned long long x;
      if (read(s->backofft, &x, sizeof x) > 0 && s->child <= 0 && !s->manual_stop) {
        s->restart_count++;
        struct running run;
        int r = start_sandbox(s->p, s->filter, s->events, &run, s->last_error);
        if (r < 0) {
          /* the set-up failed this time: count it as a failed run and back off again */
          s->exit_code = 125;
          s->exit_signal = 0;
          s->finished_at = wall_ms();
          s->started_mono = mono_ms();
          if (!should_restart(s)) break;
          arm(s->backofft, next_backoff(s));
        } else {
          began(s, &run);
          if (r == 1) s->no_restart = true; /* the program cannot be executed: do not loop */
        }
      }
    }
  }
  s->state = "exited";
  s->child = 0;
  return s->exit_code;
}

int run_detached(struct plan *p, const struct sock_fprog *filter, int ctl) {
  set_stage("detach");
  static struct sup s;
  memset(&s, 0, sizeof s);
  s.p = p;
  s.filter = filter;
  s.status_fd = -1;
  s.stdin_w = -1;
  s.ttym = -1;
  s.callerfd = -1;
  s.cput = -1;
  s.state = "created";
  char path[4200];
  /* Until the fork, everything opened here is the first process's: whatever is not
   * handed to the supervisor closes when this function returns. */
  autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    set_error("open", "/dev/null", errno);
    return report_error(ctl, 125);
  }
  autoclose int out_r = -1, out_w = -1, err_r = -1, err_w = -1, in_r = -1, in_w = -1;
  if (open_pipe(&out_r, &out_w, "stdout pipe") < 0 || open_pipe(&err_r, &err_w, "stderr pipe") < 0 ||
      (p->detach.keep_stdin && open_pipe(&in_r, &in_w, "stdin pipe") < 0))
    return report_error(ctl, 125);
  if ((s.lsock = make_socket(p->detach.run_dir)) < 0) return report_error(ctl, 125);
  snprintf(path, sizeof path, "%s/events", p->detach.run_dir);
  s.events = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (s.events < 0) {
    set_error("open", path, errno);
    return report_error(ctl, 125);
  }
  if (p->detach.log_path && log_open(&s.log, p->detach.log_path, p->detach.log_max, p->detach.log_files) < 0)
    return report_error(ctl, 125);
  if (!p->detach.log_path) s.log.fd = -1;
  /* The caller's pidfd is taken now, while it is surely alive and waiting for us. */
  if (p->detach.caller && (s.callerfd = open_pidfd_checked(p->detach.caller, p->detach.caller_start)) < 0)
    return report_error(ctl, 125);
  s.killt = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  s.backofft = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (p->detach.cpu_time_ms) s.cput = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (s.killt < 0 || s.backofft < 0 || (p->detach.cpu_time_ms && s.cput < 0))
    {
    set_error("timerfd_create", "supervisor timers", errno);
    return report_error(ctl, 125);
  }
  sigset_t set;
  forwarded_signals(&set);
  s.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (s.sfd < 0) {
    set_error("signalfd", "forwarded signals", errno);
    return report_error(ctl, 125);
  }
  pid_t f = fork();
  if (f < 0) {
    set_error("fork", "supervisor", errno);
    return report_error(ctl, 125);
  }
  if (f > 0) return 0; /* the supervisor carries on; it reports on ctl */
  setsid();
  if (chdir("/") < 0) {}
  /* The sandbox inherits 0-2: stdin from /dev/null (or the kept pipe), output into the pipes we log. */
  dup2(p->detach.keep_stdin ? in_r : devnull, 0);
  dup2(out_w, 1);
  dup2(err_w, 2);
  close_now(&out_w);
  close_now(&err_w);
  close_now(&in_r);
  close_now(&devnull);
  s.out_r = take_fd(&out_r);
  s.err_r = take_fd(&err_r);
  s.stdin_w = take_fd(&in_w);
  if (s.stdin_w >= 0) fcntl(s.stdin_w, F_SETFL, O_NONBLOCK); /* attached typing must never block the supervisor */
  fcntl(s.out_r, F_SETFL, O_NONBLOCK);
  fcntl(s.err_r, F_SETFL, O_NONBLOCK);
  s.self_start = process_start_time(getpid());

  struct running run;
  int r = start_sandbox(p, filter, ctl, &run, s.last_error);
  if (r < 0) {
    s.exit_code = 125;
    s.finished_at = wall_ms();
    s.state = "exited";
    /* the caller has the whole event on fd 3; the status names the stage, as it always has */
    const char *stage = last_error()->stage;
    snprintf(s.last_error, sizeof s.last_error, "{\"event\":\"error\",\"stage\":\"%s\"}", stage ? stage : "");
    write_status(&s);
    close(ctl);
    snprintf(path, sizeof path, "%s/ctl", p->detach.run_dir);
    unlink(path);
    return 125;
  }
  began(&s, &run);
  if (r == 1) s.no_restart = true;
  char line[96];
  int n = snprintf(line, sizeof line, "{\"event\":\"detached\",\"supervisorPid\":%d}\n", (int)getpid());
  write_all(ctl, line, (size_t)n);
  close(ctl);

  int code = supervise_loop(&s);
  /* Nothing runs any more and nothing restarts: the groups go now, not at the next
   * sweep (a later start makes new ones). Before the final status, so that whoever
   * reads "exited" (and may start the sandbox again) finds them gone. */
  if (p->n_cgstats) cgroup_stats_json(p, s.cgstats, sizeof s.cgstats);
  remove_cgroups(p);
  write_status(&s);
  close(s.lsock);
  snprintf(path, sizeof path, "%s/ctl", p->detach.run_dir);
  unlink(path);
  /* With a foreground caller, the caller removes the state itself unless it died. */
  if (p->detach.n_autoremove && (!p->detach.caller || s.caller_gone)) remove_state(&s);
  return code;
}
