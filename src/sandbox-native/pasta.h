/* Rootless user-mode networking (pasta.c): pasta, the user-mode network stack of the
 * passt project, serves the sandbox's new network namespace through a tap interface
 * and carries its traffic over ordinary sockets of the caller, so no privilege on the
 * host is needed. Plan lines:
 *   pasta PATH map-gw|no-map-gw            run PATH against the sandbox's namespace;
 *                                          no-map-gw (the default): the gateway address
 *                                          is not the host's loopback
 *   pastaport tcp|udp ADDRESS HOSTPORT PORT   a published port: ADDRESS:HOSTPORT on
 *                                          the host goes to PORT inside; UDP through
 *                                          pasta, TCP through the keeper's relay (relay.h)
 * pasta runs under a keeper: a process of the helper that joins the sandbox's user
 * namespace and makes a PID namespace of its own, so pasta (which daemonizes) stays its
 * descendant, and dies with it. The keeper dies with the helper (parent-death signal);
 * when the keeper dies, the kernel kills everything in its PID namespace: no pasta
 * outlives its sandbox, whatever kills the helper. */
#ifndef LAB_PASTA_H
#define LAB_PASTA_H

#include <stdbool.h>
#include <sys/types.h>

#define MAX_PASTA_PORTS 64

struct pasta_port {
  char proto;          /* 't' or 'u' */
  const char *address; /* the host address listened on */
  unsigned host_port, port;
};

struct pasta_plan {
  const char *path; /* NULL: no pasta */
  bool map_gw;
  struct pasta_port ports[MAX_PASTA_PORTS];
  int n_ports;
};

/* Parses a "pasta" or "pastaport" line; -1 (recorded) on a malformed one. */
int parse_pasta_op(struct pasta_plan *pp, int line, char **t, int n);
/* Parent side, after the id maps and before "go": starts the keeper and pasta against
 * child's network namespace and returns once pasta has configured its interface (the
 * keeper's pid in *keeper), or -1 (recorded, nothing left running). */
int start_pasta(const struct pasta_plan *pp, pid_t child, pid_t *keeper);
/* Ends the keeper, and with it pasta; reaps it. A no-op when *keeper is 0. */
void stop_pasta(pid_t *keeper);

#endif
