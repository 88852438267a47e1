/**
 * Rootless `--network pasta[:--map-gw]` (and `--network bridge` without root): the
 * sandbox gets an interface served by pasta (src/sandbox/pasta.ts, the helper's
 * src/sandbox-native/pasta.c). Here: the one option, the published ports (pasta listens
 * on them as the caller, so ports below net.ipv4.ip_unprivileged_port_start are
 * refused), and the resolver. Nothing of the host is changed: no bridge, rule or lease.
 */
import {readFileSync} from 'node:fs'

import {usageError} from '../errors.js'
import type {PortMapping} from '../sandbox/networks.js'
import {parsePastaNetwork, requirePasta, type PastaSpec} from '../sandbox/pasta.js'
import type {SandboxRequest} from '../sandbox/request.js'
import {Store} from '../sandbox/state/store.js'
import {sandboxRunning} from './alive.js'
import {isIpv4} from './cidr.js'
import {DNS_SEARCH, hostResolvers} from './networks.js'
import {allocatePorts, parseExposed, parsePublish, type PortRequest} from './ports.js'

/** The lowest port an unprivileged process may bind (1024 unless the host lowered it). */
export function unprivilegedPortStart(): number {
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim())
    return Number.isInteger(n) && n >= 0 ? n : 1024
  } catch {
    return 1024
  }
}

/** The published ports a sandbox asks for (-p, -P with --expose and the image's ExposedPorts). */
function portRequests(req: SandboxRequest, exposed: string[]): PortRequest[] {
  const out: PortRequest[] = (req.publish ?? []).flatMap(parsePublish)
  const all = exposed.flatMap(parseExposed) // checked either way
  if (req.publishAll) for (const e of all) if (!out.some((p) => p.port === e.port && p.proto === e.proto)) out.push(e)
  return out
}

export async function pastaAttach(req: SandboxRequest, sb: {id: string; exposed: string[]}, store?: Store): Promise<PastaSpec> {
  const network = req.network!
  if (process.getuid?.() === 0) {
    if (network === 'bridge') throw usageError('--network bridge as root is a real bridge, not pasta', 'this is an internal error: report it')
    throw usageError('--network pasta is for rootless sandboxes', 'as root, use --network bridge or a network of `lab network create`: real bridges, with their firewall')
  }
  const {mapGateway} = network === 'bridge' ? {mapGateway: false} : parsePastaNetwork(network)
  for (const [flag, v] of [['ip', req.ip], ['network-alias', req.networkAliases], ['link', req.links]] as const) {
    if (v !== undefined) throw usageError(`--${flag} needs a user-defined network, which needs root`, 'without root, leave it out: --network pasta gives the sandbox the host\'s address, published ports with -p')
  }
  for (const d of req.dns ?? []) if (!isIpv4(d)) throw usageError(`invalid --dns "${d}"`, 'give the IPv4 address of a name server')
  for (const d of req.dnsSearch ?? []) if (!DNS_SEARCH.test(d)) throw usageError(`invalid --dns-search "${d}"`, 'give a domain, e.g. example.org')
  requirePasta()
  const reqs = portRequests(req, sb.exposed)
  const low = unprivilegedPortStart()
  for (const p of reqs) {
    if (p.hostPort !== 0 && p.hostPort < low) {
      throw usageError(`host port ${p.hostPort} is below ${low}, which only root may bind`, `publish on a port from ${low} up (e.g. -p ${p.hostPort + 8000 <= 65535 ? p.hostPort + 8000 : 8080}:${p.port}), or as root lower net.ipv4.ip_unprivileged_port_start`)
    }
  }
  if (reqs.length > 64) throw usageError(`${reqs.length} published ports: pasta takes at most 64`, 'publish fewer ports, or ranges the sandbox needs only')
  // the host's ports other sandboxes of this state directory publish are taken
  const taken: PortMapping[] = []
  const st = store ?? new Store()
  if (reqs.length) {
    for (const rec of st.all()) {
      const ports = [...(rec.spec.bridge?.ports ?? []), ...(rec.spec.pasta?.ports ?? [])]
      if (ports.length && sandboxRunning(st, rec.id)) taken.push(...ports)
    }
  }
  const ports = await allocatePorts(reqs, taken)
  const host = hostResolvers()
  return {mapGateway, ports, dns: {servers: req.dns ?? host.servers, search: req.dnsSearch ?? host.search, options: []}}
}
