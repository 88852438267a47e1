/* Rootless networking through pasta (pasta.h). Why pasta and not slirp4netns: it is the
 * faster of the two (splices loopback TCP, no per-packet copy through a userspace TCP
 * stack for local traffic), it is maintained, and it forwards published ports itself.
 *
 * The processes, for one sandbox instance:
 *   helper ── keeper (joins the sandbox's user namespace, unshares a PID namespace)
 *               └─ keeper init (PID 1 there) ── pasta (daemonizes: its parent exits
 *                                                once the sandbox's interface is up)
 * The helper waits for the keeper init's "ok" (pasta's parent exited 0) before it lets
 * the sandbox's program start, so the program starts with its network ready. pasta gets
 * the sandbox's network namespace as an fd the keeper holds (/proc/self/fd/N), never by
 * a pid that could be reused. It runs as the caller (root of the sandbox's user
 * namespace at most), so it can do nothing on the host the caller could not.
 *
 * Ending: stop_pasta() sends the keeper SIGTERM; it kills its init and waits for it,
 * and an init's exit waits until every process of its PID namespace is gone — so when
 * the helper has reaped the keeper, pasta is gone too. When the helper itself dies (even
 * by SIGKILL), the keeper and its init die by their parent-death signals, and the
 * kernel kills pasta with the PID namespace. */
#define _GNU_SOURCE
#include "pasta.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"
#include "syscalls.h"
#include "util.h"

/* How long pasta may take to set up the interface (it reads the host's routes and
 * addresses, opens the tap device, configures it): seconds on a busy machine at most. */
#define PASTA_READY_MS 20000
#define MAX_PASTA_ARGS (24 + 2 * MAX_PASTA_PORTS)

int parse_pasta_op(struct pasta_plan *pp, int line, char **t, int n) {
  char where[32];
  snprintf(where, sizeof where, "line %d", line);
  if (strcmp(t[0], "pasta") == 0) {
    if (n != 3) return set_error_msg("plan", where, "pasta needs a path and map-gw or no-map-gw");
    if (t[1][0] != '/') return set_error_msg("plan", where, "pasta's path must be absolute");
    if (strcmp(t[2], "map-gw") == 0)
      pp->map_gw = true;
    else if (strcmp(t[2], "no-map-gw") == 0)
      pp->map_gw = false;
    else
      return set_error_msg("plan", where, "pasta takes map-gw or no-map-gw");
    pp->path = t[1];
    return 0;
  }
  if (n != 5) return set_error_msg("plan", where, "pastaport needs tcp|udp, an address, a host port and a port");
  if (pp->n_ports >= MAX_PASTA_PORTS) return set_error_msg("plan", where, "too many published ports");
  struct pasta_port *o = &pp->ports[pp->n_ports];
  if (strcmp(t[1], "tcp") == 0)
    o->proto = 't';
  else if (strcmp(t[1], "udp") == 0)
    o->proto = 'u';
  else
    return set_error_msg("plan", where, "bad protocol");
  struct in_addr a;
  if (inet_pton(AF_INET, t[2], &a) != 1) return set_error_msg("plan", where, "bad address");
  unsigned long long hp, p;
  if (parse_u64(t[3], &hp) < 0 || hp < 1 || hp > 65535 || parse_u64(t[4], &p) < 0 || p < 1 || p > 65535)
    return set_error_msg("plan", where, "bad port");
  o->address = t[2];
  o->host_port = (unsigned)hp;
  o->port = (unsigned)p;
  pp->n_ports++;
  return 0;
}

/* Closes every fd but 0-2 and those in keep (ascending): the keeper must not hold the
 * helper's control socket, pipes or locks. */
