/**
 * A network's bridge in the kernel, made with iproute2 (`ip -batch`: one process for all
 * of it; this runs when a network is created or found missing, not per sandbox), and the
 * sysctls its traffic needs: forwarding, and route_localnet on the bridge so that a
 * published port answers on 127.0.0.1 (the firewall drops anything else to 127/8 from it).
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'

import {LabError} from '../errors.js'
import {cidrText, intToIp, type Cidr} from './cidr.js'

export interface BridgeConfig {
  bridge: string
  subnet: Cidr
  gateway: number
  mtu: number
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
  return made
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
