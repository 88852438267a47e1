/** IPv6 addresses and subnets as bigints: parsing (RFC 4291 text forms), the canonical
 * text (RFC 5952: lower case, the longest run of zero groups as "::"), containment,
 * overlap and the unique-local /64s lab hands out. */
import {randomBytes} from 'node:crypto'

import {usageError} from '../errors.js'

const GROUP = /^[0-9a-fA-F]{1,4}$/

/** The address as a 128-bit number, or null when s is not an IPv6 address. No zone (%eth0)
 * and no embedded IPv4 (::ffff:1.2.3.4): neither names a sandbox's address. */
export function parseIpv6(s: string): bigint | null {
  if (typeof s !== 'string' || s.length < 2 || s.length > 39 || !/^[0-9a-fA-F:]+$/.test(s)) return null
  const halves = s.split('::')
  if (halves.length > 2) return null
  const side = (t: string): string[] | null => {
    if (t === '') return []
    const g = t.split(':')
    return g.every((x) => GROUP.test(x)) ? g : null
  }
  const head = side(halves[0])
  const tail = halves.length === 2 ? side(halves[1]) : []
  if (!head || !tail) return null
  let groups: string[]
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return null
    groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail]
  } else {
    if (head.length !== 8) return null
    groups = head
  }
  return groups.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n)
}

export function isIpv6(s: string): boolean {
  return parseIpv6(s) !== null
}

/** RFC 5952's form: what `ip` and Docker print. */
export function ipv6Text(n: bigint): string {
  const g = Array.from({length: 8}, (_, i) => Number((n >> BigInt(16 * (7 - i))) & 0xffffn))
  let best = -1
  let bestLen = 1 // a single zero group stays "0"
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = g.map((x) => x.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

export interface Cidr6 {
  base: bigint
  prefix: number
}

const ALL = (1n << 128n) - 1n

export function size6(c: Cidr6): bigint {
  return 1n << BigInt(128 - c.prefix)
}

/** fd4c:6162:1::/64; the host bits must be zero (as Docker requires). A prefix from 48 to
 * 120: a sandbox network wants room for addresses, and nothing shorter is lab's to take. */
export function parseCidr6(s: string, what = '--subnet'): Cidr6 {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(s)
  const base = m ? parseIpv6(m[1]) : null
  const prefix = m ? Number(m[2]) : NaN
  if (base === null || !(prefix >= 48 && prefix <= 120)) throw usageError(`${what} "${s}" is not an IPv6 subnet`, 'give ADDRESS/PREFIX with a prefix from 48 to 120, e.g. fd00:1:2:3::/64')
  const c = {base, prefix}
  const host = base & (size6(c) - 1n)
  if (host !== 0n) throw usageError(`${what} "${s}" has host bits set`, `use ${cidr6Text({base: base & ~(size6(c) - 1n) & ALL, prefix})}`)
  return c
}

export function cidr6Text(c: Cidr6): string {
  return `${ipv6Text(c.base)}/${c.prefix}`
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return ip >= c.base && ip < c.base + size6(c)
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  return a.base < b.base + size6(b) && b.base < a.base + size6(a)
}

/** A usable address of c: not the subnet-router anycast address (the first, RFC 4291 2.6.1). */
export function isHost6(c: Cidr6, ip: bigint): boolean {
  return contains6(c, ip) && ip !== c.base
}

/** lab's unique-local prefix (RFC 4193): fd, then "Lab" in ASCII (4c 61 62) as the global
 * ID. Its 65536 /64s are handed out one per network; a fixed prefix (not a random one per
 * host, as RFC 4193 would have it) so that a network's addresses read as lab's at a glance
 * and tests can tell them apart. These addresses are not routed off the host: egress is
 * masqueraded (NAT66), as Docker does for a ULA subnet. */
export const LAB_ULA = parseCidr6('fd4c:6162::/48', 'lab\'s prefix')

/** The first /64 of LAB_ULA that overlaps none of `taken`, starting at a random one so two
 * hosts' networks rarely share a prefix; null when all are taken. */
export function freeUla64(taken: Cidr6[]): Cidr6 | null {
  const start = randomBytes(2).readUInt16BE(0)
  for (let i = 0; i < 65536; i++) {
    const n = (start + i) % 65536
    if (n === 0) continue // fd4c:6162::/64 is left out: the prefix itself reads as no network
    const c = {base: LAB_ULA.base + (BigInt(n) << 64n), prefix: 64}
    if (!taken.some((t) => overlaps6(c, t))) return c
  }
  return null
}
