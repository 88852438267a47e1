/**
 * Networks as records: one JSON file per network in <state>/networks/, and the address
 * leases of sandboxes being created (leases/<network>/<address>: a sandbox id). A lease
 * is held while its sandbox's record exists; a lease without one (a create that failed
 * or was killed) is dropped once it is a minute old. The default network `bridge`
 * (10.88.0.0/16 on lab0) is made on first use, as Docker's docker0 is there from the start.
 */
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {LabError, usageError} from '../errors.js'
import {readJson, writeJsonAtomic} from '../sandbox/state/atomic.js'
import {withLock} from '../sandbox/state/lock.js'
import type {Store} from '../sandbox/state/store.js'
import {hostNet} from './host-wide.js'

export interface NetworkRecord {
  id: string
  name: string
  driver: 'bridge'
  bridge: string
  subnet: string
  gateway: string
  /** IPv6 (--ipv6): a v6 subnet and the bridge's v6 address beside the v4 ones; absent
   * on records made before IPv6 and on the default bridge (IPv4 only, as Docker's) */
  ipv6?: boolean
  subnet6?: string
  gateway6?: string
  internal: boolean
  /** inter-sandbox communication (com.docker.network.bridge.enable_icc) */
  icc: boolean
  mtu: number
  /** the network's own name server (user-defined networks, as Docker's embedded DNS) */
  dns: boolean
  labels: Record<string, string>
  options: Record<string, string>
  created: string
}

export const DEFAULT_NETWORK = 'bridge'
/** Loopback's MTU: a veth at 1500 carries sandbox-to-sandbox TCP at ~0.6× of loopback, at
 * 65520 at loopback's rate or better (bench/network.mjs). Traffic leaving the host is
 * fitted to the uplink by path MTU discovery, whose ICMP the firewall lets through
 * (related); -o com.docker.network.driver.mtu=1500 gives Docker's default. */
export const DEFAULT_MTU = 65520
export const RESERVED = new Set(['bridge', 'host', 'none', 'default', 'pasta'])
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/

export function defaultNetwork(): NetworkRecord {
  return {
    id: '0'.repeat(56) + '6c616230', // "lab0": stable, so a sandbox's spec names it the same everywhere
    name: DEFAULT_NETWORK, driver: 'bridge', bridge: 'lab0', subnet: '10.88.0.0/16', gateway: '10.88.0.1',
    internal: false, icc: true, mtu: DEFAULT_MTU, dns: false, labels: {}, options: {}, created: new Date().toISOString(),
  }
}

export class NetworkStore {
  readonly dir: string
  readonly leaseDir: string

  constructor(readonly sandboxes: Store) {
    this.dir = join(sandboxes.roots.data, 'networks')
    this.leaseDir = join(this.dir, 'leases')
    mkdirSync(this.leaseDir, {recursive: true, mode: 0o700})
  }

  /** One lock for every change of networks, leases and ports: they are few and quick. As
   * root, the host's lock too (host-wide.ts), always after this one. */
  lock<T>(fn: () => Promise<T>): Promise<T> {
    const inner = process.getuid?.() === 0 ? () => hostNet().lock(fn) : fn
    return withLock(join(this.dir, '.lock'), 'the network configuration', inner)
  }

  /** The default network's leases are the host's: every state directory shares lab0. */
  private leasesOf(network: string): string {
    return network === DEFAULT_NETWORK && process.getuid?.() === 0 ? hostNet().leaseDir : join(this.leaseDir, network)
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`)
  }

  load(name: string): NetworkRecord | null {
    if (!NAME_PATTERN.test(name)) return null
    return readJson<NetworkRecord>(this.file(name))
  }

  all(): NetworkRecord[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => readJson<NetworkRecord>(join(this.dir, f)))
      .filter((n): n is NetworkRecord => n !== null)
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  /** By name, id or a unique id prefix. */
  get(ref: string): NetworkRecord {
    const byName = this.load(ref)
    if (byName) return byName
    if (/^[0-9a-f]{3,64}$/.test(ref)) {
      const hits = this.all().filter((n) => n.id.startsWith(ref))
      if (hits.length === 1) return hits[0]
    }
    if (ref === DEFAULT_NETWORK) return this.ensureDefault()
    throw new LabError('no-such-network', `no such network: ${ref}`, {hint: 'see lab network ls, or create it: lab network create ' + (NAME_PATTERN.test(ref) ? ref : 'NAME')})
  }

  ensureDefault(): NetworkRecord {
    const n = this.load(DEFAULT_NETWORK)
    if (n) return n
    const d = defaultNetwork()
    writeJsonAtomic(this.file(d.name), d)
    return d
  }

  save(n: NetworkRecord): void {
    writeJsonAtomic(this.file(n.name), n)
  }

  remove(name: string): void {
    rmSync(this.file(name), {force: true})
    rmSync(join(this.dir, `${name}.nft`), {force: true})
    rmSync(join(this.leaseDir, name), {recursive: true, force: true})
  }

  newId(): string {
    return randomBytes(32).toString('hex')
  }

  // ------------------------------------------------------------ leases

  /** Addresses leased on a network: address → "ID" or "ID bound". */
  leases(network: string): Map<string, string> {
    const dir = this.leasesOf(network)
    const out = new Map<string, string>()
    let names: string[] = []
    try {
      names = readdirSync(dir)
    } catch {}
    for (const a of names) {
      try {
        out.set(a, readFileSync(join(dir, a), 'utf8').trim())
      } catch {}
    }
    return out
  }

  lease(network: string, address: string, id: string): void {
    const dir = this.leasesOf(network)
    mkdirSync(dir, {recursive: true, mode: 0o700})
    try {
      writeFileSync(join(dir, address), `${id} pending ${this.sandboxes.dirs.sandboxes}\n`, {flag: 'wx', mode: 0o600})
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw usageError(`address ${address} is already in use on network ${network}`, 'leave out --ip for a free address, or pick another')
      throw e
    }
  }

  /** A started sandbox's lease is bound: once its record is gone, so is the lease. */
  bind(network: string, address: string, id: string): void {
    const path = join(this.leasesOf(network), address)
    try {
      if (readFileSync(path, 'utf8').split(/\s/)[0] === id) writeFileSync(path, `${id} bound ${this.sandboxes.dirs.sandboxes}\n`)
    } catch {}
  }

  /** Gives an address back (a sandbox disconnected from the network). */
  release(network: string, address: string): void {
    rmSync(join(this.leasesOf(network), address), {force: true})
  }

  /** Drops the leases whose sandbox is gone: its record removed after a start, or a
   * create that never finished (a pending lease older than a minute). */
  dropStaleLeases(network: string): string[] {
    const dropped: string[] = []
    const now = Date.now()
    for (const [address, text] of this.leases(network)) {
      // "ID STATE SANDBOXES-DIR": the record may be another state directory's (lab0's leases)
      const [id, state, dir] = text.split(/\s+/)
      const own = !dir || dir === this.sandboxes.dirs.sandboxes
      if (own ? this.sandboxes.load(id) : /^[0-9a-f]{64}$/.test(id) && existsSync(join(dir, id, 'config.json'))) continue
      const path = join(this.leasesOf(network), address)
      try {
        if (state !== 'bound' && now - statSync(path).mtimeMs < 60_000) continue // being created
      } catch {}
      rmSync(path, {force: true})
      dropped.push(address)
    }
    return dropped
  }
}

export function assertNetworkName(name: string): void {
  if (!NAME_PATTERN.test(name)) throw usageError(`invalid network name "${name}"`, 'use letters, digits, "_", "." and "-", starting with a letter or digit, at most 63 characters')
}
