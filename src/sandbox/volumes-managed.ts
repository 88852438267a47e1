/**
 * Managed volumes: named (-v NAME:/path) and anonymous (-v /path) volumes that live in
 * the state directory (volumes/NAME/_data) and outlive the sandboxes that use them.
 * mkdir(2) of volumes/NAME is the exclusive create, so concurrent CLIs cannot clash.
 */
import {chownSync, mkdirSync, readdirSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {LabError, usageError} from '../errors.js'
import {newId, NAME_PATTERN} from './names.js'
import {cleanDestination} from './paths.js'
import type {BindMount} from './spec.js'
import {readJson, writeJsonAtomic} from './state/atomic.js'
import type {Store} from './state/store.js'
import {checkDestinationAllowed} from './volumes.js'

export interface VolumeInfo {
  name: string
  driver: 'local'
  mountpoint: string
  createdAt: string
  anonymous: boolean
  usedBy: string[]
  sizeBytes?: number
}

export interface ManagedMount {
  mount: BindMount
  volume: {name: string; destination: string; anonymous: boolean; readOnly: boolean}
}

/** Owner of managed volume data on the host: no login user, below the id pool (userns.ts). */
export const VOLUME_OWNER_ID = 999_999_999

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/

export class Volumes {
  constructor(private readonly store: Store) {}

  private dir(name: string): string {
    return join(this.store.dirs.volumes, name)
  }

  dataDir(name: string): string {
    return join(this.dir(name), '_data')
  }

  exists(name: string): boolean {
    return readJson(join(this.dir(name), 'meta.json')) !== null
  }

  /** Creates a volume; an existing one is returned as is unless mustBeNew. */
  create(name: string | undefined, opts: {anonymous?: boolean; mustBeNew?: boolean} = {}): VolumeInfo {
    const n = name ?? newId()
    if (!VOLUME_NAME.test(n)) throw usageError(`invalid volume name "${n}"`, 'volume names start with a letter or digit and use letters, digits, _ . -')
    try {
      mkdirSync(this.dir(n), {mode: 0o711})
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      if (opts.mustBeNew) throw new LabError('volume-exists', `volume "${n}" already exists`, {hint: 'choose another name, or use the existing volume'})
      // another CLI may be creating it right now: wait for its meta.json
      for (let i = 0; i < 100 && !this.exists(n); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
      if (this.exists(n)) return this.inspect(n)
    }
    // 0755 for _data: the sandbox's users must reach the volume; the parent stays 0700
    mkdirSync(this.dataDir(n), {recursive: true, mode: 0o755})
    // As root, sandboxes run remapped and writable volumes are id-mapped so that the
    // volume's owner is the sandbox's user inside. A volume owned by host root is not
    // mapped (root's files stay root's), so managed volumes get an owner of their own.
    if (process.getuid?.() === 0) chownSync(this.dataDir(n), VOLUME_OWNER_ID, VOLUME_OWNER_ID)
    writeJsonAtomic(join(this.dir(n), 'meta.json'), {name: n, createdAt: new Date().toISOString(), anonymous: opts.anonymous ?? false})
    return this.inspect(n)
  }

  usedBy(name: string): string[] {
    return this.store.all().filter((r) => r.volumes?.some((v) => v.name === name)).map((r) => r.name)
  }

  inspect(name: string): VolumeInfo {
    const meta = readJson<{name: string; createdAt: string; anonymous: boolean}>(join(this.dir(name), 'meta.json'))
    if (!meta) throw new LabError('no-such-volume', `no such volume: ${name}`, {hint: 'see `lab volume ls`'})
    return {name, driver: 'local', mountpoint: this.dataDir(name), createdAt: meta.createdAt, anonymous: meta.anonymous, usedBy: this.usedBy(name)}
  }

  list(): VolumeInfo[] {
    let names: string[] = []
    try {
      names = readdirSync(this.store.dirs.volumes)
    } catch {}
    return names.filter((n) => this.exists(n)).map((n) => this.inspect(n))
  }

  remove(name: string, opts: {force?: boolean} = {}): void {
    if (!this.exists(name)) {
      if (opts.force) return
      throw new LabError('no-such-volume', `no such volume: ${name}`, {hint: 'see `lab volume ls`'})
    }
    const users = this.usedBy(name)
    if (users.length) throw new LabError('volume-in-use', `volume "${name}" is in use by ${users.join(', ')}`, {hint: `remove ${users.length > 1 ? 'those sandboxes' : 'that sandbox'} first (lab sandbox rm ${users[0]})`})
    rmSync(this.dir(name), {recursive: true, force: true})
  }

  /** Removes unused volumes: anonymous ones, or every unused one with all. */
  prune(opts: {all?: boolean} = {}): string[] {
    const removed: string[] = []
    for (const v of this.list()) {
      if (v.usedBy.length || (!v.anonymous && !opts.all)) continue
      rmSync(this.dir(v.name), {recursive: true, force: true})
      removed.push(v.name)
    }
    return removed
  }

  /** -v NAME:/dest[:ro] or -v /dest: true when the value names a managed volume. */
  static isManaged(value: string): boolean {
    const first = value.split(':')[0]
    if (value.startsWith('/') && !value.includes(':')) return true // anonymous
    return first !== '' && !first.startsWith('/') && !first.startsWith('.') && NAME_PATTERN.test(first)
  }

  /** Resolves a managed -v value, creating the volume when it does not exist (as Docker does). */
  resolve(value: string): ManagedMount {
    const parts = value.split(':')
    let name: string | undefined
    let dest: string
    let opts = ''
    if (parts.length === 1) dest = parts[0]
    else if (parts.length === 2 && parts[0].startsWith('/')) [dest, opts] = parts
    else if (parts.length <= 3) [name, dest, opts = ''] = parts
    else throw usageError(`invalid volume "${value}"`, 'use -v NAME:/path[:ro] for a named volume or -v /path for an anonymous one')
    let readOnly = false
    for (const o of opts.split(',').filter(Boolean)) {
      if (o === 'ro' || o === 'readonly') readOnly = true
      else if (o === 'rw') readOnly = false
      else throw usageError(`volume "${value}": unknown option "${o}"`, 'options are ro or rw')
    }
    const destination = cleanDestination(dest, 'volume destination')
    checkDestinationAllowed(destination, '-v')
    const existed = name !== undefined && this.exists(name)
    const info = this.create(name, {anonymous: name === undefined})
    // -v data:/x makes a volume that outlives the sandbox: say so the one time it happens
    // (on a terminal: a script gets Docker's silence), and how to bind ./data instead
    if (name !== undefined && !existed && process.stderr.isTTY) {
      process.stderr.write(`lab: created the managed volume "${name}"; it outlives the sandbox (\`lab volume rm ${name}\` removes it). To bind a host directory, give a path: -v "$PWD/${name}:${dest}"\n`)
    }
    const source = info.mountpoint
    if (!statSync(source).isDirectory()) throw new LabError('volume-broken', `volume ${info.name} has no data directory`, {hint: `remove it with lab volume rm ${info.name}`})
    return {mount: {type: 'bind', source, destination, readOnly}, volume: {name: info.name, destination, anonymous: info.anonymous, readOnly}}
  }
}
