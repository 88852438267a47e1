/* The published TCP ports of a rootless sandbox (relay.c): the pasta keeper's init binds
 * each host port itself and relays every connection into the sandbox's network namespace
 * (to 127.0.0.1:PORT there), one process for all of them, single-threaded (poll and
 * splice). pasta's own port forwarding is not used for TCP: the pasta of Debian 12
 * (2023-03) stalls connections that do not come from the host itself. */
#ifndef LAB_RELAY_H
#define LAB_RELAY_H

#include "pasta.h"

/* Binds and listens on the plan's TCP host ports in the current network namespace
 * (the host's). -1 with errno and *bad set to the port that failed; 0 when all are bound
 * (their fds in fds[], *n of them). */
int relay_listen(const struct pasta_plan *pp, int fds[], int *n, const struct pasta_port **bad);
/* Never returns: relays connections of the n listeners fds[] (ports[i] the pasta_port of
 * fds[i]) to 127.0.0.1:PORT in the network namespace netfd, while reaping children; it
 * exits once it has no child left (pasta is gone). */
_Noreturn void relay_run(const int fds[], const struct pasta_port *ports[], int n, int netfd);

#endif
