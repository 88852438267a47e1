/**
 * Bridged networks: what `lab network …` does, and the engine's BridgeNetworks
 * (src/sandbox/networks.ts) — addresses for a new sandbox, the bridge, firewall and name
 * server before it starts, and reconciling after sandboxes are gone by any way (rm,
 * --rm, a killed CLI or supervisor: the next command, or `lab system prune`).
 *
 * The state is the records: a network's file, the sandboxes' records (their spec names
 * the network, address, aliases and ports) and pending leases. The kernel side — bridge,
 * nftables tables, name server — is derived from them and made to match (apply()).
 */
import {spawnSync} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {LabError, usageError} from '../errors.js'
import type {BridgeSpec, NetworkAttachment, PortMapping} from '../sandbox/networks.js'
import type {SandboxRequest} from '../sandbox/request.js'
import {writeFileAtomic} from '../sandbox/state/atomic.js'
import {Store, type SandboxRecord} from '../sandbox/state/store.js'
import {vethPrefix} from '../sandbox/plan.js'
import {randomBytes} from 'node:crypto'
import {cidrText, intToIp, ipToInt, isHost, isIpv4, overlaps, parseCidr, size} from './cidr.js'
import {sandboxRunning} from './alive.js'
import {dnsPid, ensureDns, stopDns} from './dns.js'
import {applyRuleset, bridgeKey, removeRuleset, ruleset, tableName, type PublishedPort} from './firewall.js'
import {hostNet, type HostPortEntry} from './host-wide.js'
import {cidr6Text, freeUla64, ipv6Text, isHost6, overlaps6, parseCidr6, parseIpv6, size6, type Cidr6} from './cidr6.js'
import {bridgeExists, ensureBridge, haveIpv6, hostRoutes, hostRoutes6, removeBridge} from './kernel.js'
import {macOf, v4Of, v6Of} from './pairs.js'
import {allocatePorts, parseExposed, parsePublish, type PortRequest} from './ports.js'
import {assertNetworkName, DEFAULT_MTU, DEFAULT_NETWORK, NetworkStore, RESERVED, type NetworkRecord} from './store.js'

const ALIAS = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*$/
export const DNS_SEARCH = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/

export interface CreateOptions {
  name: string
  driver?: string
  subnet?: string
  gateway?: string
  internal?: boolean
  /** --ipv6, and the v6 --subnet/--gateway (the command sorts the repeated flags by family) */
  ipv6?: boolean
  subnet6?: string
  gateway6?: string
  /** -o KEY=VALUE: com.docker.network.bridge.enable_icc, com.docker.network.driver.mtu, com.docker.network.bridge.name */
  opts?: string[]
  labels?: string[]
}

export interface NetworkSandbox {
  id: string
  name: string
  address: string
  /** on an IPv6 network */
  address6?: string
  /** 02:42 and the address's four bytes, as the helper sets it (Docker's MacAddress) */
  mac: string
  aliases: string[]
  running: boolean
}

const running = sandboxRunning

export {macOf}

function keyValues(list: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const kv of list ?? []) {
    const i = kv.indexOf('=')
    if (i <= 0) throw usageError(`${what} "${kv}" is not KEY=VALUE`, `e.g. ${what} com.docker.network.bridge.enable_icc=false`)
    out[kv.slice(0, i)] = kv.slice(i + 1)
  }
  return out
}

export function hostResolvers(): {servers: string[]; search: string[]} {
  let text = ''
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8')
  } catch {}
  const servers: string[] = []
  let search: string[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    // a loopback resolver of the host is not reachable from a sandbox's own namespace
    if (f[0] === 'nameserver' && isIpv4(f[1] ?? '') && !f[1].startsWith('127.')) servers.push(f[1])
    if ((f[0] === 'search' || f[0] === 'domain') && f.length > 1) search = f.slice(1).filter((d) => DNS_SEARCH.test(d))
  }
  return {servers: servers.slice(0, 3), search: search.slice(0, 6)}
}

/** The networks of one state directory (the engine hands its Store in: register.ts). */
export class Networks {
  readonly store: Store
  readonly nets: NetworkStore

  constructor(store?: Store | string) {
    this.store = store instanceof Store ? store : new Store(store)
    this.nets = new NetworkStore(this.store)
  }

  // ------------------------------------------------------------ lab network …

