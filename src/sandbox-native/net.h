/* Bridged networks (net.c): a veth pair per network the sandbox is attached to, made
 * over rtnetlink. The host end is attached to the network's bridge (made by the engine,
 * src/network/); the peer is created directly inside the sandbox's new network namespace,
 * so it dies with that namespace: a killed sandbox or supervisor leaves no interface.
 * Plan line: veth BRIDGE IFNAME ADDRESS PREFIX GATEWAY|- MTU HOSTPREFIX [ADDRESS6 PREFIX6 GATEWAY6|-]
 * (GATEWAY "-": no default route, as on an --internal network; the host end is named
 * HOSTPREFIX and 8 random hex digits, so the network's firewall can name its ports; the
 * v6 part on an IPv6 network: the address is added without duplicate address detection,
 * so it is usable at once; the engine's lease makes it unique on the network). */
#ifndef LAB_NET_H
#define LAB_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

#define MAX_VETHS 8

struct veth_op {
  const char *bridge;   /* the host bridge the host end joins */
  const char *ifname;   /* the name inside the sandbox (eth0, eth1…) */
  const char *host_prefix; /* the host end's name begins with it (at most 6 characters) */
  struct in_addr addr;
  unsigned prefix;
  struct in_addr gateway;
  bool has_gateway;
  unsigned mtu;
  bool has_v6;
  struct in6_addr addr6;
  unsigned prefix6;
  struct in6_addr gateway6;
  bool has_gateway6;
};

struct net_plan {
  struct veth_op ops[MAX_VETHS];
  int n;
};

/* Parses a "veth" line into np; -1 (recorded) on a malformed one. */
int parse_veth_op(struct net_plan *np, int line, char **t, int n);
/* Parent side, after clone and before "go": for each op, a veth pair whose peer is
 * created in child's network namespace, the host end on its bridge and up. */
int attach_veths(const struct net_plan *np, pid_t child);
/* Child side, in its own network namespace (still privileged there): addresses, MTU,
 * links up and the default route. */
int configure_veths(const struct net_plan *np);

#endif
