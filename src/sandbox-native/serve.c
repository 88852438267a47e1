/* lab-helper serve: a fork server for batches (grading, CI, labs).
 *
 * Why: Node's spawn() forks the whole Node process (~100 MB of page tables) for every
 * sandbox, which costs more main-thread time than the sandbox itself and caps a batch
 * well below what the kernel can do. This process is tiny: it forks one ordinary
 * helper per sandbox (helper_run(), exactly the `lab-helper run` path, with fd 3 a
 * socket to us) and multiplexes the helpers' events and output over one socket.
 *
 * Frames on fd 3, each a header line and then LEN raw bytes:
 *   from lab:  run ID PLANLEN INPUTLEN\n<plan><input>     kill ID SIGNUM\n
 *   to lab:    ev ID LEN\n<event lines>   out ID LEN\n<stdout>   err ID LEN\n<stderr>
 *              end ID STATUS\n  (the helper exited: all of its frames came before)
 * When fd 3 closes (lab died), this process exits; every helper then sees its own
 * socket close and kills its sandbox, as it does when a CLI dies.
 * Single-threaded: one poll loop; writes to lab block (back-pressure on the sandboxes). */
#define _GNU_SOURCE
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "syscalls.h"
#include "util.h"

#define CTL 3
#define MAX_JOBS 512
#define HDR_MAX 128

struct job {
  unsigned long id;
  pid_t pid;
  int ev, out, err, in; /* our ends; -1 once closed */
  char *input;          /* stdin still to write */
  size_t input_len, input_off;
  int status;
  bool reaped;
};

static struct job jobs[MAX_JOBS];
static int njobs;

static void frame(const char *kind, unsigned long id, const char *data, size_t len) {
  char hdr[HDR_MAX];
  int n = snprintf(hdr, sizeof hdr, "%s %lu %zu\n", kind, id, len);
  if (write_all(CTL, hdr, (size_t)n) < 0 || (len && write_all(CTL, data, len) < 0)) _exit(0); /* lab is gone */
}

static void finish_if_done(int i) {
  struct job *j = &jobs[i];
  if (!j->reaped || j->ev >= 0 || j->out >= 0 || j->err >= 0) return;
  close_now(&j->in);
  free(j->input);
  char hdr[HDR_MAX];
  int n = snprintf(hdr, sizeof hdr, "end %lu %d\n", j->id, j->status);
  if (write_all(CTL, hdr, (size_t)n) < 0) _exit(0);
  jobs[i] = jobs[--njobs];
}

static int start_job(unsigned long id, const char *plan, size_t plan_len, const char *input, size_t input_len) {
  if (njobs >= MAX_JOBS) {
    char ev[160];
    int n = snprintf(ev, sizeof ev, "{\"event\":\"error\",\"stage\":\"serve\",\"call\":\"run\",\"path\":\"\",\"errno\":0,\"errnoName\":\"\",\"message\":\"more than %d sandboxes at once\"}\n", MAX_JOBS);
    frame("ev", id, ev, (size_t)n);
    char hdr[HDR_MAX];
    n = snprintf(hdr, sizeof hdr, "end %lu 125\n", id);
    return write_all(CTL, hdr, (size_t)n);
  }
  /* ours: ev, out_r, err_r, in_w; the helper's: its fd 3, stdout, stderr, stdin */
  autoclose int ev = -1, ctl = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1, in_r = -1, in_w = -1;
  if (open_socketpair(&ev, &ctl, "job control socket") < 0 || open_pipe(&out_r, &out_w, "job stdout") < 0 ||
      open_pipe(&err_r, &err_w, "job stderr") < 0 || open_pipe(&in_r, &in_w, "job stdin") < 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0) return set_error("fork", "job", errno);
  if (pid == 0) {
    /* The per-sandbox helper: stdio and fd 3 as `lab-helper run` would have them. */
    if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0 || dup2(ctl, 3) < 0) _exit(125);
    sys_close_range(4, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    _exit(helper_run());
  }
  struct job *j = &jobs[njobs++];
  *j = (struct job){.id = id, .pid = pid, .ev = take_fd(&ev), .out = take_fd(&out_r), .err = take_fd(&err_r), .in = take_fd(&in_w), .status = -1};
  if (write_all(j->ev, plan, plan_len) < 0) { /* the helper died at once: its status tells */
  }
  /* From here on we only read them when poll says so; never block the loop on one job. */
  fcntl(j->ev, F_SETFL, O_NONBLOCK);
  fcntl(j->out, F_SETFL, O_NONBLOCK);
  fcntl(j->err, F_SETFL, O_NONBLOCK);
  if (input_len) {
    j->input = malloc(input_len);
    if (j->input) {
      memcpy(j->input, input, input_len);
      j->input_len = input_len;
      fcntl(j->in, F_SETFL, O_NONBLOCK);
    }
  }
  if (!j->input) close_now(&j->in); /* no input: the sandbox reads EOF */
  return 0;
}