  async create(o: CreateOptions): Promise<NetworkRecord> {
    if (process.getuid?.() !== 0) throw usageError('user-defined networks need root', 'without root, run sandboxes with --network pasta (or bridge): user-mode networking with pasta')
    assertNetworkName(o.name)
    if (RESERVED.has(o.name)) throw usageError(`network name "${o.name}" is reserved`, 'pick another name; bridge, host, none and pasta are built in')
    if ((o.driver ?? 'bridge') !== 'bridge') throw usageError(`unknown network driver "${o.driver}"`, 'lab has the bridge driver only')
    const opts = keyValues(o.opts, '--opt')
    const labels = keyValues(o.labels, '--label')
    let icc = true
    let mtu = DEFAULT_MTU
    let bridgeName: string | undefined
    for (const [k, v] of Object.entries(opts)) {
      if (k === 'com.docker.network.bridge.enable_icc') {
        if (v !== 'true' && v !== 'false') throw usageError(`--opt ${k}=${v}: give true or false`)
        icc = v === 'true'
      } else if (k === 'com.docker.network.driver.mtu') {
        mtu = Number(v)
        if (!/^\d+$/.test(v) || mtu < 576 || mtu > 65520) throw usageError(`--opt ${k}=${v}: the MTU must be 576-65520`)
      } else if (k === 'com.docker.network.bridge.name') {
        if (!/^lab[a-zA-Z0-9_-]{1,12}$/.test(v)) throw usageError(`--opt ${k}=${v}: a bridge name starts with "lab" and has at most 15 characters`, 'e.g. labdev0; the firewall tells lab\'s bridges by that prefix')
        bridgeName = v
      } else {
        throw usageError(`unknown --opt ${k}`, 'lab knows com.docker.network.bridge.enable_icc, com.docker.network.driver.mtu and com.docker.network.bridge.name')
      }
    }
    return this.nets.lock(async () => {
      if (this.nets.load(o.name)) throw new LabError('network-exists', `network ${o.name} already exists`, {hint: `see lab network inspect ${o.name}, or remove it: lab network rm ${o.name}`})
      const others = [this.nets.load(DEFAULT_NETWORK) ?? this.nets.ensureDefault(), ...this.nets.all().filter((n) => n.name !== DEFAULT_NETWORK)]
      const ourBridges = new Set(others.map((n) => n.bridge))
      const routes = hostRoutes().filter((r) => !ourBridges.has(r.dev))
      const clash = (c: ReturnType<typeof parseCidr>) =>
        others.find((n) => overlaps(c, parseCidr(n.subnet)))?.name ?? routes.find((r) => overlaps(c, parseCidr(r.cidr, 'route')))?.cidr
      let subnet: ReturnType<typeof parseCidr>
      if (o.subnet !== undefined) {
        subnet = parseCidr(o.subnet)
        const c = clash(subnet)
        if (c) throw new LabError('network-overlap', `subnet ${o.subnet} overlaps ${others.some((n) => n.name === c) ? `network ${c}` : `the host's route ${c}`}`, {hint: 'pick a subnet that overlaps no other network, e.g. 10.90.0.0/24; see lab network inspect'})
      } else {
        let found: typeof subnet | undefined
        for (let i = 0; i < 256 && !found; i++) {
          const c = parseCidr(`10.89.${i}.0/24`)
          if (!clash(c)) found = c
        }
        if (!found) throw new LabError('network-overlap', 'no free subnet left in 10.89.0.0/16', {hint: 'give one with --subnet'})
        subnet = found
      }
      let gateway = subnet.base + 1
      if (o.gateway !== undefined) {
        if (!isIpv4(o.gateway) || !isHost(subnet, ipToInt(o.gateway))) throw usageError(`--gateway ${o.gateway} is not an address in ${cidrText(subnet)}`, `e.g. --gateway ${intToIp(subnet.base + 1)}`)
        gateway = ipToInt(o.gateway)
      }
      const v6 = ipv6Of(o, others)
      const id = this.nets.newId()
      const bridge = bridgeName ?? `lab-${id.slice(0, 11)}`
      if (others.some((n) => n.bridge === bridge)) throw usageError(`bridge ${bridge} is another network's`, 'pick another com.docker.network.bridge.name')
      const rec: NetworkRecord = {
        id, name: o.name, driver: 'bridge', bridge, subnet: cidrText(subnet), gateway: intToIp(gateway), ...v6, internal: o.internal ?? false,
        icc, mtu, dns: true, labels, options: opts, created: new Date().toISOString(),
      }
      this.nets.save(rec)
      try {
        await this.apply(rec)
      } catch (e) {
        await this.teardown(rec).catch(() => {})
        this.nets.remove(rec.name)
        throw e
      }
      return rec
    })
  }

  /** Reconciled first: what a killed CLI or supervisor left is gone before it is listed. */
  async list(): Promise<Array<NetworkRecord & {sandboxes: number}>> {
    this.nets.ensureDefault()
    if (process.getuid?.() === 0) await this.reconcile()
    return this.nets.all().map((n) => ({...n, sandboxes: this.sandboxesOn(n).length}))
  }

  async inspect(ref: string): Promise<NetworkRecord & {EnableIPv6: boolean; IPAM: Ipam; sandboxes: NetworkSandbox[]; kernel: {bridge: boolean; firewall: string; dnsPid: number}}> {
    const n = this.nets.get(ref)
    if (process.getuid?.() === 0) await this.reconcile()
    return {...n, ...ipamOf(n), sandboxes: this.sandboxesOn(n), kernel: {bridge: bridgeExists(n.bridge), firewall: tableName(n), dnsPid: n.dns ? dnsPid(this.nets, n) : 0}}
  }

  /** `evenInUse`: a lab run's state directory that goes as a whole (its sandboxes' records
   * with it), so its networks go even if a record would not. */
  async remove(ref: string, o: {evenInUse?: boolean} = {}): Promise<NetworkRecord> {
    const n = this.nets.get(ref)
    if (n.name === DEFAULT_NETWORK) throw usageError('the default network bridge cannot be removed', 'it is the host\'s default bridge (lab0), shared by every state directory; remove user-defined networks only')
    return this.nets.lock(async () => {
      const users = o.evenInUse ? [] : this.sandboxesOn(n)
      if (users.length) throw new LabError('network-in-use', `network ${n.name} is in use by ${users.length === 1 ? 'sandbox' : 'sandboxes'} ${users.map((u) => u.name).join(', ')}`, {hint: `remove ${users.length === 1 ? 'it' : 'them'} first: lab sandbox rm -f ${users.map((u) => u.name).join(' ')}`})
      await this.teardown(n)
      this.nets.remove(n.name)
      return n
    })
  }

  /** Removes every user-defined network no sandbox is on. */
  async prune(): Promise<string[]> {
    await this.reconcile()
    const removed: string[] = []
    for (const n of this.nets.all()) {
      if (n.name === DEFAULT_NETWORK || this.sandboxesOn(n).length) continue
      try {
        await this.remove(n.name)
        removed.push(n.name)
      } catch {}
    }
    return removed
  }

  private async teardown(n: NetworkRecord): Promise<void> {
    stopDns(this.nets, n)
    removeRuleset(n)
    removeBridge(n.bridge)
  }

  sandboxesOn(n: NetworkRecord): NetworkSandbox[] {
    const out: NetworkSandbox[] = []
    for (const rec of this.store.all()) {
      const a = rec.spec.bridge?.networks.find((x) => x.networkId === n.id)
      if (a) out.push({id: rec.id, name: rec.name, address: a.address, ...(a.address6 ? {address6: a.address6} : {}), mac: macOf(a.address), aliases: a.aliases, running: running(this.store, rec.id)})
    }
    return out
  }

  // ------------------------------------------------------------ the kernel side

  /** Bridge, firewall and name server as the records say; the ruleset is applied when it
   * changed (its last text is kept beside the record) or the bridge was made anew. */
  async apply(n: NetworkRecord, starting?: string): Promise<void> {
    const v6 = n.subnet6 && n.gateway6 ? {subnet6: parseCidr6(n.subnet6), gateway6: parseIpv6(n.gateway6)!} : {}
    const made = ensureBridge({bridge: n.bridge, subnet: parseCidr(n.subnet), gateway: ipToInt(n.gateway), mtu: n.mtu, ...v6})
    const mine = this.publishedPorts(starting)
    // lab0 is every state directory's: its ruleset holds their published ports too
    const shared = n.name === DEFAULT_NETWORK
    const entries = shared ? [...mine, ...hostNet().others(this.store.dirs.sandboxes)] : mine
    const ports: PublishedPort[] = entries.filter((e) => e.networkId === n.id).flatMap((e) => e.ports.map((p) => ({...p, address: e.address, address6: e.address6})))
    // sandboxes whose v6 address is not their v4 one's pair (recorded before pairing) only
    const extra6 = n.subnet6 ? this.sandboxesOn(n).filter((x) => x.address6 && v6Of(n, x.address) !== x.address6).map((x) => ({address6: x.address6!, mac: x.mac})) : []
    // the cache holds the ip and ip6 tables as applied and the bridge table's key: the bridge
    // table (with a dual-stack network's set of every address pair, up to 65,533 of them) is
    // made and sent only when it changed, which a start or a published port never makes it
    const ipText = ruleset(n, ports, extra6, 'ip')
    const key = bridgeKey(n, extra6)
    const cache = shared ? hostNet().rulesetCache : join(this.nets.dir, `${n.name}.nft`)
    let last: string | null = null
    try {
      last = readFileSync(cache, 'utf8')
    } catch {}
    if (made || last !== ipText + key) {
      const at = last?.lastIndexOf('# bridge table ') ?? -1
      const lastIp = at >= 0 ? last!.slice(0, at) : null
      const lastKey = at >= 0 ? last!.slice(at) : null
      applyRuleset(n, (made || lastIp !== ipText ? ipText : '') + (made || lastKey !== key ? ruleset(n, [], extra6, 'bridge') : ''))
      writeFileAtomic(cache, ipText + key)
    }
    if (n.dns) await ensureDns(this.nets, n)
  }

  /** Under the lock: this state directory's published ports (its running sandboxes' and
   * the one starting), told to the host for the others' port choices and lab0's ruleset. */
  private publishedPorts(starting?: string): HostPortEntry[] {
    const out: HostPortEntry[] = []
    for (const rec of this.store.all()) {
      const b = rec.spec.bridge
      if (!b || !b.ports.length) continue
      if (rec.id !== starting && !running(this.store, rec.id)) continue
      out.push({id: rec.id, networkId: b.networks[0].networkId, address: b.networks[0].address, address6: b.networks[0].address6, ports: b.ports, status: join(this.store.runDir(rec.id), 'status.json'), starting: rec.id === starting})
    }
    hostNet().publish(this.store.dirs.sandboxes, out)
    return out
  }

  // ------------------------------------------------------------ BridgeNetworks (the engine's)

  async attach(req: SandboxRequest, sb: {id: string; hostname: string; exposed: string[]}): Promise<{bridge: BridgeSpec; extraHosts: Array<{host: string; address: string}>}> {
    // without root, bridge means pasta (src/network/pasta.ts); a user-defined network needs root
    if (process.getuid?.() !== 0) throw usageError(`network ${req.network} is a user-defined network, which needs root`, 'without root, use --network pasta (or bridge): user-mode networking with pasta')
    const net = this.nets.get(req.network!)
    const userDefined = net.name !== DEFAULT_NETWORK
    const aliases = req.networkAliases ?? []
    for (const a of aliases) if (!ALIAS.test(a)) throw usageError(`invalid --network-alias "${a}"`, 'an alias is a DNS name: letters, digits, "-" and "_", dot-separated labels of at most 63 characters')
    if (aliases.length && !userDefined) throw usageError('--network-alias needs a user-defined network', 'the default bridge network has no name server: lab network create NAME, then --network NAME')
    if (req.ip !== undefined && !userDefined) throw usageError('--ip needs a user-defined network', 'lab network create --subnet …, then --network NAME --ip …')
    if (req.ip6 !== undefined && !net.subnet6) throw usageError(`--ip6 needs a network with IPv6; ${net.name} has none`, 'lab network create --ipv6 NAME, then --network NAME --ip6 …')
    for (const d of req.dns ?? []) if (!isIpv4(d)) throw usageError(`invalid --dns "${d}"`, 'give the IPv4 address of a name server')
    for (const d of req.dnsSearch ?? []) if (!DNS_SEARCH.test(d)) throw usageError(`invalid --dns-search "${d}"`, 'give a domain, e.g. example.org')
    const extraHosts: Array<{host: string; address: string}> = []
    for (const l of req.links ?? []) {
      const [target, alias] = l.split(':')
      if (!target || (alias !== undefined && !ALIAS.test(alias))) throw usageError(`invalid --link "${l}"`, 'use --link NAME or --link NAME:ALIAS')
      let rec: SandboxRecord
      try {
        rec = this.store.get(target)
      } catch {
        throw new LabError('no-such-sandbox', `--link ${l}: no such sandbox: ${target}`, {hint: 'start it first; see lab sandbox ps'})
      }
      const att = rec.spec.bridge?.networks.find((x) => x.networkId === net.id)
      if (!att) throw usageError(`--link ${l}: sandbox ${rec.name} is not on network ${net.name}`, `start it with --network ${net.name}`)
      if (!running(this.store, rec.id)) throw usageError(`--link ${l}: sandbox ${rec.name} is not running`, `start it: lab sandbox start ${rec.name}`)
      extraHosts.push({host: rec.name, address: att.address})
      if (alias && alias !== rec.name) extraHosts.push({host: alias, address: att.address})
    }
    const portReqs: PortRequest[] = (req.publish ?? []).flatMap(parsePublish)
    if (req.publishAll) {
      for (const e of sb.exposed.flatMap(parseExposed)) if (!portReqs.some((p) => p.port === e.port && p.proto === e.proto)) portReqs.push(e)
    } else {
      sb.exposed.forEach((e) => parseExposed(e)) // checked all the same
    }
    if (!net.subnet6) for (const p of portReqs) if (p.hostIp.includes(':')) throw usageError(`-p [${p.hostIp}]:…: network ${net.name} has no IPv6`, 'publish on an IPv4 address, or use a network made with --ipv6')
    const subnet = parseCidr(net.subnet)
    return this.nets.lock(async () => {
      const {address, address6} = this.freeAddresses(net, req.ip, req.ip6)
      // ports are the host's: those of every state directory's running sandboxes are taken
      const taken: PortMapping[] = []
      for (const rec of this.store.all()) if (rec.spec.bridge?.ports.length && running(this.store, rec.id)) taken.push(...rec.spec.bridge.ports)
      for (const e of hostNet().others(this.store.dirs.sandboxes)) taken.push(...e.ports)
      const ports = dualStack(net, await allocatePorts(portReqs, taken), taken)
      this.leaseBoth(net, address, address6, sb.id, req.ip6 !== undefined)
      const host = hostResolvers()
      const dns = {
        servers: req.dns ?? (net.dns ? [net.gateway] : host.servers),
        search: req.dnsSearch ?? (net.dns ? [] : host.search),
        options: net.dns && !req.dns ? ['ndots:0'] : [],
      }
      const attachment: NetworkAttachment = {
        network: net.name, networkId: net.id, bridge: net.bridge, address, prefix: subnet.prefix,
        gateway: net.internal ? null : net.gateway, mtu: net.mtu, aliases, ...v6Attachment(net, address6),
      }
      return {bridge: {networks: [attachment], ports, dns}, extraHosts: [{host: sb.hostname, address}, ...(address6 ? [{host: sb.hostname, address: address6}] : []), ...extraHosts]}
    })
  }

  /** Under the lock: the v4 lease and, on an IPv6 network, the v6 one; both or neither.
   * The one asked for first, so a taken --ip6 is named in the error. */
  private leaseBoth(net: NetworkRecord, address: string, address6: string | undefined, id: string, v6First = false): void {
    const [a, b] = v6First && address6 ? [address6, address] : [address, address6]
    this.nets.lease(net.name, a, id)
    if (!b) return
    try {
      this.nets.lease(net.name, b, id)
    } catch (e) {
      this.nets.release(net.name, a)
      throw e
    }
  }

  /** Under the lock: a sandbox's v4 address and, on an IPv6 network, the v6 address paired
   * with it (pairs.ts): the pair --ip or --ip6 names (or both, if they agree), else the
   * first pair free in both families. */
  private freeAddresses(net: NetworkRecord, ip?: string, ip6?: string): {address: string; address6?: string} {
    if (!net.subnet6) return {address: this.freeAddress(net, ip)}
    const range = pairRange(net)
    if (ip6 !== undefined) {
      const address6 = checkIp6(net, ip6)
      const address = v4Of(net, address6)
      if (address === null) throw usageError(`--ip6 ${ip6} has no IPv4 address paired with it on network ${net.name}`, `a sandbox's v6 address is the v6 subnet's plus its v4 address's offset in ${net.subnet}: pick one from ${range}`)
      if (ip !== undefined && ip !== address) throw usageError(`--ip ${ip} and --ip6 ${ip6} are not a pair on network ${net.name}`, `give one of them: --ip6 ${ip6} goes with ${address}${isIpv4(ip) && v6Of(net, ip) ? `, --ip ${ip} with ${v6Of(net, ip)}` : ''}`)
      return {address: this.freeAddress(net, address), address6}
    }
    if (ip !== undefined) {
      const address = this.freeAddress(net, ip)
      const address6 = v6Of(net, address)
      if (address6 === null) throw usageError(`--ip ${ip} has no IPv6 address paired with it on network ${net.name}`, `its v6 subnet ${net.subnet6} is smaller than ${net.subnet} or the pair is its gateway: pick an address whose v6 pair is in ${range}`)
      return {address, address6}
    }
    const subnet = parseCidr(net.subnet)
    this.nets.dropStaleLeases(net.name)
    const leased = this.nets.leases(net.name)
    for (let a = subnet.base + 1; a < subnet.base + size(subnet) - 1; a++) {
      const address = intToIp(a)
      if (address === net.gateway || leased.has(address)) continue
      const address6 = v6Of(net, address)
      if (address6 !== null && !leased.has(address6)) return {address, address6}
    }
    throw new LabError('network-full', `network ${net.name} has no free address pair left`, {hint: 'remove stopped sandboxes (lab system prune) or use larger subnets'})
  }

  /** Under the lock: the address asked for if it is free, else the first free one. */
  private freeAddress(net: NetworkRecord, ip?: string): string {
    const subnet = parseCidr(net.subnet)
    const gateway = ipToInt(net.gateway)
    this.nets.dropStaleLeases(net.name)
    const leased = this.nets.leases(net.name)
    if (ip !== undefined) {
      if (!isIpv4(ip) || !isHost(subnet, ipToInt(ip)) || ipToInt(ip) === gateway) throw usageError(`--ip ${ip} is not a free host address of network ${net.name} (${net.subnet}, gateway ${net.gateway})`, 'pick an address inside the subnet, not its gateway')
      return ip
    }
    for (let a = subnet.base + 1; a < subnet.base + size(subnet) - 1; a++) if (a !== gateway && !leased.has(intToIp(a))) return intToIp(a)
    throw new LabError('network-full', `network ${net.name} has no free address left`, {hint: 'remove stopped sandboxes (lab system prune) or use a larger --subnet'})
  }

  /**
   * Attaches a bridged sandbox to one more network (Docker's `network connect`): recorded
   * for its next start, and, while it runs, plugged in now (a veth made with iproute2 and
   * configured from inside its namespace by nsenter; a restart by policy keeps the
   * networks it was started with until it is stopped and started).
   */
  async connect(netRef: string, sandboxRef: string, o: {ip?: string; ip6?: string; aliases?: string[]} = {}): Promise<{network: string; sandbox: string; address: string; address6?: string; interface: string}> {
    const net = this.nets.get(netRef)
    const id = this.store.resolve(sandboxRef)
    return this.store.lock(id, async () => {
      const rec = this.store.get(id)
      const b = rec.spec.bridge
      if (!b) throw usageError(`sandbox ${rec.name} is not on a bridged network`, 'a sandbox joins more networks once it is on one: run it with --network bridge or NAME')
      if (b.networks.some((a) => a.networkId === net.id)) throw new LabError('already-connected', `sandbox ${rec.name} is already on network ${net.name}`, {hint: `see lab network inspect ${net.name}`})
      if (b.networks.length >= 8) throw usageError(`sandbox ${rec.name} is on 8 networks already`, 'disconnect one first')
      const aliases = o.aliases ?? []
      for (const a of aliases) if (!ALIAS.test(a)) throw usageError(`invalid --alias "${a}"`, 'an alias is a DNS name: letters, digits, "-" and "_", dot-separated labels of at most 63 characters')
      if ((aliases.length || o.ip !== undefined) && net.name === DEFAULT_NETWORK) throw usageError('--ip and --alias need a user-defined network', 'lab network create NAME first')
      if (o.ip6 !== undefined && !net.subnet6) throw usageError(`--ip6 needs a network with IPv6; ${net.name} has none`, 'lab network create --ipv6 NAME first')
      return this.nets.lock(async () => {
        const {address, address6} = this.freeAddresses(net, o.ip, o.ip6)
        this.leaseBoth(net, address, address6, id, o.ip6 !== undefined)
        const att: NetworkAttachment = {network: net.name, networkId: net.id, bridge: net.bridge, address, prefix: parseCidr(net.subnet).prefix, gateway: net.internal ? null : net.gateway, mtu: net.mtu, aliases, ...v6Attachment(net, address6)}
        const ifname = `eth${b.networks.length}`
        const pid = running(this.store, id) ? this.store.status(id)!.pid : 0
        await this.apply(net)
        if (pid) {
          hotplug(att, ifname, pid)
          this.nets.bind(net.name, address, id)
          if (address6) this.nets.bind(net.name, address6, id)
        }
        b.networks.push(att)
        this.store.save(rec)
        if (address6) await this.apply(net) // its v6 address is bound to its MAC at the bridge port
        return {network: net.name, sandbox: rec.name, address, ...(address6 ? {address6} : {}), interface: ifname}
      })
    })
  }

  /** Detaches a sandbox from a network: at once while it runs, and from its next start. */
  async disconnect(netRef: string, sandboxRef: string): Promise<{network: string; sandbox: string}> {
    const net = this.nets.get(netRef)
    const id = this.store.resolve(sandboxRef)
    return this.store.lock(id, async () => {
      const rec = this.store.get(id)
      const b = rec.spec.bridge
      const i = b?.networks.findIndex((a) => a.networkId === net.id) ?? -1
      if (!b || i < 0) throw new LabError('not-connected', `sandbox ${rec.name} is not on network ${net.name}`, {hint: `see lab sandbox inspect ${rec.name}`})
      if (b.networks.length === 1) throw usageError(`network ${net.name} is the only network of sandbox ${rec.name}`, 'a sandbox keeps at least one network; remove the sandbox instead')
      const pid = running(this.store, id) ? this.store.status(id)!.pid : 0
      const gone = b.networks[i]
      if (pid) unplug(gone.address, pid)
      b.networks.splice(i, 1)
      if (i === 0) b.ports = [] // published ports were the first network's
      this.store.save(rec)
      await this.nets.lock(async () => {
        this.nets.release(net.name, gone.address)
        if (gone.address6) this.nets.release(net.name, gone.address6)
        await this.apply(net)
      })
      return {network: net.name, sandbox: rec.name}
    })
  }

  /** Before sandbox id starts: its leases bound, its networks' bridges, rulesets (with its
   * published ports) and name servers in place. */
  async beforeStart(id: string): Promise<void> {
    const rec = this.store.load(id)
    if (!rec?.spec.bridge) return
    await this.nets.lock(async () => {
      for (const a of rec.spec.bridge!.networks) {
        const n = this.nets.get(a.network)
        if (n.id !== a.networkId) throw new LabError('no-such-network', `network ${a.network} of sandbox ${rec.name} was removed`, {hint: `remove the sandbox and run it again: lab sandbox rm ${rec.name}`})
        this.nets.bind(n.name, a.address, id)
        if (a.address6) this.nets.bind(n.name, a.address6, id)
        await this.apply(n, id)
      }
    })
  }

  /** Every network made to match the records: stale leases dropped, rulesets re-applied. */
  async reconcile(): Promise<void> {
    await this.nets.lock(async () => {
      for (const n of this.nets.all()) {
        this.nets.dropStaleLeases(n.name)
        await this.apply(n)
      }
    })
  }
}

export type {NetworkRecord} from './store.js'

// ------------------------------------------------------------ IPv6 (docs/network.md "IPv6")

/** The v6 part of a new network's record: the subnet given, or a free /64 of lab's ULA
 * prefix; the gateway given, or the subnet's first host address. */
function ipv6Of(o: CreateOptions, others: NetworkRecord[]): Pick<NetworkRecord, 'ipv6' | 'subnet6' | 'gateway6'> {
  if (!o.ipv6) {
    if (o.subnet6 !== undefined || o.gateway6 !== undefined) throw usageError(`an IPv6 ${o.subnet6 !== undefined ? '--subnet' : '--gateway'} needs --ipv6`, 'add --ipv6 to make the network dual-stack')
    return {}
  }
  if (!haveIpv6()) throw new LabError('network', 'this host has IPv6 turned off', {hint: 'boot without ipv6.disable=1, or leave out --ipv6'})
  const mine = new Set(others.map((n) => n.bridge))
  const theirs = [
    ...others.filter((n) => n.subnet6).map((n) => ({what: `network ${n.name}`, cidr: parseCidr6(n.subnet6!)})),
    ...hostRoutes6().filter((r) => !mine.has(r.dev)).map((r) => ({what: `the host's route ${cidr6Text(r.cidr)}`, cidr: r.cidr})),
  ]
  let subnet: Cidr6
  if (o.subnet6 !== undefined) {
    subnet = parseCidr6(o.subnet6)
    const c = theirs.find((t) => overlaps6(subnet, t.cidr))
    if (c) throw new LabError('network-overlap', `subnet ${o.subnet6} overlaps ${c.what}`, {hint: 'pick a v6 subnet that overlaps no other network, or leave it out for a free /64 of fd4c:6162::/48'})
  } else {
    const free = freeUla64(theirs.map((t) => t.cidr))
    if (!free) throw new LabError('network-overlap', 'no free /64 left in fd4c:6162::/48', {hint: 'give an IPv6 --subnet'})
    subnet = free
  }
  let gateway = subnet.base + 1n
  if (o.gateway6 !== undefined) {
    const g = parseIpv6(o.gateway6)
    if (g === null || !isHost6(subnet, g)) throw usageError(`--gateway ${o.gateway6} is not an address in ${cidr6Text(subnet)}`, `e.g. --gateway ${ipv6Text(subnet.base + 1n)}`)
    gateway = g
  }
  return {ipv6: true, subnet6: cidr6Text(subnet), gateway6: ipv6Text(gateway)}
}

interface Ipam {
  Driver: 'default'
  Config: Array<{Subnet: string; Gateway: string}>
}

/** Docker's EnableIPv6 and IPAM of `network inspect`: a subnet and gateway per family. */
function ipamOf(n: NetworkRecord): {EnableIPv6: boolean; IPAM: Ipam} {
  const config = [{Subnet: n.subnet, Gateway: n.gateway}]
  if (n.subnet6 && n.gateway6) config.push({Subnet: n.subnet6, Gateway: n.gateway6})
  return {EnableIPv6: !!n.ipv6, IPAM: {Driver: 'default', Config: config}}
}

/** An attachment's v6 fields (none on an IPv4-only network). */
function v6Attachment(net: NetworkRecord, address6: string | undefined): Partial<NetworkAttachment> {
  if (!address6 || !net.subnet6) return {}
  return {address6, prefix6: parseCidr6(net.subnet6).prefix, gateway6: net.internal ? null : net.gateway6!}
}

/** Docker's dual-stack publishing: a port published on every address (0.0.0.0) of a
 * sandbox on an IPv6 network answers on the host's v6 addresses too (hostIp "::"), on the
 * same host port. */
function dualStack(net: NetworkRecord, ports: PortMapping[], taken: PortMapping[]): PortMapping[] {
  if (!net.subnet6) return ports
  const out: PortMapping[] = []
  for (const p of ports) {
    out.push(p)
    if (p.hostIp !== '0.0.0.0') continue
    const v6 = {...p, hostIp: '::'}
    if ([...taken, ...out].some((t) => t.proto === v6.proto && t.hostPort === v6.hostPort && t.hostIp.includes(':'))) {
      throw new LabError('port-in-use', `host port [::]:${p.hostPort}/${p.proto} is already published by another sandbox`, {hint: 'pick another host port, or leave it out (-p PORT) for a free one'})
    }
    out.push(v6)
  }
  return out
}

/** --ip6 checked against the v6 subnet and gateway; its canonical text. */
function checkIp6(net: NetworkRecord, ip6: string): string {
  const subnet = parseCidr6(net.subnet6!)
  const a = parseIpv6(ip6)
  if (a === null || !isHost6(subnet, a) || a === parseIpv6(net.gateway6!)) throw usageError(`--ip6 ${ip6} is not a free host address of network ${net.name} (${net.subnet6}, gateway ${net.gateway6})`, 'pick an address inside the v6 subnet, not its gateway')
  return ipv6Text(a)
}

/** The v6 addresses a network's sandboxes can have, for a hint ("A to B"). */
function pairRange(net: NetworkRecord): string {
  const subnet = parseCidr(net.subnet)
  let first: string | null = null
  let last: string | null = null
  for (let a = subnet.base + 1; a < subnet.base + size(subnet) - 1; a++) {
    const a6 = v6Of(net, intToIp(a))
    if (a6 === null) continue
    first ??= a6
    last = a6
  }
  return first ? `${first} to ${last}` : 'none (the v6 subnet is too small)'
}

function run(argv: string[], what: string): void {
  const r = spawnSync(argv[0], argv.slice(1), {encoding: 'utf8'})
  if (r.status !== 0) throw new LabError('network', `${what}: ${(r.stderr || String(r.error ?? '')).trim().split('\n')[0]}`, {hint: 'needs root, iproute2 and nsenter (util-linux)'})
}

/** A veth into a running sandbox's namespace, its end inside configured from within. */
function hotplug(a: NetworkAttachment, ifname: string, pid: number): void {
  const host = vethPrefix(a.networkId) + randomBytes(4).toString('hex')
  const ns = `--net=/proc/${pid}/ns/net`
  run(['ip', 'link', 'add', host, 'mtu', String(a.mtu), 'type', 'veth', 'peer', 'name', ifname, 'address', macOf(a.address), 'mtu', String(a.mtu), 'netns', String(pid)], 'connect')
  run(['ip', 'link', 'set', host, 'master', a.bridge, 'up'], 'connect')
  run(['nsenter', ns, 'ip', 'addr', 'add', `${a.address}/${a.prefix}`, 'dev', ifname], 'connect')
  if (a.address6) {
    // usable at once: no duplicate address detection (the lease makes it unique)
    run(['nsenter', ns, 'ip', '-6', 'addr', 'add', `${a.address6}/${a.prefix6}`, 'dev', ifname, 'nodad'], 'connect')
  }
  run(['nsenter', ns, 'ip', 'link', 'set', ifname, 'up'], 'connect')
}

/** Removes the running sandbox's interface that has this address (its pair goes with it). */
function unplug(address: string, pid: number): void {
  const ns = `--net=/proc/${pid}/ns/net`
  const r = spawnSync('nsenter', [ns, 'ip', '-o', '-4', 'addr', 'show'], {encoding: 'utf8'})
  const line = (r.stdout ?? '').split('\n').find((l) => l.includes(` ${address}/`))
  if (line) run(['nsenter', ns, 'ip', 'link', 'del', line.split(/\s+/)[1]], 'disconnect')
}
