/* Published TCP ports of rootless sandboxes (relay.h).
 *
 * Why not pasta's -t: the pasta of Debian 12 (2023-03) answers a published port from the
 * host's own addresses, but connections from other hosts stall. So the keeper's init
 * (pasta.c), which runs as the caller in the host's network namespace, binds each host
 * port itself before pasta starts (a port in use is an error at start, not a silent
 * failure), and once the sandbox's interface is up it enters the sandbox's network
 * namespace (it is privileged in the sandbox's user namespace, which owns it): the
 * listeners stay the host's, and every socket it makes from then on is the sandbox's.
 * Each accepted connection gets a connection to 127.0.0.1:PORT inside, and bytes are
 * moved both ways with splice(2) through a pipe per direction (no copy to user space),
 * with half-closes passed on (shutdown SHUT_WR) and a reset answered by a reset. The
 * sandbox sees its clients come from 127.0.0.1, as with pasta's own forwarding of the
 * host's connections (and Docker's userland proxy, which shows the gateway's address).
 *
 * The relay is the keeper's init, so it ends exactly as pasta does (pasta.c): with the
 * sandbox (the helper stops the keeper) or with the helper (parent-death signals). */
#define _GNU_SOURCE
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Connections relayed at once; one more is accepted and reset. Each holds 6 fds. */
#define MAX_CONNS 512
/* Bytes in flight per direction: a pipe's default capacity. */
#define PIPE_CAP 65536

int relay_listen(const struct pasta_plan *pp, int fds[], int *n, const struct pasta_port **bad) {
  *n = 0;
  for (int i = 0; i < pp->n_ports; i++) {
    const struct pasta_port *o = &pp->ports[i];
    if (o->proto != 't') continue;
    *bad = o;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->host_port)};
    if (inet_pton(AF_INET, o->address, &sa.sin_addr) != 1) {
      errno = EINVAL;
      return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    fds[(*n)++] = fd;
  }
  return 0;
}

struct conn {
  int fd[2];      /* 0: the client (host side), 1: the sandbox's server */
  int pipe[2][2]; /* pipe[d]: bytes read from fd[d], not yet written to fd[1-d] */
  size_t pending[2];
  bool eof[2];  /* fd[d] has nothing more to send */
  bool shut[2]; /* fd[1-d] was told so (SHUT_WR) */
  bool full[2]; /* pipe[d] takes nothing more until some of it is written out */
  bool connecting;
};

static struct conn conns[MAX_CONNS];
static int n_conns;

/* Closes a socket with a reset (SO_LINGER 0) rather than an orderly close. */
static void reset_close(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

static void conn_free(int i, bool reset) {
  struct conn *c = &conns[i];
  for (int s = 0; s < 2; s++) {
    if (reset) reset_close(c->fd[s]);
    else close(c->fd[s]);
    close(c->pipe[s][0]);
    close(c->pipe[s][1]);
  }
  conns[i] = conns[--n_conns];
}

/* A client accepted: its connection into the sandbox started (non-blocking). */
static void conn_new(int client, unsigned port) {
  if (n_conns >= MAX_CONNS) {
    reset_close(client);
    return;
  }
  struct conn *c = &conns[n_conns];
  *c = (struct conn){.fd = {client, -1}, .pipe = {{-1, -1}, {-1, -1}}};
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  c->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd[1] < 0 || pipe2(c->pipe[0], O_NONBLOCK | O_CLOEXEC) < 0 || pipe2(c->pipe[1], O_NONBLOCK | O_CLOEXEC) < 0) goto fail;
  if (connect(c->fd[1], (struct sockaddr *)&sa, sizeof sa) == 0)
    c->connecting = false;
  else if (errno == EINPROGRESS)
    c->connecting = true;
  else
    goto fail;
  n_conns++;
  return;
fail:
  reset_close(client);
  if (c->fd[1] >= 0) close(c->fd[1]);
  for (int d = 0; d < 2; d++)
    for (int e = 0; e < 2; e++)
      if (c->pipe[d][e] >= 0) close(c->pipe[d][e]);
}