static struct job *find(unsigned long id) {
  for (int i = 0; i < njobs; i++)
    if (jobs[i].id == id) return &jobs[i];
  return NULL;
}

/* Parses complete frames from buf; returns bytes consumed. */
static size_t handle_requests(char *buf, size_t len) {
  size_t used = 0;
  for (;;) {
    char *nl = memchr(buf + used, '\n', len - used);
    if (!nl) return used;
    size_t hlen = (size_t)(nl - (buf + used));
    char hdr[HDR_MAX];
    if (hlen >= sizeof hdr) _exit(2); /* not our protocol */
    memcpy(hdr, buf + used, hlen);
    hdr[hlen] = '\0';
    unsigned long id, a, b;
    if (sscanf(hdr, "run %lu %lu %lu", &id, &a, &b) == 3) {
      if (len - used - hlen - 1 < a + b) return used; /* wait for the rest */
      char *body = nl + 1;
      if (start_job(id, body, a, body + a, b) < 0) {
        write_error_event(CTL); /* not framed: lab treats it as fatal for the server */
        _exit(125);
      }
      used += hlen + 1 + a + b;
    } else if (sscanf(hdr, "kill %lu %lu", &id, &a) == 2) {
      struct job *j = find(id);
      if (j && j->ev >= 0) {
        char cmd[32];
        int n = snprintf(cmd, sizeof cmd, "kill %lu\n", a);
        write_all(j->ev, cmd, (size_t)n);
      }
      used += hlen + 1;
    } else {
      _exit(2);
    }
  }
}

int serve(void) {
  signal(SIGPIPE, SIG_IGN);
  /* Interrupts are lab's to decide (it kills what it wants through "kill"). */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return 125;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  char io[65536];
  if (!buf) return 125;
  struct pollfd *pfd = malloc(sizeof *pfd * (2 + 4 * MAX_JOBS));
  if (!pfd) return 125;
  unsigned long ids[MAX_JOBS];
  for (;;) {
    int n = 0;
    pfd[n++] = (struct pollfd){CTL, POLLIN, 0};
    pfd[n++] = (struct pollfd){sfd, POLLIN, 0};
    /* The jobs polled this round, by id: requests handled below may add jobs, and
     * those have no poll slot yet (reading one on a stale slot would block us all). */
    int polled = njobs;
    for (int i = 0; i < njobs; i++) {
      ids[i] = jobs[i].id;
      pfd[n++] = (struct pollfd){jobs[i].ev, POLLIN, 0};
      pfd[n++] = (struct pollfd){jobs[i].out, POLLIN, 0};
      pfd[n++] = (struct pollfd){jobs[i].err, POLLIN, 0};
      pfd[n++] = (struct pollfd){jobs[i].input ? jobs[i].in : -1, POLLOUT, 0};
    }
    if (poll(pfd, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      return 125;
    }
    if (pfd[0].revents) {
      if (len + sizeof io > cap) {
        cap = (len + sizeof io) * 2;
        char *nb = realloc(buf, cap);
        if (!nb) return 125;
        buf = nb;
      }
      ssize_t r = read(CTL, buf + len, cap - len);
      if (r <= 0) return 0; /* lab is gone: our helpers notice and end their sandboxes */
      len += (size_t)r;
      size_t used = handle_requests(buf, len);
      memmove(buf, buf + used, len - used);
      len -= used;
    }
    /* Job fds, in the order they were polled (looked up by id). */
    int k = 2;
    for (int i = 0; i < polled; i++, k += 4) {
      struct job *j = find(ids[i]);
      if (!j) continue;
      int *fds[3] = {&j->ev, &j->out, &j->err};
      const char *kinds[3] = {"ev", "out", "err"};
      for (int f = 0; f < 3; f++) {
        if (*fds[f] < 0 || !(pfd[k + f].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t r = read(*fds[f], io, sizeof io);
        if (r > 0)
          frame(kinds[f], j->id, io, (size_t)r);
        else if (r == 0 || (errno != EINTR && errno != EAGAIN))
          close_now(fds[f]);
      }
      if (j->input && (pfd[k + 3].revents & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t w = write(j->in, j->input + j->input_off, j->input_len - j->input_off);
        if (w > 0) j->input_off += (size_t)w;
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || j->input_off == j->input_len) {
          free(j->input);
          j->input = NULL;
          close_now(&j->in);
        }
      }
    }
    if (pfd[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < njobs; i++) {
          if (jobs[i].pid != w) continue;
          jobs[i].reaped = true;
          jobs[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
      }
    }
    for (int i = njobs - 1; i >= 0; i--) finish_if_done(i);
  }
}
