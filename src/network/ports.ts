/**
 * -p / --publish in Docker's forms: PORT, HOSTPORT:PORT, IP:HOSTPORT:PORT, IP::PORT, each
 * with /tcp (default) or /udp, an IPv6 host address in brackets ([::1]:8080:80), and ranges of equal length (8000-8001:80-81); -P publishes
 * every exposed port (--expose, the image's ExposedPorts) on a free host port. A host port
 * is checked free by binding it (as Docker's proxy binds it) and against the ports other
 * sandboxes publish; a free one is the kernel's pick from its ephemeral range.
 */
import {createSocket} from 'node:dgram'
import {createServer} from 'node:net'

import {LabError, usageError} from '../errors.js'
import type {PortMapping} from '../sandbox/networks.js'
import {isIpv4} from './cidr.js'
import {ipv6Text, parseIpv6} from './cidr6.js'

export interface PortRequest {
  hostIp: string
  /** 0: any free port */
  hostPort: number
  port: number
  proto: 'tcp' | 'udp'
}

function portNumber(s: string, spec: string): number {
  const n = Number(s)
  if (!/^\d{1,5}$/.test(s) || n < 1 || n > 65535) throw usageError(`invalid port "${s}" in -p ${spec}`, 'ports are 1-65535, e.g. -p 8080:80 or -p 127.0.0.1:8080:80/udp')
  return n
}

function range(s: string, spec: string): number[] {
  const [a, b] = s.split('-')
  const lo = portNumber(a, spec)
  const hi = b === undefined ? lo : portNumber(b, spec)
  if (hi < lo || hi - lo > 1024) throw usageError(`invalid port range "${s}" in -p ${spec}`, 'give LOW-HIGH with LOW ≤ HIGH, at most 1024 ports')
  return Array.from({length: hi - lo + 1}, (_, i) => lo + i)
}

export function parsePublish(spec: string): PortRequest[] {
  let body = spec
  let proto: 'tcp' | 'udp' = 'tcp'
  const slash = spec.lastIndexOf('/')
  if (slash >= 0) {
    const p = spec.slice(slash + 1).toLowerCase()
    if (p !== 'tcp' && p !== 'udp') throw usageError(`invalid protocol "${p}" in -p ${spec}`, 'use /tcp (the default) or /udp')
    proto = p
    body = spec.slice(0, slash)
  }
  // [V6ADDRESS]:HOSTPORT:PORT, [V6ADDRESS]::PORT
  let v6: string | undefined
  const bracket = /^\[([^\]]*)\]:(.*)$/.exec(body)
  if (bracket) {
    const a = parseIpv6(bracket[1])
    if (a === null) throw usageError(`invalid host address "[${bracket[1]}]" in -p ${spec}`, 'give an IPv6 address of this host in brackets, e.g. -p [::1]:8080:80')
    // the kernel never routes a packet from ::1 off the loopback interface (IPv6 has no
    // route_localnet), so a DNAT from it cannot reach a sandbox: refused, not left dead
    if (a === 1n) throw usageError(`-p ${spec}: a port cannot be published on the host's ::1`, 'publish on 127.0.0.1 for the host only (-p 127.0.0.1:…), or on [::] for the host\'s IPv6 addresses')
    v6 = ipv6Text(a)
    body = `v6:${bracket[2]}`
  }
  const parts = body.split(':')
  if (v6 !== undefined && parts.length !== 3) throw usageError(`invalid -p ${spec}`, 'use [IP]:HOSTPORT:PORT or [IP]::PORT')
  if (parts.length > 3 || parts.some((p, i) => p === '' && !(parts.length === 3 && i === 1))) throw usageError(`invalid -p ${spec}`, 'use PORT, HOSTPORT:PORT, IP:HOSTPORT:PORT or IP::PORT, with /udp for UDP')
  const hostIp = v6 ?? (parts.length === 3 ? parts[0] : '0.0.0.0')
  if (v6 === undefined && !isIpv4(hostIp)) throw usageError(`invalid host address "${hostIp}" in -p ${spec}`, 'give an IPv4 address of this host, e.g. 127.0.0.1')
  const inner = range(parts[parts.length - 1], spec)
  const hostText = parts.length >= 2 ? parts[parts.length - 2] : ''
  const outer = hostText === '' ? inner.map(() => 0) : range(hostText, spec)
  if (outer.length !== inner.length) throw usageError(`-p ${spec}: the host and sandbox port ranges differ in length`, 'give ranges of the same length, e.g. 8000-8001:80-81')
  return inner.map((port, i) => ({hostIp, hostPort: outer[i], port, proto}))
}

