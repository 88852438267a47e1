/* Bridged networks over rtnetlink (net.h). Why netlink from the helper and not `ip`,
 * netavark or CNI: one socket and four messages per sandbox, no process to spawn on
 * the start path, and nothing to tear down: the peer lives in the sandbox's network
 * namespace, and the kernel removes the pair when that namespace goes. */
#define _GNU_SOURCE
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

unsigned if_nametoindex(const char *ifname);

#define NLBUF 2048

struct nlmsg {
  struct nlmsghdr h;
  char payload[NLBUF];
};

static void *tail_of(struct nlmsghdr *h) { return (char *)h + NLMSG_ALIGN(h->nlmsg_len); }

static int add_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len) {
  size_t need = RTA_LENGTH(len);
  if (NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(need) > sizeof(struct nlmsg)) return set_error_msg("netlink", NULL, "message too long");
  struct rtattr *a = tail_of(h);
  a->rta_type = type;
  a->rta_len = (unsigned short)need;
  if (len) memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(need);
  return 0;
}

static struct rtattr *nest_start(struct nlmsghdr *h, unsigned short type) {
  struct rtattr *a = tail_of(h);
  if (add_attr(h, type, NULL, 0) < 0) return NULL;
  return a;
}

static void nest_end(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (unsigned short)((char *)tail_of(h) - (char *)a); }

static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return set_error("socket", "NETLINK_ROUTE", errno);
  return fd;
}

/* Sends one request and reads its acknowledgement; the kernel's error is recorded
 * against what (the call) and name (the interface). */
static int nl_talk(int fd, struct nlmsghdr *h, const char *what, const char *name) {
  static unsigned seq;
  h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  h->nlmsg_seq = ++seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return set_error(what, name, errno);
  char buf[4096];
  for (;;) {
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return set_error(what, name, errno);
    }
    for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)got); r = NLMSG_NEXT(r, got)) {
      if (r->nlmsg_seq != h->nlmsg_seq || r->nlmsg_type != NLMSG_ERROR) continue;
      struct nlmsgerr *e = NLMSG_DATA(r);
      return e->error == 0 ? 0 : set_error(what, name, -e->error);
    }
  }
}

static void start_msg(struct nlmsg *m, unsigned short type, unsigned short flags, size_t hdr) {
  memset(m, 0, sizeof *m);
  m->h.nlmsg_type = type;
  m->h.nlmsg_flags = flags;
  m->h.nlmsg_len = NLMSG_LENGTH(hdr);
}

static int parse_ip(const char *s, struct in_addr *out) { return inet_pton(AF_INET, s, out) == 1 ? 0 : -1; }

int parse_veth_op(struct net_plan *np, int line, char **t, int n) {
  char where[32];
  snprintf(where, sizeof where, "line %d", line);
  if (n != 8 && n != 11) return set_error_msg("plan", where, "veth needs a bridge, a name, an address, a prefix, a gateway, an MTU and a host prefix (and a v6 address, prefix and gateway)");
  if (np->n >= MAX_VETHS) return set_error_msg("plan", where, "too many networks");
  struct veth_op *o = &np->ops[np->n];
  unsigned long long prefix, mtu;
  if (!t[1][0] || strlen(t[1]) >= IFNAMSIZ || !t[2][0] || strlen(t[2]) >= IFNAMSIZ) return set_error_msg("plan", where, "bad interface name");
  if (!t[7][0] || strlen(t[7]) > 6) return set_error_msg("plan", where, "bad host prefix");
  if (parse_ip(t[3], &o->addr) < 0) return set_error_msg("plan", where, "bad address");
  if (parse_u64(t[4], &prefix) < 0 || prefix < 1 || prefix > 30) return set_error_msg("plan", where, "bad prefix");
  o->has_gateway = strcmp(t[5], "-") != 0;
  if (o->has_gateway && parse_ip(t[5], &o->gateway) < 0) return set_error_msg("plan", where, "bad gateway");
  if (parse_u64(t[6], &mtu) < 0 || mtu < 576 || mtu > 65535) return set_error_msg("plan", where, "bad MTU");
  o->has_v6 = n == 11;
  if (o->has_v6) {
    unsigned long long prefix6;
    if (inet_pton(AF_INET6, t[8], &o->addr6) != 1) return set_error_msg("plan", where, "bad v6 address");
    if (parse_u64(t[9], &prefix6) < 0 || prefix6 < 48 || prefix6 > 120) return set_error_msg("plan", where, "bad v6 prefix");
    o->prefix6 = (unsigned)prefix6;
    o->has_gateway6 = strcmp(t[10], "-") != 0;
    if (o->has_gateway6 && inet_pton(AF_INET6, t[10], &o->gateway6) != 1) return set_error_msg("plan", where, "bad v6 gateway");
  }
  o->bridge = t[1];
  o->ifname = t[2];
  o->host_prefix = t[7];
  o->prefix = (unsigned)prefix;
  o->mtu = (unsigned)mtu;
  np->n++;
  return 0;
}

