/**
 * A network's bridge in the kernel, made with iproute2 (`ip -batch`: one process for all
 * of it; this runs when a network is created or found missing, not per sandbox), and the
 * sysctls its traffic needs: forwarding, and route_localnet on the bridge so that a
 * published port answers on 127.0.0.1 (the firewall drops anything else to 127/8 from it).
 * An IPv6 network's bridge also has its v6 gateway (no duplicate address detection: it is
 * usable at once), IPv6 enabled on it, and the namespace's net.ipv6.conf.all.forwarding on
 * (which, as with Docker, makes the host's own interfaces stop taking router advertisements).
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'

import {LabError} from '../errors.js'
import {cidrText, intToIp, type Cidr} from './cidr.js'
import {ipv6Text, type Cidr6} from './cidr6.js'

export interface BridgeConfig {
  bridge: string
  subnet: Cidr
  gateway: number
  mtu: number
  /** IPv6 networks: the v6 subnet and the bridge's v6 address in it */
  subnet6?: Cidr6
  gateway6?: bigint
}

export function bridgeExists(name: string): boolean {
  // /proc/sys/net is the reading process's namespace's (sysfs is the one it was mounted in)
  return existsSync(`/proc/sys/net/ipv4/conf/${name}`)
}

function ip(batch: string, what: string): void {
  const r = spawnSync('ip', ['-batch', '-'], {input: batch, encoding: 'utf8'})
  if (r.error) throw new LabError('network', `${what}: cannot run ip (${(r.error as NodeJS.ErrnoException).code})`, {hint: 'install iproute2'})
  if (r.status !== 0) throw new LabError('network', `${what}: ${(r.stderr || '').trim().split('\n')[0]}`, {hint: 'bridged networks need root (CAP_NET_ADMIN); see lab doctor'})
}

function sysctl(path: string, value: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() !== value) writeFileSync(path, value)
  } catch (e) {
    throw new LabError('network', `cannot set ${path.replace('/proc/sys/', '').replaceAll('/', '.')}: ${(e as Error).message}`, {hint: 'bridged networks need root'})
  }
}

/** Creates the bridge with its gateway address, or leaves a complete one as it is. */
export function ensureBridge(c: BridgeConfig): boolean {
  let made = false
  if (!bridgeExists(c.bridge)) {
    ip(`link add name ${c.bridge} mtu ${c.mtu} type bridge\naddr add ${intToIp(c.gateway)}/${c.subnet.prefix} dev ${c.bridge}\nlink set ${c.bridge} up\n`, `bridge ${c.bridge}`)
    made = true
  }
  sysctl('/proc/sys/net/ipv4/ip_forward', '1')
  sysctl(`/proc/sys/net/ipv4/conf/${c.bridge}/route_localnet`, '1')
  if (c.subnet6 && c.gateway6 !== undefined) ensureBridge6(c.bridge, c.subnet6, c.gateway6, made)
  return made
}

/** The v6 side of an IPv6 network's bridge; its address is added when the bridge is new or
 * lost it (a namespace's IPv6 was off when it was made). */
function ensureBridge6(bridge: string, subnet: Cidr6, gateway: bigint, made: boolean): void {
  sysctl(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '0')
  sysctl(`/proc/sys/net/ipv6/conf/${bridge}/accept_ra`, '0')
  sysctl('/proc/sys/net/ipv6/conf/all/forwarding', '1')
  if (made || !hasAddress6(bridge, gateway, subnet.prefix)) ip(`addr replace ${ipv6Text(gateway)}/${subnet.prefix} dev ${bridge} nodad\n`, `bridge ${bridge}`)
}

/** Whether the interface has this v6 address and prefix: /proc/net/if_inet6 (this namespace's),
 * read rather than asking `ip`, since this runs before every start on the network. */
function hasAddress6(dev: string, address: bigint, prefix: number): boolean {
  const hex = address.toString(16).padStart(32, '0')
  const want = `${prefix.toString(16).padStart(2, '0')}`
  try {
    return readFileSync('/proc/net/if_inet6', 'utf8').split('\n').some((l) => {
      const f = l.trim().split(/\s+/)
      return f[0] === hex && f[2] === want && f[5] === dev
    })
  } catch {
    return false
  }
}

/** Whether this namespace has IPv6 at all (a kernel booted with ipv6.disable=1 has not). */
export function haveIpv6(): boolean {
  return existsSync('/proc/sys/net/ipv6/conf/all/forwarding')
}

export function removeBridge(name: string): void {
  if (bridgeExists(name)) ip(`link del ${name}\n`, `bridge ${name}`)
}

/** The host's IPv4 routes (other than lab's bridges): a new subnet must not overlap them. */
export function hostRoutes(): Array<{dev: string; cidr: string}> {
  try {
    return readFileSync('/proc/net/route', 'utf8')
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split(/\s+/))
      .filter((f) => f[1] !== '00000000')
      .map((f) => {
        const le = (h: string) => Number.parseInt(h, 16)
        const b = le(f[1]), m = le(f[7])
        const swap = (n: number) => ((n & 0xff) * 2 ** 24) + (((n >>> 8) & 0xff) << 16) + (((n >>> 16) & 0xff) << 8) + (n >>> 24)
        const mask = swap(m)
        const prefix = mask.toString(2).replace(/0+$/, '').length
        return {dev: f[0], cidr: cidrText({base: swap(b), prefix})}
      })
  } catch {
    return []
  }
}

/** The host's IPv6 routes (other than lab's bridges and link-local, multicast and default
 * ones): a new v6 subnet must not overlap them. */
export function hostRoutes6(): Array<{dev: string; cidr: Cidr6}> {
  try {
    return readFileSync('/proc/net/ipv6_route', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 10 && f[1] !== '00' && f[9] !== 'lo' && !/^fe[89ab]/.test(f[0]) && !f[0].startsWith('ff'))
      .map((f) => ({dev: f[9], cidr: {base: BigInt('0x' + f[0]), prefix: Number.parseInt(f[1], 16)}}))
  } catch {
    return []
  }
}
