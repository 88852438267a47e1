/**
 * What the state directories of one host share. The user's own state, a lab run's private
 * one and any --state-dir put their sandboxes on the one default bridge (lab0) and publish
 * ports on the one host, so these are kept per network namespace (a bridge and a port are
 * a namespace's), in /run/lab/net-<inode of the namespace>/, under one lock:
 *   lab0-leases/ADDRESS   the default network's address leases ("ID STATE SANDBOXES-DIR")
 *   lab0.nft              the default network's last applied ruleset
 *   ports/<key>.json      the published ports of one state directory's running sandboxes
 * A state directory's ports file is rewritten whenever it applies a ruleset; another one's
 * entries count while their sandbox's supervisor lives (or, starting, for a minute).
 */
import {createHash} from 'node:crypto'
import {mkdirSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

import type {PortMapping} from '../sandbox/networks.js'
import {readJson, writeJsonAtomic} from '../sandbox/state/atomic.js'
import {withLock} from '../sandbox/state/lock.js'
import type {SupervisorStatus} from '../sandbox/state/store.js'
import {statusRunning} from './alive.js'

export interface HostPortEntry {
  id: string
  networkId: string
  /** the sandbox's address on that network */
  address: string
  /** its v6 address there, on an IPv6 network */
  address6?: string
  ports: PortMapping[]
  /** its supervisor's status.json */
  status: string
  /** being started when written: counts for a minute without a status */
  starting?: boolean
}

interface PortsFile {
  sandboxes: string
  entries: HostPortEntry[]
}

const STARTING_MS = 60_000

export class HostNet {
  readonly dir: string
  readonly leaseDir: string
  private readonly portsDir: string

  constructor(root = '/run/lab') {
    this.dir = join(root, `net-${statSync('/proc/self/ns/net').ino}`)
    this.leaseDir = join(this.dir, 'lab0-leases')
    this.portsDir = join(this.dir, 'ports')
    mkdirSync(this.leaseDir, {recursive: true, mode: 0o700})
    mkdirSync(this.portsDir, {recursive: true, mode: 0o700})
  }

  lock<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(join(this.dir, '.lock'), 'the host\'s bridges and ports', fn)
  }

  get rulesetCache(): string {
    return join(this.dir, 'lab0.nft')
  }

  private key(sandboxesDir: string): string {
    return createHash('sha256').update(sandboxesDir).digest('hex').slice(0, 16)
  }

  /** Under the lock: the published ports of one state directory, as they are now. */
  publish(sandboxesDir: string, entries: HostPortEntry[]): void {
    writeJsonAtomic(join(this.portsDir, `${this.key(sandboxesDir)}.json`), {sandboxes: sandboxesDir, entries} satisfies PortsFile)
  }

  /** The live entries of every other state directory. */
  others(sandboxesDir: string): HostPortEntry[] {
    const mine = `${this.key(sandboxesDir)}.json`
    const out: HostPortEntry[] = []
    let files: string[] = []
    try {
      files = readdirSync(this.portsDir)
    } catch {}
    for (const f of files) {
      if (f === mine || !f.endsWith('.json')) continue
      const path = join(this.portsDir, f)
      const file = readJson<PortsFile>(path)
      if (!file) continue
      let age = Infinity
      try {
        age = Date.now() - statSync(path).mtimeMs
      } catch {}
      for (const e of file.entries ?? []) if (live(e, age)) out.push(e)
    }
    return out
  }
}

function live(e: HostPortEntry, fileAge: number): boolean {
  const s = readJson<SupervisorStatus>(e.status)
  return s ? statusRunning(s) : !!e.starting && fileAge < STARTING_MS
}

let shared: HostNet | undefined
/** The host's, made on first use (bridged networks need root). */
export function hostNet(): HostNet {
  shared ??= new HostNet()
  return shared
}
