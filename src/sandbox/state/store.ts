/**
 * The sandbox store: one directory per sandbox (config.json, log, seccomp filter) under
 * the data root, its runtime status under the run root, and a name index of symlinks
 * (names/NAME -> id). symlink(2) and mkdir(2) are atomic and exclusive, so 50 CLIs
 * creating sandboxes at once can never take the same name or id, and every file is
 * replaced by rename: a reader sees the old or the new content, never a mix.
 */
import {existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {LabError, usageError} from '../../errors.js'
import {assertValidName, generateName, ID_PATTERN, NAME_PATTERN, shortId} from '../names.js'
import type {SandboxSpec} from '../spec.js'
import {readJson, writeJsonAtomic} from './atomic.js'
import {withLock} from './lock.js'
import {ensureLayout, layout, stateRoots, type StateRoots} from './paths.js'

export type RestartPolicyName = 'no' | 'on-failure' | 'always' | 'unless-stopped'

export interface SandboxRecord {
  id: string
  name: string
  created: string
  spec: SandboxSpec
  restart: {name: RestartPolicyName; maximumRetryCount: number}
  autoRemove: boolean
  keepStdin: boolean
  logMaxBytes: number
  /** --log-opt max-file: files kept, the current one included (absent: 2) */
  logMaxFiles?: number
  /** managed volumes this sandbox mounts: name → anonymous? */
  volumes: Array<{name: string; destination: string; anonymous: boolean; readOnly: boolean}>
  /** set once the sandbox has been started (a missing runtime status then means the host restarted) */
  everStarted: boolean
  /** -t: the program runs on a pty of the sandbox's devpts; its output is logged as stdout */
  tty?: boolean
  /** the host id range its user namespace maps onto (as the helper reported it at the last start) */
  userns?: {hostUidBase: number; hostGidBase: number; size: number} | null
}

/** What the supervisor writes to status.json (see src/sandbox-native/detach.c). */
export interface SupervisorStatus {
  state: 'created' | 'running' | 'restarting' | 'exited'
  pid: number
  supervisorPid: number
  supervisorStart: number
  startedAt: number
  finishedAt: number
  exitCode: number
  signal: number
  killedBy: string | null
  restartCount: number
  manualStop: boolean
  error: {stage?: string; call?: string; path?: string; message?: string; errnoName?: string} | null
  /** the groups' final counter files, read by the supervisor just before it removed them */
  cgroup?: Record<string, string>
}

export class Store {
  readonly roots: StateRoots
  readonly dirs: ReturnType<typeof layout>

  constructor(stateDir?: string) {
    this.roots = stateRoots(stateDir)
    this.dirs = ensureLayout(this.roots)
  }

  dir(id: string): string {
    return join(this.dirs.sandboxes, id)
  }

  runDir(id: string): string {
    return join(this.dirs.runSandboxes, id)
  }

  lock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return withLock(join(this.dir(id), 'lock'), `sandbox ${shortId(id)}`, fn)
  }

  load(id: string): SandboxRecord | null {
    return readJson<SandboxRecord>(join(this.dir(id), 'config.json'))
  }

  save(rec: SandboxRecord): void {
    writeJsonAtomic(join(this.dir(rec.id), 'config.json'), rec)
  }

  status(id: string): SupervisorStatus | null {
    return readJson<SupervisorStatus>(join(this.runDir(id), 'status.json'))
  }

  /** Every complete record (a directory without config.json is a create in progress or a crash). */
  ids(): string[] {
    try {
      return readdirSync(this.dirs.sandboxes).filter((n) => ID_PATTERN.test(n))
    } catch {
      return []
    }
  }

  all(): SandboxRecord[] {
    return this.ids().map((id) => this.load(id)).filter((r): r is SandboxRecord => r !== null)
  }

  nameHolder(name: string): string | null {
    try {
      return readlinkSync(join(this.dirs.names, name))
    } catch {
      return null
    }
  }

  /** Takes a name for id; a name held by a record that no longer exists is stale and freed. */
  reserveName(name: string, id: string): void {
    const link = join(this.dirs.names, name)
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        symlinkSync(id, link)
        return
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        const holder = this.nameHolder(name)
        if (holder === id) return
        if (holder && !existsSync(join(this.dir(holder), 'config.json')) && !existsSync(this.dir(holder))) {
          try {
            unlinkSync(link)
          } catch {}
          continue
        }
        throw new LabError('name-conflict', `the name "${name}" is already in use by sandbox ${holder ? shortId(holder) : '?'}`, {
          hint: `remove that sandbox (lab sandbox rm ${name}) or choose another --name`,
        })
      }
    }
    throw new LabError('name-conflict', `the name "${name}" is already in use`, {hint: 'choose another --name'})
  }

  releaseName(name: string, id: string): void {
    if (this.nameHolder(name) === id) {
      try {
        unlinkSync(join(this.dirs.names, name))
      } catch {}
    }
  }

  /** Creates the record: exclusive directory, then the name, then config.json. */
  create(rec: Omit<SandboxRecord, 'name'> & {name?: string}): SandboxRecord {
    const dir = this.dir(rec.id)
    mkdirSync(dir, {mode: 0o700})
    try {
      let name = rec.name
      if (name !== undefined) {
        assertValidName(name)
        this.reserveName(name, rec.id)
      } else {
        for (let attempt = 0; ; attempt++) {
          const candidate = generateName(attempt)
          try {
            this.reserveName(candidate, rec.id)
            name = candidate
            break
          } catch (e) {
            if (!(e instanceof LabError) || e.code !== 'name-conflict' || attempt > 50) throw e
          }
        }
      }
      const full: SandboxRecord = {...rec, name, spec: {...rec.spec, name}}
      this.save(full)
      return full
    } catch (e) {
      if (rec.name) this.releaseName(rec.name, rec.id)
      rmSync(dir, {recursive: true, force: true})
      throw e
    }
  }

  /** Finds a sandbox by full id, name, or unique id prefix (Docker's order). */
  resolve(ref: string): string {
    if (typeof ref !== 'string' || ref === '') throw usageError('no sandbox given', 'name a sandbox by its name or id; see lab sandbox ps -a')
    if (ID_PATTERN.test(ref) && this.load(ref)) return ref
    if (NAME_PATTERN.test(ref)) {
      const holder = this.nameHolder(ref)
      if (holder && this.load(holder)) return holder
    }
    if (/^[0-9a-f]{1,63}$/.test(ref)) {
      const matches = this.ids().filter((id) => id.startsWith(ref) && this.load(id))
      if (matches.length === 1) return matches[0]
      if (matches.length > 1) {
        throw new LabError('ambiguous-id', `"${ref}" matches ${matches.length} sandboxes (${matches.slice(0, 3).map(shortId).join(', ')}${matches.length > 3 ? ', …' : ''})`, {
          hint: 'give more digits of the id, or the name',
        })
      }
    }
    if (!NAME_PATTERN.test(ref)) throw usageError(`invalid sandbox name or id "${ref}"`, 'names use letters, digits, _ . -; ids are hexadecimal')
    throw new LabError('no-such-sandbox', `no such sandbox: ${ref}`, {hint: 'see `lab sandbox ps -a` for the sandboxes there are'})
  }

  get(ref: string): SandboxRecord {
    const id = this.resolve(ref)
    const rec = this.load(id)
    if (!rec) throw new LabError('no-such-sandbox', `no such sandbox: ${ref}`, {hint: 'see `lab sandbox ps -a`'})
    return rec
  }

  /** Removes every trace of a record (its runtime files included). */
  destroy(rec: SandboxRecord): void {
    // config.json first: from then on the record does not exist and its name is free
    rmSync(join(this.dir(rec.id), 'config.json'), {force: true})
    this.releaseName(rec.name, rec.id)
    rmSync(this.runDir(rec.id), {recursive: true, force: true})
    rmSync(this.dir(rec.id), {recursive: true, force: true})
  }
}