static void close_all_but(const int *keep, int n) {
  unsigned lo = 3;
  for (int i = 0; i < n; i++) {
    if ((unsigned)keep[i] > lo) sys_close_range(lo, (unsigned)keep[i] - 1, 0);
    lo = (unsigned)keep[i] + 1;
  }
  sys_close_range(lo, ~0U, 0);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Signals as a fresh program expects them: the helper ignores SIGPIPE, which exec
 * keeps, and pasta refuses to start when SIGPIPE was already ignored. */
static void default_signals(void) {
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
}

static void unblock_all(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A failure of the keeper, as one line for the helper. */
static _Noreturn void keeper_fail(int ready_w, const char *what, int err) {
  dprintf(ready_w, "%s: %s\n", what, strerror(err));
  _exit(1);
}

/* pasta's last words before it failed: its last line on stderr that is not about a
 * missing system logger. */
static void last_line(int fd, char *out, size_t cap) {
  char buf[4096];
  size_t got = 0;
  ssize_t r;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
  buf[got] = '\0';
  out[0] = '\0';
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    if (!*line || strncmp(line, "Failed to send", 14) == 0) continue;
    snprintf(out, cap, "%s", line);
  }
}

static size_t pasta_argv(const struct pasta_plan *pp, int netfd, char *argv[], char store[][48]) {
  size_t n = 0;
  int k = 0;
  argv[n++] = "pasta";
  argv[n++] = "--config-net"; /* pasta gives the interface the host's address and routes */
  argv[n++] = "--quiet";
  argv[n++] = "--ns-ifname";
  argv[n++] = "eth0";
  /* Default deny: the gateway is not the host's loopback (map-gw is an explicit opt-in),
   * and nothing bound on the host's side is forwarded into the sandbox (-T/-U). */
  if (!pp->map_gw) argv[n++] = "--no-map-gw";
  argv[n++] = "-T";
  argv[n++] = "none";
  argv[n++] = "-U";
  argv[n++] = "none";
  /* published TCP ports are the relay's (relay.c), UDP ones pasta's */
  argv[n++] = "-t";
  argv[n++] = "none";
  bool udp = false;
  for (int i = 0; i < pp->n_ports; i++) {
    const struct pasta_port *o = &pp->ports[i];
    if (o->proto != 'u') continue;
    argv[n++] = "-u";
    snprintf(store[k], 48, "%s/%u:%u", o->address, o->host_port, o->port);
    argv[n++] = store[k++];
    udp = true;
  }
  if (!udp) {
    argv[n++] = "-u";
    argv[n++] = "none";
  }
  /* the keeper ends pasta; it must not end itself when the namespace's path looks gone */
  argv[n++] = "--no-netns-quit";
  argv[n++] = "--netns";
  snprintf(store[k], 48, "/proc/self/fd/%d", netfd);
  argv[n++] = store[k++];
  argv[n] = NULL;
  return n;
}

/* The keeper's init, PID 1 of its own PID namespace: runs pasta and reaps. */
static _Noreturn void keeper_init(const struct pasta_plan *pp, int netfd, int ready_w, int alive_r) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* The keeper died before the line above: nobody would end us. */
  struct pollfd alive = {alive_r, POLLIN, 0};
  if (poll(&alive, 1, 0) != 0) _exit(1);
  /* the published TCP ports, bound before pasta starts: one in use fails the start */
  int lfd[MAX_PASTA_PORTS], nl = 0;
  const struct pasta_port *bad = NULL;
  if (relay_listen(pp, lfd, &nl, &bad) < 0) {
    char what[96];
    snprintf(what, sizeof what, "cannot publish %s:%u/tcp", bad ? bad->address : "?", bad ? bad->host_port : 0);
    keeper_fail(ready_w, what, errno);
  }
  const struct pasta_port *lport[MAX_PASTA_PORTS];
  for (int i = 0, j = 0; i < pp->n_ports; i++)
    if (pp->ports[i].proto == 't') lport[j++] = &pp->ports[i];
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0) keeper_fail(ready_w, "pipe", errno);
  static char store[MAX_PASTA_PORTS + 2][48];
  char *argv[MAX_PASTA_ARGS];
  pasta_argv(pp, netfd, argv, store);
  pid_t pid = fork();
  if (pid < 0) keeper_fail(ready_w, "fork", errno);
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(errp[1], 2) < 0) _exit(126);
    if (fcntl(netfd, F_SETFD, 0) < 0) _exit(126); /* the one fd pasta inherits */
    default_signals();
    unblock_all();
    execv(pp->path, argv);
    dprintf(2, "cannot run %s: %s\n", pp->path, strerror(errno));
    _exit(127);
  }
  close(errp[1]);
  if (!nl) close(netfd);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    close(errp[0]);
    write_all(ready_w, "ok\n", 3);
    close(ready_w);
    /* published TCP ports: this process relays them into the sandbox from now on */
    if (nl) relay_run(lfd, lport, nl, netfd);
    /* pasta's daemon is ours now (orphans of a PID namespace go to its init) */
    while (wait(NULL) > 0 || errno == EINTR) {}
    _exit(0);
  }
  char line[400];
  last_line(errp[0], line, sizeof line);
  if (WIFEXITED(st))
    dprintf(ready_w, "pasta exited with status %d%s%s\n", WEXITSTATUS(st), line[0] ? ": " : "", line);
  else
    dprintf(ready_w, "pasta was killed by signal %d%s%s\n", WTERMSIG(st), line[0] ? ": " : "", line);
  _exit(1);
}