/** "80", "80/tcp", "53/udp" (--expose, ExposedPorts) */
export function parseExposed(spec: string): PortRequest[] {
  const m = /^(\d{1,5}(?:-\d{1,5})?)(?:\/(tcp|udp|sctp))?$/i.exec(spec)
  if (!m) throw usageError(`invalid exposed port "${spec}"`, 'use PORT or PORT/udp, e.g. --expose 80')
  if (m[2]?.toLowerCase() === 'sctp') return []
  const proto = (m[2]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp'
  return range(m[1], spec).map((port) => ({hostIp: '0.0.0.0', hostPort: 0, port, proto}))
}

/** Binds the port for a moment: 0 picks a free one. Returns the port, or throws port-in-use. */
async function probe(hostIp: string, port: number, proto: 'tcp' | 'udp'): Promise<number> {
  const fail = (e: NodeJS.ErrnoException): never => {
    if (e.code === 'EADDRINUSE') throw new LabError('port-in-use', `host port ${hostText(hostIp)}:${port}/${proto} is already in use`, {hint: 'pick another host port, or leave it out (-p PORT) for a free one'})
    if (e.code === 'EADDRNOTAVAIL') throw usageError(`${hostIp} is not an address of this host`, 'publish on 0.0.0.0 (the default), 127.0.0.1 or an address of this host')
    throw e
  }
  if (proto === 'udp') {
    const s = hostIp.includes(':') ? createSocket({type: 'udp6', ipv6Only: true}) : createSocket('udp4')
    return new Promise((resolve, reject) => {
      s.once('error', (e) => {
        s.close()
        try {
          fail(e)
        } catch (x) {
          reject(x)
        }
      })
      s.bind(port, hostIp, () => {
        const got = s.address().port
        s.close(() => resolve(got))
      })
    })
  }
  const srv = createServer()
  return new Promise((resolve, reject) => {
    srv.once('error', (e) => {
      try {
        fail(e)
      } catch (x) {
        reject(x)
      }
    })
    srv.listen({port, host: hostIp, exclusive: true, ipv6Only: true}, () => {
      const got = (srv.address() as {port: number}).port
      srv.close(() => resolve(got))
    })
  })
}

/** How Docker prints a host address with its port: [::1] for IPv6. */
export const hostText = (ip: string): string => (ip.includes(':') ? `[${ip}]` : ip)

// the wildcard of each family ("0.0.0.0", "::") takes the port on that family's addresses only
const wildcard = (ip: string) => (ip.includes(':') ? ip === '::' : ip === '0.0.0.0')
const clash = (a: {hostIp: string; hostPort: number; proto: string}, b: {hostIp: string; hostPort: number; proto: string}) =>
  a.proto === b.proto && a.hostPort === b.hostPort && a.hostIp.includes(':') === b.hostIp.includes(':') && (a.hostIp === b.hostIp || wildcard(a.hostIp) || wildcard(b.hostIp))

/** Host ports for the requests: checked free on the host and not published by another sandbox. */
export async function allocatePorts(reqs: PortRequest[], taken: PortMapping[]): Promise<PortMapping[]> {
  const out: PortMapping[] = []
  for (const r of reqs) {
    for (let attempt = 0; ; attempt++) {
      const hostPort = await probe(r.hostIp, r.hostPort, r.proto)
      const m = {...r, hostPort}
      const other = [...taken, ...out].find((t) => clash(t, m))
      if (!other) {
        out.push(m)
        break
      }
      if (r.hostPort !== 0 || attempt > 20) throw new LabError('port-in-use', `host port ${hostText(m.hostIp)}:${hostPort}/${r.proto} is already published by another sandbox`, {hint: 'pick another host port, or leave it out (-p PORT) for a free one'})
    }
  }
  return out
}