/* One pair: RTM_NEWLINK of kind veth, the peer created inside the child's namespace
 * (IFLA_NET_NS_PID), the host end created on the bridge and up in the same message. */
static int attach_veth(int fd, const struct veth_op *o, pid_t child) {
  unsigned bridge = if_nametoindex(o->bridge);
  if (!bridge) return set_error("if_nametoindex", o->bridge, errno ? errno : ENODEV);
  unsigned char rnd[4];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return set_error("getrandom", NULL, errno);
  char host[IFNAMSIZ];
  snprintf(host, sizeof host, "%s%02x%02x%02x%02x", o->host_prefix, rnd[0], rnd[1], rnd[2], rnd[3]);
  struct nlmsg m;
  start_msg(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
  struct ifinfomsg *ifi = NLMSG_DATA(&m.h);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  unsigned mtu = o->mtu;
  int pid = (int)child;
  if (add_attr(&m.h, IFLA_IFNAME, host, strlen(host) + 1) < 0 || add_attr(&m.h, IFLA_MTU, &mtu, sizeof mtu) < 0 ||
      add_attr(&m.h, IFLA_MASTER, &bridge, sizeof bridge) < 0)
    return -1;
  struct rtattr *info = nest_start(&m.h, IFLA_LINKINFO);
  if (!info || add_attr(&m.h, IFLA_INFO_KIND, "veth", 4) < 0) return -1;
  struct rtattr *data = nest_start(&m.h, IFLA_INFO_DATA);
  struct rtattr *peer = data ? nest_start(&m.h, VETH_INFO_PEER) : NULL;
  if (!peer) return -1;
  /* the peer's own ifinfomsg comes first in VETH_INFO_PEER */
  struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
  memcpy(tail_of(&m.h), &pifi, sizeof pifi);
  m.h.nlmsg_len += NLMSG_ALIGN(sizeof pifi);
  /* the sandbox's MAC follows from its address (02:42 and the four bytes, as Docker does): an
   * address handed out again keeps its MAC, so the bridge host's neighbour cache is never stale */
  unsigned char mac[6] = {0x02, 0x42};
  memcpy(mac + 2, &o->addr.s_addr, 4);
  if (add_attr(&m.h, IFLA_IFNAME, o->ifname, strlen(o->ifname) + 1) < 0 || add_attr(&m.h, IFLA_MTU, &mtu, sizeof mtu) < 0 ||
      add_attr(&m.h, IFLA_ADDRESS, mac, sizeof mac) < 0 || add_attr(&m.h, IFLA_NET_NS_PID, &pid, sizeof pid) < 0)
    return -1;
  nest_end(&m.h, peer);
  nest_end(&m.h, data);
  nest_end(&m.h, info);
  return nl_talk(fd, &m.h, "RTM_NEWLINK veth", o->bridge);
}

int attach_veths(const struct net_plan *np, pid_t child) {
  if (np->n == 0) return 0;
  set_stage("net");
  autoclose int fd = nl_open();
  if (fd < 0) return -1;
  for (int i = 0; i < np->n; i++)
    if (attach_veth(fd, &np->ops[i], child) < 0) return -1;
  return 0;
}

static int link_up(int fd, unsigned index, const char *name) {
  struct nlmsg m;
  start_msg(&m, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
  struct ifinfomsg *ifi = NLMSG_DATA(&m.h);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = (int)index;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return nl_talk(fd, &m.h, "RTM_NEWLINK up", name);
}

static int add_address(int fd, unsigned index, const struct veth_op *o) {
  struct nlmsg m;
  start_msg(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
  struct ifaddrmsg *ifa = NLMSG_DATA(&m.h);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)o->prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = index;
  struct in_addr brd = {.s_addr = o->addr.s_addr | htonl(0xffffffffu >> o->prefix)};
  if (add_attr(&m.h, IFA_LOCAL, &o->addr, 4) < 0 || add_attr(&m.h, IFA_ADDRESS, &o->addr, 4) < 0 ||
      add_attr(&m.h, IFA_BROADCAST, &brd, 4) < 0)
    return -1;
  return nl_talk(fd, &m.h, "RTM_NEWADDR", o->ifname);
}

/* The v6 address: IFA_F_NODAD, so it is not "tentative" for a second or more and a
 * sandbox can bind and send from it as soon as it starts (Docker turns DAD off too). */
static int add_address6(int fd, unsigned index, const struct veth_op *o) {
  struct nlmsg m;
  start_msg(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
  struct ifaddrmsg *ifa = NLMSG_DATA(&m.h);
  ifa->ifa_family = AF_INET6;
  ifa->ifa_prefixlen = (unsigned char)o->prefix6;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = index;
  ifa->ifa_flags = IFA_F_NODAD;
  unsigned flags = IFA_F_NODAD;
  if (add_attr(&m.h, IFA_LOCAL, &o->addr6, 16) < 0 || add_attr(&m.h, IFA_ADDRESS, &o->addr6, 16) < 0 ||
      add_attr(&m.h, IFA_FLAGS, &flags, sizeof flags) < 0)
    return -1;
  return nl_talk(fd, &m.h, "RTM_NEWADDR v6", o->ifname);
}

/* Inside the sandbox's own namespace: its interface takes no router advertisement (the
 * routes are the plan's) and does no DAD on its link-local address either. /proc/sys/net
 * is the writing task's network namespace's, so these are the sandbox's own. */
static int v6_sysctls(const char *ifname) {
  static const char *const keys[][2] = {{"accept_ra", "0"}, {"accept_dad", "0"}, {"disable_ipv6", "0"}};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/%s", ifname, keys[i][0]);
    FILE *f = fopen(path, "we");
    if (!f) {
      /* no IPv6 in this kernel, or a /proc the namespace may not write: the address and
       * routes below do not depend on these (its address has IFA_F_NODAD itself) */
      if (errno == ENOENT || errno == EACCES || errno == EPERM || errno == EROFS) return 0;
      return set_error("open", path, errno);
    }
    bool ok = fputs(keys[i][1], f) >= 0;
    if (fclose(f) != 0 || !ok) return set_error("write", path, errno);
  }
  return 0;
}

/* The default route via the gateway of one family (AF_INET: 4 bytes, AF_INET6: 16). */
static int add_default_route(int fd, unsigned index, const struct veth_op *o, unsigned char family) {
  bool v6 = family == AF_INET6;
  struct nlmsg m;
  start_msg(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
  struct rtmsg *rt = NLMSG_DATA(&m.h);
  rt->rtm_family = family;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  if (add_attr(&m.h, RTA_GATEWAY, v6 ? (const void *)&o->gateway6 : (const void *)&o->gateway, v6 ? 16 : 4) < 0 ||
      add_attr(&m.h, RTA_OIF, &index, sizeof index) < 0)
    return -1;
  return nl_talk(fd, &m.h, v6 ? "RTM_NEWROUTE v6 default" : "RTM_NEWROUTE default", o->ifname);
}

int configure_veths(const struct net_plan *np) {
  if (np->n == 0) return 0;
  set_stage("net");
  autoclose int fd = nl_open();
  if (fd < 0) return -1;
  bool routed = false, routed6 = false;
  for (int i = 0; i < np->n; i++) {
    const struct veth_op *o = &np->ops[i];
    unsigned index = if_nametoindex(o->ifname);
    if (!index) return set_error("if_nametoindex", o->ifname, errno ? errno : ENODEV);
    if (o->has_v6 && v6_sysctls(o->ifname) < 0) return -1;
    if (add_address(fd, index, o) < 0 || (o->has_v6 && add_address6(fd, index, o) < 0) || link_up(fd, index, o->ifname) < 0) return -1;
    /* one default route: the first network's that has a way out (Docker's choice) */
    if (o->has_gateway && !routed) {
      if (add_default_route(fd, index, o, AF_INET) < 0) return -1;
      routed = true;
    }
    /* and one v6 default route, the first IPv6 network's with a way out */
    if (o->has_v6 && o->has_gateway6 && !routed6) {
      if (add_default_route(fd, index, o, AF_INET6) < 0) return -1;
      routed6 = true;
    }
  }
  return 0;
}
