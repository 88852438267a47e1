/**
 * A sandbox's addresses on a dual-stack network come in fixed pairs, so the bridge's
 * anti-spoofing is one set made with the network and never changed by a start:
 *   MAC  = 02:42 and the v4 address's four bytes (Docker's rule; the helper sets it, net.c)
 *   v6   = the v6 subnet's base + the v4 address's offset in the v4 subnet
 *          (10.90.1.7 on 10.90.1.0/24 with fd00:90:1::/64 is fd00:90:1::7)
 * Each host address of the v4 subnet has one v6 address and one MAC, so the network's set
 * of (v6 address . MAC) pairs (firewall.ts) is known when the network is made. Docker
 * derives the MAC from the v4 address the same way; --ip6 chooses the pair by its v6 half.
 */
import {intToIp, ipToInt, isHost, parseCidr, size} from './cidr.js'
import {ipv6Text, isHost6, parseCidr6, parseIpv6, size6} from './cidr6.js'
import type {NetworkRecord} from './store.js'

/** The most pairs a network's set holds (the v4 subnet's first 65,535 offsets). */
export const MAX_PAIRS = 65535

/** The MAC the helper gives a sandbox with this v4 address (src/sandbox-native/net.c). */
export const macOf = (address: string): string => ['02', '42', ...address.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':')

type Net = Pick<NetworkRecord, 'subnet' | 'gateway' | 'subnet6' | 'gateway6'>

/** The v6 address paired with a v4 one, or null when the network has no v6 or the offset
 * falls outside the v6 subnet, on its gateway or past MAX_PAIRS. */
export function v6Of(n: Net, address: string): string | null {
  if (!n.subnet6 || !n.gateway6) return null
  const s4 = parseCidr(n.subnet)
  const s6 = parseCidr6(n.subnet6)
  const off = ipToInt(address) - s4.base
  if (off < 1 || off > MAX_PAIRS || !isHost(s4, ipToInt(address))) return null
  const a6 = s6.base + BigInt(off)
  if (!isHost6(s6, a6) || a6 === parseIpv6(n.gateway6)) return null
  return ipv6Text(a6)
}

/** The v4 address paired with a v6 one, or null when there is none (see v6Of). */
export function v4Of(n: Net, address6: string): string | null {
  if (!n.subnet6) return null
  const a6 = parseIpv6(address6)
  const s6 = parseCidr6(n.subnet6)
  if (a6 === null || a6 < s6.base) return null
  const off = a6 - s6.base
  const s4 = parseCidr(n.subnet)
  if (off < 1n || off > BigInt(MAX_PAIRS) || off >= BigInt(size(s4))) return null
  const a4 = intToIp(s4.base + Number(off))
  return a4 !== n.gateway && v6Of(n, a4) !== null ? a4 : null
}

/** Every (v6 address, MAC) pair a sandbox of the network can have, in offset order. Made
 * at every start on the network (the ruleset is compared with the last one applied), so
 * text is built from fixed prefixes rather than address arithmetic per pair. */
export function pairs6(n: Net): Array<{address6: string; mac: string}> {
  if (!n.subnet6 || !n.gateway6) return []
  const s4 = parseCidr(n.subnet)
  const s6 = parseCidr6(n.subnet6)
  const gw6 = parseIpv6(n.gateway6)
  const v6room = size6(s6) - 1n
  const last = Math.min(size(s4) - 2, MAX_PAIRS, v6room > BigInt(MAX_PAIRS) ? MAX_PAIRS : Number(v6room))
  const low = Number(s6.base & 0xffffn)
  // the last group is never 0 (offset ≥ 1), so when the offsets stay in it every address
  // is the subnet's first one's text with that group changed
  const head = low + last <= 0xffff ? ipv6Text(s6.base + 1n).replace(/[0-9a-f]+$/, '') : null
  const hex = Array.from({length: 256}, (_, i) => i.toString(16).padStart(2, '0'))
  const gw4 = ipToInt(n.gateway)
  const out: Array<{address6: string; mac: string}> = []
  for (let off = 1; off <= last; off++) {
    const a4 = s4.base + off
    if (a4 === gw4) continue
    const a6 = head !== null ? head + (low + off).toString(16) : ipv6Text(s6.base + BigInt(off))
    if (a6 === n.gateway6 || (head === null && s6.base + BigInt(off) === gw6)) continue
    out.push({address6: a6, mac: `02:42:${hex[a4 >>> 24]}:${hex[(a4 >>> 16) & 255]}:${hex[(a4 >>> 8) & 255]}:${hex[a4 & 255]}`})
  }
  return out
}
