/* The parent side of a foreground run and of an exec, after the program started:
 * forwarded signals, commands from the caller, --timeout, reaping and the "exit" event
 * (supervise.h). */
#define _GNU_SOURCE
#include "supervise.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "tty.h"
#include "util.h"

static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

void forwarded_signals(sigset_t *set) {
  sigemptyset(set);
  for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++) sigaddset(set, fwd[i]);
  sigaddset(set, SIGCHLD);
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* A command from the caller on the control socket: "kill SIGNUM". */
static void handle_command(char *line, pid_t child, const char **killed_by) {
  int sig;
  if (sscanf(line, "kill %d", &sig) == 1 && sig > 0 && sig < NSIG) {
    if (sig == SIGKILL) *killed_by = "caller";
    kill(child, sig);
  }
}

int supervise(const struct running *run, int ctl, const struct plan *p, bool *caller_gone) {
  set_stage("supervise");
  long long start = now_us();
  pid_t child = run->pid;
  autoclose int status_fd = run->status_fd;
  sigset_t set;
  forwarded_signals(&set);
  autoclose int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  autoclose int tfd = -1;
  if (p->timeout_ms) {
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)(p->timeout_ms / 1000), .tv_nsec = (long)(p->timeout_ms % 1000) * 1000000L}};
    if (tfd >= 0) timerfd_settime(tfd, 0, &its, NULL);
  }
  const char *killed_by = NULL;
  bool ctl_open = true;
  char cmdbuf[256];
  size_t cmdlen = 0;
  int wstatus = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  /* -t (tty.c): relay the pty with the caller's terminal; without a pty a no-op. */
  struct tty_relay tr;
  tty_relay_begin(&tr, run->tty_master, p->tty.forward_stdin);
  for (;;) {
    pid_t w = wait4(child, &wstatus, WNOHANG, &ru);
    if (w == child) break;
    if (w < 0 && errno != EINTR) break;
    struct pollfd pfd[5] = {{sfd, POLLIN, 0}, {ctl_open ? ctl : -1, POLLIN, 0}, {tfd, POLLIN, 0}, {tr.master, POLLIN, 0}, {tr.in, POLLIN, 0}};
    if (poll(pfd, 5, -1) < 0) continue;
    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        /* With a pty the kernel signals the sandbox's foreground group itself on a resize. */
        if (si.ssi_signo == SIGWINCH && tr.master >= 0) tty_relay_resize(&tr);
        else if (si.ssi_signo != SIGCHLD) kill(child, (int)si.ssi_signo);
      }
    }
    tty_relay_pump(&tr, pfd[3].revents, pfd[4].revents);
    if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(ctl, cmdbuf + cmdlen, sizeof cmdbuf - 1 - cmdlen);
      if (r <= 0) {
        /* The caller is gone: nobody will collect the result, end the sandbox now. */
        ctl_open = false;
        killed_by = "caller-exit";
        kill(child, SIGKILL);
      } else {
        cmdlen += (size_t)r;
        cmdbuf[cmdlen] = '\0';
        char *nl;
        while ((nl = strchr(cmdbuf, '\n'))) {
          *nl = '\0';
          handle_command(cmdbuf, child, &killed_by);
          memmove(cmdbuf, nl + 1, strlen(nl + 1) + 1);
          cmdlen = strlen(cmdbuf);
        }
        if (cmdlen >= sizeof cmdbuf - 1) cmdlen = 0;
      }
    }
    if (tfd >= 0 && (pfd[2].revents & POLLIN)) {
      killed_by = "timeout";
      kill(child, SIGKILL);
      close_now(&tfd);
    }
  }
  tty_relay_end(&tr);
  pid_t keeper = run->keeper;
  stop_pasta(&keeper); /* the sandbox is over: its network too */
  long long wall = now_us() - start;
  /* With an init as PID 1, the program's own status comes from the init. */
  if (status_fd >= 0) {
    char line[64];
    ssize_t r = read(status_fd, line, sizeof line - 1);
    int st;
    if (r > 0) {
      line[r] = '\0';
      if (sscanf(line, "status %d", &st) == 1) wstatus = st;
    }
  }
  /* A one-shot run's groups end here, before lab hears of the exit (cgroup.c). */
  char cg[6144] = "";
  if (p->cgfinish && ctl_open) finish_cgroups(p, cg, sizeof cg);
  char out[6656];
  int code = -1, sig = 0;
  if (WIFEXITED(wstatus))
    code = WEXITSTATUS(wstatus);
  else if (WIFSIGNALED(wstatus))
    sig = WTERMSIG(wstatus);
  int n = snprintf(out, sizeof out,
                   "{\"event\":\"exit\",\"exitCode\":%d,\"signal\":%d,\"coreDumped\":%s,\"killedBy\":%s%s%s,"
                   "\"wallUs\":%lld,\"userUs\":%lld,\"sysUs\":%lld,\"maxRssKb\":%ld%s}\n",
                   code, sig, (sig && WCOREDUMP(wstatus)) ? "true" : "false", killed_by ? "\"" : "",
                   killed_by ? killed_by : "null", killed_by ? "\"" : "", wall,
                   (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
                   (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec, ru.ru_maxrss, cg);
  if (n >= (int)sizeof out) n = (int)sizeof out - 1; /* cannot happen: cg is the smaller */
  if (ctl_open) write_all(ctl, out, (size_t)n);
  if (caller_gone) *caller_gone = !ctl_open;
  return code >= 0 ? code : 128 + sig;
}
