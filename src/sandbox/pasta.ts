/**
 * Rootless user-mode networking with pasta (the passt project): the engine's side. The
 * helper runs pasta against the sandbox's new network namespace under a keeper process
 * that ends it with the sandbox (src/sandbox-native/pasta.c); this module finds pasta,
 * says whether it can work here, reads `--network pasta[:OPTION]`, and writes the plan
 * lines. Published ports and the resolver are chosen by src/network/pasta.ts.
 */
import {accessSync, constants, statSync} from 'node:fs'
import {join} from 'node:path'

import {usageError} from '../errors.js'
import type {PortMapping} from './networks.js'

/** What a spec of a sandbox on pasta carries (spec.pasta). */
export interface PastaSpec {
  /** --network pasta:--map-gw: the gateway address reaches the host's loopback */
  mapGateway: boolean
  ports: PortMapping[]
  /** /etc/resolv.conf */
  dns: {servers: string[]; search: string[]; options: string[]}
}

export const TUN_DEVICE = '/dev/net/tun'

/** The one option `--network pasta:OPTION` accepts: everything else pasta could be told
 * (other forwarding, another namespace's ports) would weaken the sandbox. */
const OPTIONS: Record<string, keyof PastaSpec> = {'--map-gw': 'mapGateway'}

/** `--network pasta` or `pasta:--map-gw` → {mapGateway}; anything else is refused. */
export function parsePastaNetwork(network: string): {mapGateway: boolean} {
  if (network === 'pasta') return {mapGateway: false}
  const opts = network.slice('pasta:'.length).split(',').filter(Boolean)
  if (!network.startsWith('pasta:') || opts.length === 0) throw usageError(`unknown network "${network}"`, 'use --network pasta or pasta:--map-gw')
  let mapGateway = false
  for (const o of opts) {
    if (OPTIONS[o] === undefined) throw usageError(`--network pasta: option "${o}" is not allowed`, 'the one option is --map-gw (the gateway address reaches the host\'s loopback): --network pasta:--map-gw')
    mapGateway = true
  }
  return {mapGateway}
}

/** `--network pasta…`, or `bridge` without root (user-mode networking stands in for it). */
export function isPastaNetwork(network: string | undefined, root = process.getuid?.() === 0): boolean {
  if (network === undefined) return false
  return network === 'pasta' || network.startsWith('pasta:') || (network === 'bridge' && !root)
}

/** The pasta program: the first on PATH, then the usual places; null when there is none. */
export function pastaBinary(path = process.env.PATH ?? ''): string | null {
  const dirs = [...path.split(':').filter((d) => d.startsWith('/')), '/usr/bin', '/usr/local/bin', '/usr/sbin']
  for (const d of dirs) {
    const f = join(d, 'pasta')
    try {
      if (statSync(f).isFile()) {
        accessSync(f, constants.X_OK)
        return f
      }
    } catch {}
  }
  return null
}

/** Whether this caller may open the tun device pasta makes the sandbox's interface with. */
export function tunUsable(): boolean {
  try {
    accessSync(TUN_DEVICE, constants.R_OK | constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** Whether users other than root may open the tun device (mode o+rw). */
export function othersMayOpenTun(): boolean {
  try {
    return (statSync(TUN_DEVICE).mode & 0o006) === 0o006
  } catch {
    return false
  }
}

/** pasta's path, or the one-line error that says what is missing here and how to fix it. */
export function requirePasta(): string {
  const bin = pastaBinary()
  if (!bin) throw usageError('user-mode networking needs pasta, which is not installed', 'install the passt package (apt-get install passt · dnf install passt), or use --network none')
  if (!tunUsable()) {
    let mode = ''
    try {
      mode = ` (mode ${(statSync(TUN_DEVICE).mode & 0o777).toString(8).padStart(4, '0')})`
    } catch {
      mode = ' (missing)'
    }
    throw usageError(`pasta needs ${TUN_DEVICE} readable and writable by you${mode}`, `as root: chmod 0666 ${TUN_DEVICE} (Debian's default), or use --network none`)
  }
  return bin
}

/** The helper's plan lines (plan.ts grammar: pasta, pastaport). */
export function pastaOps(p: PastaSpec, bin: string): Array<['pasta', string, 'map-gw' | 'no-map-gw'] | ['pastaport', 'tcp' | 'udp', string, number, number]> {
  return [['pasta', bin, p.mapGateway ? 'map-gw' : 'no-map-gw'], ...p.ports.map((x) => ['pastaport', x.proto, x.hostIp, x.hostPort, x.port] as ['pastaport', 'tcp' | 'udp', string, number, number])]
}
