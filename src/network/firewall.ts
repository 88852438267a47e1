/**
 * One nftables ruleset per network, replaced whole and atomically (`nft -f`: the
 * "table …; delete table …; table … {…}" idiom replaces it in one transaction, and a
 * missing table is no error). Two tables per network, both named lab_<bridge>:
 *   ip     NAT (masquerade out of a non-internal network; DNAT of published ports, also
 *          from the host's 127.0.0.1, with a masquerade so the reply comes back) and the
 *          forward filter (networks isolated from each other, --internal has no way
 *          out, nothing enters a bridge from outside but replies and published ports),
 *          and an input filter: nothing from a bridge reaches 127.0.0.0/8 (route_localnet
 *          is on for published ports), an --internal network reaches only its name server.
 *   ip6    the same for an IPv6 network (--ipv6): NAT66 masquerade out, DNAT of ports
 *          published on the host's v6 addresses, the same isolation, nothing from a
 *          bridge to the host's ::1, an --internal one reaches only its gateway's name
 *          server and neighbour discovery. An IPv4-only network has no ip6 table, so its
 *          sandboxes (which have no v6 address but link-local) are not forwarded either.
 *   bridge ICC off (enable_icc=false): frames between two ports of the bridge are dropped;
 *          a sandbox may not send from an address outside its network (spoofing, v4 and
 *          v6), and never a router advertisement or redirect (it is no router).
 * Lab's bridges are named lab0 and lab-…, so "lab*" names every other lab network.
 */
import {spawnSync} from 'node:child_process'

import {LabError} from '../errors.js'
import type {PortMapping} from '../sandbox/networks.js'
import {vethPrefix} from '../sandbox/plan.js'
import {pairs6} from './pairs.js'
import type {NetworkRecord} from './store.js'

export interface PublishedPort extends PortMapping {
  /** the sandbox's address on this network */
  address: string
  /** its v6 address there (IPv6 networks): where ports published on a v6 host address go */
  address6?: string
}

export function tableName(n: NetworkRecord): string {
  return 'lab_' + n.bridge.replace(/[^a-zA-Z0-9]/g, '_')
}

/** A sandbox's v6 address on an IPv6 network and its MAC there (pairs.ts). */
export interface Bound6 {
  address6: string
  mac: string
}

/** Forwarding, the same for ip and ip6: no way between networks; an --internal network
 * none out or in; from outside only replies and published ports. */
function forwardChain(br: string, internal: boolean): string[] {
  return [
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    `    iifname ${br} oifname "lab*" oifname != ${br} drop`,
    ...(internal ? [`    iifname ${br} oifname != ${br} drop`, `    oifname ${br} iifname != ${br} drop`] : []),
    `    oifname ${br} ct state established,related accept`,
    `    oifname ${br} ct status dnat accept`,
    `    oifname ${br} iifname != ${br} drop`,
    `  }`,
  ]
}

/** Published ports' DNAT: for traffic from elsewhere (prerouting) and from the host itself (output). */
function dnatChains(dnat: string[]): string[] {
  return [
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    ...dnat,
    `  }`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
    ...dnat,
    `  }`,
  ]
}

/** `extra6`: pairs of sandboxes whose v6 address is not the one pairs.ts derives (records
 * made before addresses were paired); none otherwise, so a start changes no bridge rule. */
