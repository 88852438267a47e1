/**
 * Bridged networks as the engine sees them. The engine runs what a spec says (a veth
 * pair per attachment, plan line `veth`, src/sandbox-native/net.c) but does not own
 * networks: bridges, addresses, firewall rules and the name server are src/network/'s,
 * which registers itself here (src/network/register.ts). The engine never imports it;
 * a request that names a bridged network without it registered is refused.
 */
import {usageError} from '../errors.js'
import type {PastaSpec} from './pasta.js'
import type {SandboxRequest} from './request.js'
import type {Store} from './state/store.js'

/** One network a sandbox is attached to: its interface inside is eth0, eth1… in order. */
export interface NetworkAttachment {
  /** the network's name and id */
  network: string
  networkId: string
  /** the host bridge its host-side veth joins */
  bridge: string
  address: string
  prefix: number
  /** the default route (none on an --internal network) */
  gateway: string | null
  /** IPv6 networks: the v6 address, its prefix length and the v6 default route (null on
   * an --internal network); absent on an IPv4-only one */
  address6?: string
  prefix6?: number
  gateway6?: string | null
  mtu: number
  /** names the network's resolver answers for, besides the sandbox's name */
  aliases: string[]
}

export interface PortMapping {
  hostIp: string
  hostPort: number
  port: number
  proto: 'tcp' | 'udp'
}

/** What a spec of a bridged sandbox carries (spec.bridge). */
export interface BridgeSpec {
  networks: NetworkAttachment[]
  ports: PortMapping[]
  /** /etc/resolv.conf */
  dns: {servers: string[]; search: string[]; options: string[]}
}

export interface BridgeNetworks {
  /** --network NAME, --ip, --network-alias, -p, -P, --dns…, --link: the spec's part, with
   * addresses leased to sandbox `id`; extraHosts are /etc/hosts lines it adds (own address, links) */
  attach(req: SandboxRequest, sandbox: {id: string; hostname: string; exposed: string[]}, store?: Store): Promise<{bridge: BridgeSpec; extraHosts: Array<{host: string; address: string}>}>
  /** before a start: the bridges exist, the firewall holds this sandbox's published ports, the resolver runs */
  beforeStart(store: Store, id: string): Promise<void>
  /** after sandboxes were removed (rm, prune): leases, ports and names of the gone are dropped */
  reconcile(store: Store): Promise<void>
  /** rootless --network pasta[:--map-gw] (and bridge without root): published ports and
   * the resolver of a sandbox served by pasta (src/sandbox/pasta.ts) */
  pasta(req: SandboxRequest, sandbox: {id: string; exposed: string[]}, store?: Store): Promise<PastaSpec>
}

let provider: BridgeNetworks | undefined

export function registerBridgeNetworks(p: BridgeNetworks): void {
  provider = p
}

export function bridgeNetworks(): BridgeNetworks | undefined {
  return provider
}

/** none, host and sandbox:NAME are the engine's own; anything else is a bridged network. */
export function isBridged(network: string | undefined): boolean {
  return network !== undefined && network !== 'none' && network !== 'host' && !/^(sandbox|container):/.test(network)
}

export function requireBridgeNetworks(network: string): BridgeNetworks {
  if (!provider) throw usageError(`network "${network}" is not available here`, 'bridged networks are available from the lab command line; use --network none or host')
  return provider
}