static volatile pid_t keeper_child;

static void on_term(int sig) {
  if (keeper_child > 0) kill(keeper_child, SIGKILL);
}

/* The keeper: joins the sandbox's user namespace, makes the PID namespace, waits for
 * its init. SIGTERM (stop_pasta) ends the init, and so everything in the namespace. */
static _Noreturn void keeper_main(const struct pasta_plan *pp, pid_t helper, int userfd, int netfd, int ready_w) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != helper) _exit(1);
  int keep[3] = {userfd, netfd, ready_w};
  qsort(keep, 3, sizeof keep[0], cmp_int);
  close_all_but(keep, 3);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    close(null);
  }
  if (setns(userfd, CLONE_NEWUSER) < 0) keeper_fail(ready_w, "setns (the sandbox's user namespace)", errno);
  close(userfd);
  /* a change of credentials clears the parent-death signal: set it again */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != helper) _exit(1);
  if (unshare(CLONE_NEWPID) < 0) keeper_fail(ready_w, "unshare (PID namespace)", errno);
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) < 0) keeper_fail(ready_w, "pipe", errno);
  struct sigaction sa = {.sa_handler = on_term};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGCHLD, SIG_DFL);
  pid_t init = fork();
  if (init < 0) keeper_fail(ready_w, "fork", errno);
  if (init == 0) {
    close(alive[1]);
    signal(SIGTERM, SIG_DFL);
    keeper_init(pp, netfd, ready_w, alive[0]);
  }
  keeper_child = init;
  close(alive[0]);
  close(ready_w);
  close(netfd);
  unblock_all();
  while (waitpid(init, NULL, 0) < 0 && errno == EINTR) {}
  _exit(0);
}

int start_pasta(const struct pasta_plan *pp, pid_t child, pid_t *keeper) {
  *keeper = 0;
  if (!pp->path) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)child);
  autoclose int userfd = open(path, O_RDONLY | O_CLOEXEC);
  if (userfd < 0) return set_error("open", path, errno);
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)child);
  autoclose int netfd = open(path, O_RDONLY | O_CLOEXEC);
  if (netfd < 0) return set_error("open", path, errno);
  autoclose int ready_r = -1, ready_w = -1;
  if (open_pipe(&ready_r, &ready_w, "pasta pipe") < 0) return -1;
  pid_t helper = getpid();
  pid_t k = fork();
  if (k < 0) return set_error("fork", "pasta keeper", errno);
  if (k == 0) keeper_main(pp, helper, userfd, netfd, ready_w);
  close_now(&ready_w);
  char buf[512];
  size_t got = 0;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  bool timed_out = false;
  while (got < sizeof buf - 1 && !memchr(buf, '\n', got)) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long left = PASTA_READY_MS - ((t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {ready_r, POLLIN, 0};
    int r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = read(ready_r, buf + got, sizeof buf - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  if (got >= 3 && memcmp(buf, "ok\n", 3) == 0) {
    *keeper = k;
    return 0;
  }
  stop_pasta(&k);
  char *nl = strchr(buf, '\n');
  if (nl) *nl = '\0';
  if (timed_out) return set_error_msg("pasta", pp->path, "pasta did not set up the sandbox's network within %d s", PASTA_READY_MS / 1000);
  return set_error_msg("pasta", pp->path, "%s", got ? buf : "pasta's keeper ended before the network was set up");
}

void stop_pasta(pid_t *keeper) {
  if (*keeper <= 0) return;
  kill(*keeper, SIGTERM);
  while (waitpid(*keeper, NULL, 0) < 0 && errno == EINTR) {}
  *keeper = 0;
}