export function ruleset(n: NetworkRecord, ports: PublishedPort[], extra6: Bound6[] = [], part: 'all' | 'ip' | 'bridge' = 'all'): string {
  const t = tableName(n)
  const br = JSON.stringify(n.bridge)
  const v4 = ports.filter((p) => !p.hostIp.includes(':'))
  const dnat = v4.map((p) => `    ${p.hostIp === '0.0.0.0' ? '' : `ip daddr ${p.hostIp} `}fib daddr type local ${p.proto} dport ${p.hostPort} dnat to ${p.address}:${p.port}`)
  const nat = [
    ...dnatChains(dnat),
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    // the host's 127.0.0.1 to a published port: the sandbox answers the bridge's address
    `    oifname ${br} ip saddr 127.0.0.0/8 masquerade`,
    // a sandbox to a published port of its own network by a host address (hairpin)
    `    oifname ${br} ip saddr ${n.subnet} ct status dnat masquerade`,
    ...(n.internal ? [] : [`    ip saddr ${n.subnet} oifname != ${br} masquerade`]),
    `  }`,
  ]
  const filter = [
    ...forwardChain(br, n.internal),
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    // replies to the host's 127.0.0.1 (published ports) come back this way; nothing else may
    `    iifname ${br} ip daddr 127.0.0.0/8 ct direction original drop`,
    ...(n.internal ? [`    iifname ${br} ct state established,related accept`, `    iifname ${br} ip daddr ${n.gateway} meta l4proto { tcp, udp } th dport 53 accept`, `    iifname ${br} drop`] : []),
    `  }`,
  ]
  // the network's bridge ports by name (plan.ts vethPrefix): not every kernel has meta ibrname
  const ports_ = JSON.stringify(vethPrefix(n.id) + '*')
  const own6 = part === 'ip' ? [] : [...new Map([...pairs6(n), ...extra6].map((b) => [`${b.address6} . ${b.mac}`, b])).values()]
  const l2 = [
    ...(own6.length
      ? [`  set own6 {`, `    type ipv6_addr . ether_addr`, `    elements = { ${own6.map((b) => `${b.address6} . ${b.mac}`).join(',\n      ')} }`, `  }`]
      : []),
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    ...(n.icc ? [] : [`    iifname ${ports_} oifname ${ports_} drop`]),
    `  }`,
    `  chain prerouting {`,
    `    type filter hook prerouting priority filter; policy accept;`,
    `    iifname ${ports_} ether type ip ip saddr != ${n.subnet} ip saddr != 0.0.0.0 drop`,
    // v6: the network's subnet, link-local (neighbour discovery) or :: (duplicate address detection)
    `    iifname ${ports_} ether type ip6 ip6 saddr != { ${[n.subnet6, 'fe80::/10', '::'].filter(Boolean).join(', ')} } drop`,
    // and in the subnet, only a sandbox's own address from its own MAC: a raw socket (NET_RAW)
    // chooses the source address, but not the frame's MAC (packet sockets are refused by the
    // default seccomp filter), so a neighbour's address is not usable either. Every pair the
    // network can hand out is in the set from the start (pairs.ts), so no start changes it.
    ...(n.subnet6
      ? [own6.length
        ? `    iifname ${ports_} ether type ip6 ip6 saddr ${n.subnet6} ip6 saddr . ether saddr != @own6 drop`
        : `    iifname ${ports_} ether type ip6 ip6 saddr ${n.subnet6} drop`]
      : []),
    `    iifname ${ports_} ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop`,
    `  }`,
  ]
  return [
    ...(part === 'bridge' ? [] : [
      `table ip ${t}`, `delete table ip ${t}`, `table ip ${t} {`, ...nat, ...filter, `}`,
      `table ip6 ${t}`, `delete table ip6 ${t}`, ...(n.subnet6 ? [`table ip6 ${t} {`, ...ip6Rules(n, ports), `}`] : []),
    ]),
    ...(part === 'ip' ? [] : [`table bridge ${t}`, `delete table bridge ${t}`, `table bridge ${t} {`, ...l2, `}`]),
    '',
  ].join('\n')
}

/** What the bridge table is made of, in one line: a start compares it with the last one
 * applied instead of making the table (a dual-stack /16 holds 65,533 pairs). The first
 * field changes whenever the table's rules do. */
export function bridgeKey(n: NetworkRecord, extra6: Bound6[] = []): string {
  return `# bridge table 2 ${JSON.stringify([n.id, n.bridge, n.subnet, n.gateway, n.subnet6 ?? null, n.gateway6 ?? null, n.icc, extra6])}\n`
}

/** An IPv6 network's ip6 table: the ip table's rules for v6, and neighbour discovery kept
 * working on an --internal network (without it nothing reaches even the gateway). */
function ip6Rules(n: NetworkRecord, ports: PublishedPort[]): string[] {
  const br = JSON.stringify(n.bridge)
  const dnat = ports
    .filter((p) => p.address6 && p.hostIp.includes(':'))
    // not the host's ::1: a packet from it never leaves loopback (ports.ts), so it is refused there rather than lost
    .map((p) => `    ${p.hostIp === '::' ? 'ip6 daddr != ::1 ' : `ip6 daddr ${p.hostIp} `}fib daddr type local ${p.proto} dport ${p.hostPort} dnat to [${p.address6}]:${p.port}`)
  const nd = 'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit }'
  return [
    ...dnatChains(dnat),
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    oifname ${br} ip6 saddr ${n.subnet6} ct status dnat masquerade`,
    ...(n.internal ? [] : [`    ip6 saddr ${n.subnet6} oifname != ${br} masquerade`]),
    `  }`,
    ...forwardChain(br, n.internal),
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    iifname ${br} ip6 daddr ::1 ct direction original drop`,
    ...(n.internal ? [`    iifname ${br} ct state established,related accept`, `    iifname ${br} ${nd} accept`, `    iifname ${br} ip6 daddr ${n.gateway6} meta l4proto { tcp, udp } th dport 53 accept`, `    iifname ${br} drop`] : []),
    `  }`,
  ]
}

function nft(input: string, what: string): void {
  const r = spawnSync('nft', ['-f', '-'], {input, encoding: 'utf8'})
  if (r.error) throw new LabError('network', `${what}: cannot run nft (${(r.error as NodeJS.ErrnoException).code})`, {hint: 'install nftables'})
  if (r.status !== 0) throw new LabError('network', `${what}: ${(r.stderr || '').trim().split('\n')[0]}`, {hint: 'bridged networks need root and nftables; see lab doctor'})
}

export function applyRuleset(n: NetworkRecord, text: string): void {
  nft(text, `firewall of network ${n.name}`)
}

export function removeRuleset(n: NetworkRecord): void {
  const t = tableName(n)
  nft(`table ip ${t}\ndelete table ip ${t}\ntable ip6 ${t}\ndelete table ip6 ${t}\ntable bridge ${t}\ndelete table bridge ${t}\n`, `firewall of network ${n.name}`)
}