/* Whether the socket has bytes to read (not its end, not nothing). */
static bool has_data(int fd) {
  char b;
  return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

/* Moves what it can from fd[d] to fd[1-d]: -1 when the connection failed, else whether
 * anything moved or changed. */
static int pump(struct conn *c, int d) {
  int any = 0;
  for (;;) {
    bool moved = false;
    if (c->pending[d] > 0) {
      ssize_t w = splice(c->pipe[d][0], NULL, c->fd[1 - d], NULL, c->pending[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (w > 0) {
        c->pending[d] -= (size_t)w;
        c->full[d] = false;
        moved = true;
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        return -1;
      }
    }
    if (!c->eof[d] && !c->full[d] && c->pending[d] < PIPE_CAP) {
      ssize_t r = splice(c->fd[d], NULL, c->pipe[d][1], NULL, PIPE_CAP - c->pending[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (r > 0) {
        c->pending[d] += (size_t)r;
        moved = true;
      } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
        return -1;
      } else if (c->pending[d] > 0 && has_data(c->fd[d])) {
        /* the pipe is full (its slots hold less than PIPE_CAP when segments are small):
         * a splice from a socket that has had its FIN then returns 0, not EAGAIN */
        c->full[d] = true;
      } else if (r == 0) {
        c->eof[d] = true;
        any = 1;
      }
    }
    if (!moved) break;
    any = 1;
  }
  if (c->eof[d] && c->pending[d] == 0 && !c->shut[d]) {
    shutdown(c->fd[1 - d], SHUT_WR);
    c->shut[d] = true;
    any = 1;
  }
  return any;
}

/* Raises the soft limit of open files to the hard one: 6 fds per connection. */
static void more_files(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

_Noreturn void relay_run(const int fds[], const struct pasta_port *ports[], int n, int netfd) {
  signal(SIGPIPE, SIG_IGN); /* a write to a closed peer is EPIPE, handled */
  /* children (pasta's daemon, an orphan of this PID namespace) are reaped as they end */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) _exit(1);
  /* from here on, every new socket is the sandbox's; the listeners stay the host's */
  if (setns(netfd, CLONE_NEWNET) < 0) _exit(1);
  close(netfd);
  more_files();
  static struct pollfd pfd[1 + MAX_PASTA_PORTS + 2 * MAX_CONNS];
  for (;;) {
    /* reap; no child left means pasta is gone, and the sandbox's network with it */
    for (;;) {
      pid_t p = waitpid(-1, NULL, WNOHANG);
      if (p > 0) continue;
      if (p < 0 && errno == ECHILD) _exit(0);
      break;
    }
    int k = 0;
    pfd[k++] = (struct pollfd){sfd, POLLIN, 0};
    for (int i = 0; i < n; i++) pfd[k++] = (struct pollfd){fds[i], POLLIN, 0};
    for (int i = 0; i < n_conns; i++) {
      struct conn *c = &conns[i];
      for (int s = 0; s < 2; s++) {
        short ev = 0;
        if (c->connecting) {
          ev = s == 1 ? POLLOUT : 0;
        } else {
          if (!c->eof[s] && !c->full[s] && c->pending[s] < PIPE_CAP) ev |= POLLIN;
          if (c->pending[1 - s] > 0) ev |= POLLOUT;
        }
        /* a socket waited on for nothing is left out: poll would report its hang-up
         * (its peer's FIN after ours) at once, again and again, while the other side
         * catches up */
        pfd[k++] = (struct pollfd){ev ? c->fd[s] : -1, ev, 0};
      }
    }
    if (poll(pfd, (nfds_t)k, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (pfd[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
    }
    /* the connections first: conn_new below appends, conn_free moves the last one down */
    int live = n_conns;
    for (int i = live - 1; i >= 0; i--) {
      struct conn *c = &conns[i];
      short r0 = pfd[1 + n + 2 * i].revents, r1 = pfd[1 + n + 2 * i + 1].revents;
      if (!r0 && !r1) continue;
      if ((r0 | r1) & POLLERR) {
        conn_free(i, true); /* a reset from either side is passed on */
        continue;
      }
      if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (r0 & POLLHUP) {
          conn_free(i, true);
          continue;
        }
        if (!r1) continue;
        if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
          conn_free(i, true); /* nothing listens inside: the client sees a reset, as with pasta */
          continue;
        }
        c->connecting = false;
      }
      int a = pump(c, 0), b = a < 0 ? -1 : pump(c, 1);
      /* a hang-up that moves nothing more would be reported again at once: the end */
      if (a < 0 || b < 0 || (!a && !b && ((r0 | r1) & POLLHUP) && !(c->shut[0] && c->shut[1]))) {
        conn_free(i, true);
        continue;
      }
      if (c->shut[0] && c->shut[1]) conn_free(i, false);
    }
    for (int i = 0; i < n; i++) {
      if (!pfd[1 + i].revents) continue;
      for (;;) {
        int cl = accept4(fds[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cl < 0) break;
        conn_new(cl, ports[i]->port);
      }
    }
  }
}
