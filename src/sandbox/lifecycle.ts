/**
 * The sandbox lifecycle: detached sandboxes with names, states, logs, restart policies,
 * managed volumes and joined namespaces. The one API that `lab sandbox …`, `lab volume …`
 * and labs use; commands only print what it returns.
 *
 * A started sandbox is supervised by the native helper itself (src/sandbox-native/
 * detach.c): it outlives the CLI, writes status.json atomically, captures the output
 * into a capped log and restarts by policy. This module reads that status, talks to the
 * supervisor over its control socket, and notices (by pid + start time) when a
 * supervisor died, so the next command reports the truth and cleans up.
 *
 * States: created → running ⇄ paused; running → restarting → running; running → exited;
 * exited → running (start); created|exited → removed (rm), anything → removed (rm -f).
 */
import {closeSync, copyFileSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {availableParallelism, constants} from 'node:os'
import {join} from 'node:path'
import type {Duplex, Readable, Writable} from 'node:stream'

import {LabError, usageError} from '../errors.js'
import {buildSpec} from './build-spec.js'
import type {RunRequest} from './request.js'
import {cgroupDriver, type CgroupStats, DEFAULT_OWNER_DIR, writeOwnerRecord, sweepStaleCgroups, createSandboxCgroup, type SandboxCgroup} from './cgroups/index.js'
import {BASE_GROUPS, BASE_USERS} from './etc.js'
import {runHelper, startSupervisor} from './helper.js'
import {DEFAULT_LIMITS} from './limits.js'
import {assertValidName, ID_PATTERN, shortId} from './names.js'
import {buildCopyPlan, buildExecPlan, buildPlan, serializePlan, type PlanContext, type PlanOp, type SuperviseContext} from './plan.js'
import {failureExitCode, failureSentence, hintFor, resultFromEvents, signalName, type ExitEvent, type HelperError, type SandboxResult} from './result.js'
import type {BindMount, SandboxSpec} from './spec.js'
import {readJson, writeJsonAtomic} from './state/atomic.js'
import {isAlive, pidsInNamespaceOf, processStartTime, procInfo, type ProcInfo} from './state/proc.js'
import {attachToSupervisor, parseDetachKeys, type AttachIo, type AttachOptions} from './attach.js'
import {parseLogOptions} from './log-options.js'
import {formatSize} from './units.js'
import {Store, type RestartPolicyName, type SandboxRecord, type SupervisorStatus} from './state/store.js'
import {resolveUser} from './users.js'
import {validateSpec} from './validate.js'
import {Volumes} from './volumes-managed.js'
import {parseCopyArg, placeReceived, receiveHost, removeStaging, runCopyHelper, sandboxPath, sendHost, stagingFor, streamToTar, tarToStream, type CopyResult} from './copy.js'

export type {SandboxRecord} from './state/store.js'

/** A lifecycle request is the run request (request.ts). */
export type LifecycleRequest = RunRequest

/** The size a new pty starts with: the caller's terminal, else 24x80 as a VT100. */
export function terminalSize(): {rows: number; cols: number} {
  for (const s of [process.stdout, process.stderr]) if (s.isTTY && s.rows && s.columns) return {rows: s.rows, cols: s.columns}
  return {rows: 24, cols: 80}
}

export type SandboxStatusName = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'removed'

export interface SandboxState {
  status: SandboxStatusName
  running: boolean
  paused: boolean
  restarting: boolean
  pid: number
  exitCode: number
  signal: string | null
  killedBy: string | null
  error: string
  startedAt: string | null
  finishedAt: string | null
  restartCount: number
  supervisorPid: number
}

export interface SandboxSummary {
  id: string
  name: string
  command: string
  created: string
  state: SandboxState
  status: string
}

export interface LogLine {
  stream: 'stdout' | 'stderr'
  /** RFC 3339 with nanoseconds, as docker logs --timestamps prints it */
  time: string
  line: string
}

const STOP_SIGNALS = new Set([constants.signals.SIGKILL, constants.signals.SIGTERM])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The bytes of fd from offset to its end. */
function readFrom(fd: number, offset: number): Buffer {
  const size = fstatSync(fd).size
  if (size <= offset) return Buffer.alloc(0)
  const buf = Buffer.alloc(size - offset)
  let got = 0
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, offset + got)
    if (n === 0) break
    got += n
  }
  return buf.subarray(0, got)
}

/** Files a sandbox's log keeps (records from before --log-opt kept two). */
function logMaxFiles(rec: SandboxRecord): number {
  return rec.logMaxFiles ?? 2
}

export function parseRestartPolicy(value: string | undefined): SandboxRecord['restart'] {
  if (value === undefined || value === '') return {name: 'no', maximumRetryCount: 0}
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d{1,6}))?$/.exec(value)
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    throw usageError(`invalid --restart "${value}"`, 'use no, on-failure[:MAX-RETRIES], always or unless-stopped')
  }
  return {name: m[1] as RestartPolicyName, maximumRetryCount: m[2] ? Number(m[2]) : 0}
}

/** SIGTERM, TERM, 15 → 15. */
export function parseSignal(value: string): number {
  const v = value.trim().toUpperCase()
  if (/^\d+$/.test(v)) {
    const n = Number(v)
    if (n >= 1 && n <= 64) return n
  } else {
    const name = v.startsWith('SIG') ? v : `SIG${v}`
    const n = (constants.signals as Record<string, number>)[name]
    if (n) return n
  }
  throw usageError(`invalid signal "${value}"`, 'use a name like TERM, SIGKILL or HUP, or a number from 1 to 64')
}

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null
}

function ago(iso: string | null): string {
  if (!iso) return ''
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000)
  if (s < 1) return 'Less than a second'
  if (s < 60) return `${Math.floor(s)} second${Math.floor(s) === 1 ? '' : 's'}`
  if (s < 3600) return `${Math.floor(s / 60)} minute${Math.floor(s / 60) === 1 ? '' : 's'}`
  if (s < 86400) return `${Math.floor(s / 3600)} hour${Math.floor(s / 3600) === 1 ? '' : 's'}`
  return `${Math.floor(s / 86400)} days`
}

export function describeStatus(st: SandboxState): string {
  switch (st.status) {
    case 'created': return 'Created'
    case 'running': return `Up ${ago(st.startedAt)}`
    case 'paused': return `Up ${ago(st.startedAt)} (Paused)`
    case 'restarting': return `Restarting (${st.exitCode}) ${ago(st.finishedAt)} ago`
    case 'exited': return `Exited (${st.exitCode}) ${ago(st.finishedAt)} ago`
    default: return 'Removed'
  }
}

function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
  } catch {
    return ''
  }
}

/** The freezer control of a sandbox's group: v2 cgroup.freeze, v1 freezer.state. */
function freezerFile(group: SandboxCgroup): {path: string; v2: boolean} | null {
  if (group.version === 'v2') return {path: join(group.paths[0], 'cgroup.freeze'), v2: true}
  const dir = group.paths.find((p) => /\/freezer(,[^/]*)?\//.test(p) || p.includes('/freezer/'))
  return dir ? {path: join(dir, 'freezer.state'), v2: false} : null
}

/** The file the supervisor reads the group's CPU time from (v2 cpu.stat, v1 cpuacct.usage). */
function cpuUsageFile(group: SandboxCgroup): string | null {
  if (group.version === 'v2') return join(group.paths[0], 'cpu.stat')
  const dir = group.paths.find((p) => /\/cpuacct(,[^/]*)?\//.test(p) || /\/cpu,cpuacct\//.test(p))
  return dir ? join(dir, 'cpuacct.usage') : null
}

/** How many CPUs the sandbox can keep busy at once (a whole number for the supervisor). */
function cpuParallelism(l: typeof DEFAULT_LIMITS): number {
  let n = availableParallelism()
  if (l.cpus !== null) n = Math.min(n, Math.ceil(l.cpus))
  if (l.cpusetCpus !== null) {
    n = Math.min(n, l.cpusetCpus.split(',').reduce((sum, part) => {
      const [a, b = a] = part.split('-').map(Number)
      return sum + b - a + 1
    }, 0))
  }
  return Math.max(1, n)
}

function helperFailure(err: HelperError, what: string): LabError {
  return new LabError(err.stage === 'exec' ? 'exec-failed' : 'engine', failureSentence(err, what), {hint: hintFor(err), exitCode: failureExitCode(err)})
}

/** One request line to a supervisor; null when it is not there (gone or never started). */
function askSupervisor(socketPath: string, line: string, timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    if (!existsSync(socketPath)) return resolve(null)
    const s = connect(socketPath)
    let reply = ''
    const done = (v: string | null) => {
      clearTimeout(timer)
      s.destroy()
      resolve(v)
    }
    const timer = setTimeout(() => done(null), timeoutMs)
    s.setEncoding('utf8')
    s.on('connect', () => s.write(line + '\n'))
    s.on('data', (d: string) => {
      reply += d
      if (reply.includes('\n')) done(reply.trim())
    })
    s.on('error', () => done(null))
    s.on('end', () => done(reply ? reply.trim() : null))
  })
}

export interface LifecycleOptions {
  stateDir?: string
  /** where the engine's warnings go (default: stderr); a lab's checklist collects them */
  onWarning?: (message: string) => void
}

export class Lifecycle {
  readonly store: Store
  readonly volumes: Volumes
  private readonly warn: (message: string) => void

  constructor(opts: LifecycleOptions = {}) {
    this.store = new Store(opts.stateDir)
    this.volumes = new Volumes(this.store)
    this.warn = opts.onWarning ?? ((w) => void process.stderr.write(`lab: warning: ${w}\n`))
  }

  // ---------------------------------------------------------------- create / start

  /** Validates the request and records a sandbox in state "created". */
  async create(req: LifecycleRequest): Promise<SandboxRecord> {
    if (req.name !== undefined) assertValidName(req.name)
    const restart = parseRestartPolicy(req.restart)
    const log = parseLogOptions(req.logOpts)
    if (restart.name !== 'no' && req.autoRemove) throw usageError('--restart and --rm cannot be used together', 'a sandbox that is removed when it ends cannot be restarted; choose one')
    const {mounts, volumes, hostVolumes} = this.resolveVolumes(req)
    const share = this.resolveShare(req)
    const spec = await buildSpec({...req, name: req.name ?? 'pending', volumes: hostVolumes, mounts, network: share.network ? 'none' : req.network})
    if (Object.keys(share).length) spec.share = share
    this.checkShareUserns(spec)
    await validateSpec(spec)
    const rec = this.store.create({
      id: spec.id,
      name: req.name,
      created: new Date().toISOString(),
      spec,
      restart,
      autoRemove: req.autoRemove ?? false,
      keepStdin: req.interactive ?? false,
      logMaxBytes: req.logMaxBytes ?? log.maxBytes,
      logMaxFiles: log.maxFiles,
      tty: req.tty ?? false,
      volumes,
      everStarted: false,
    })
    // The filter is copied next to the record: a restart months later still finds it.
    if (rec.spec.seccomp.bpfPath) {
      const copy = join(this.store.dir(rec.id), 'seccomp.bpf')
      copyFileSync(rec.spec.seccomp.bpfPath, copy)
      rec.spec.seccomp.bpfPath = copy
      this.store.save(rec)
    }
    return rec
  }

  /** create + start; on a start failure the record stays (as Docker's) unless --rm. */
  async run(req: LifecycleRequest, onCreated?: (rec: SandboxRecord) => void): Promise<{id: string; name: string; pid: number}> {
    const rec = await this.create(req)
    onCreated?.(rec)
    try {
      return await this.start(rec.id)
    } catch (e) {
      if (rec.autoRemove) await this.remove(rec.id, {force: true, volumes: true}).catch(() => {})
      throw e
    }
  }

  /**
   * Starts a created or exited sandbox under its supervisor. With caller (a foreground
   * run), the supervisor watches this process: when it dies, even by SIGKILL, the
   * sandbox is ended and removed, as a plain foreground run ends with its CLI.
   */
  async start(ref: string, opts: {caller?: boolean} = {}): Promise<{id: string; name: string; pid: number}> {
    const id = this.store.resolve(ref)
    return this.store.lock(id, async () => {
      const rec = this.store.load(id)
      if (!rec) throw new LabError('no-such-sandbox', `no such sandbox: ${ref}`)
      const st = this.state(rec)
      if (st.status === 'running' || st.status === 'restarting') return {id, name: rec.name, pid: st.pid}
      if (st.status === 'paused') throw new LabError('sandbox-paused', `sandbox ${rec.name} is paused`, {hint: `unpause it: lab sandbox unpause ${rec.name}`})
      const ctx: PlanContext = {joins: this.joinsFor(rec), ipcHost: rec.spec.share?.ipc === 'host'}
      if (rec.spec.network === 'host') ctx.hostResolvConf = hostResolvConf()
      const group = await this.freshCgroup(rec)
      ctx.cgroupProcs = group.procsFiles
      // The supervisor removes the groups and this record when the sandbox is over for
      // good, and keeps their final counters in its status (cgroupStats reads them).
      ctx.cgroupOwnerRecord = group.ownerRecord
      ctx.cgroupStatFiles = group.statFiles?.()
      const runDir = this.store.runDir(id)
      rmSync(runDir, {recursive: true, force: true})
      mkdirSync(runDir, {recursive: true, mode: 0o700})
      ctx.supervise = this.superviseContext(rec, group, opts.caller ?? false)
      const ops = buildPlan(rec.spec, ctx)
      let sup
      try {
        sup = await startSupervisor(serializePlan(ops))
      } catch (e) {
        await group.remove().catch(() => {})
        throw e
      }
      if (sup.supervisorPid) this.handOverCgroup(id, sup.supervisorPid)
      if (sup.error) {
        if (!sup.supervisorPid) await group.remove().catch(() => {})
        throw helperFailure(sup.error, `sandbox ${rec.name}`)
      }
      if (!sup.supervisorPid) throw new LabError('engine', `sandbox ${rec.name}: the supervisor ended before the sandbox started`, {hint: 'run `lab doctor`'})
      for (const w of sup.warnings) this.warn(w)
      if (!rec.everStarted || JSON.stringify(rec.userns ?? null) !== JSON.stringify(sup.userns)) {
        rec.everStarted = true
        rec.userns = sup.userns
        // A short --rm sandbox may already have ended and had its record removed by its
        // supervisor: then there is nothing left to mark.
        try {
          if (this.store.load(id)) this.store.save(rec)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
        }
      }
      return {id, name: rec.name, pid: sup.pid}
    })
  }

  /** What the supervisor is told besides the sandbox itself (plan.ts, SuperviseContext). */
  private superviseContext(rec: SandboxRecord, group: SandboxCgroup, caller: boolean): SuperviseContext {
    const dir = this.store.dir(rec.id)
    const c: SuperviseContext = {
      runDir: this.store.runDir(rec.id),
      log: {file: join(dir, 'log'), maxBytes: rec.logMaxBytes, files: logMaxFiles(rec)},
      restart: rec.restart,
      keepStdin: rec.keepStdin,
      // A detached sandbox has no pty on the caller's side: its output is logged as stdout.
      tty: rec.tty ? terminalSize() : undefined,
      autoRemove: [],
    }
    // --cpu-time and --output-limit hold per run, enforced by the supervisor as the
    // foreground runSandbox enforces them (the CPU time is the cgroup's, every process).
    const limits = rec.spec.limits ?? DEFAULT_LIMITS
    if (limits.cpuTimeMs !== null) {
      const usage = cpuUsageFile(group)
      if (!usage) throw new LabError('limit-unenforceable', `cannot enforce --cpu-time for ${rec.name}: its cgroup has no CPU accounting`, {hint: 'run `lab doctor` to see the cgroup controllers this host has, or leave out --cpu-time'})
      c.cpuTime = {ms: limits.cpuTimeMs, usageFile: usage, cpus: cpuParallelism(limits)}
    }
    if (limits.outputBytes !== null) c.outputLimitBytes = limits.outputBytes
    if (caller) c.caller = {pid: process.pid, start: processStartTime(process.pid)}
    if (rec.autoRemove || caller) {
      // (the groups, an empty parent and the owner record the supervisor removes at the
      // end of every sandbox, --rm or not: plan line cgroupowner)
      c.autoRemove.push(this.store.runDir(rec.id))
      for (const v of rec.volumes.filter((x) => x.anonymous)) c.autoRemove.push(join(this.store.dirs.volumes, v.name))
      // the record's own directory last: once it is gone the sandbox no longer exists
      c.autoRemove.push(dir)
      c.names = {dir: this.store.dirs.names, id: rec.id}
    }
    return c
  }

  private resolveVolumes(req: LifecycleRequest): {mounts: BindMount[]; volumes: SandboxRecord['volumes']; hostVolumes: string[]} {
    const mounts: BindMount[] = []
    const volumes: SandboxRecord['volumes'] = []
    const hostVolumes: string[] = []
    for (const from of req.volumesFrom ?? []) {
      const [ref, mode, extra] = from.split(':')
      if (extra !== undefined || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
        throw usageError(`invalid --volumes-from "${from}"`, 'use --volumes-from NAME[:ro|rw]')
      }
      const src = this.store.get(ref)
      for (const m of src.spec.mounts) {
        if (m.type !== 'bind') continue
        const readOnly = mode === 'ro' ? true : mode === 'rw' ? false : m.readOnly
        mounts.push({...m, readOnly})
        const v = src.volumes.find((x) => x.destination === m.destination)
        if (v) volumes.push({...v, anonymous: false, readOnly})
      }
    }
    for (const v of req.volumes ?? []) {
      if (!Volumes.isManaged(v)) {
        hostVolumes.push(v)
        continue
      }
      const r = this.volumes.resolve(v)
      mounts.push(r.mount)
      volumes.push(r.volume)
    }
    return {mounts, volumes, hostVolumes}
  }

  private resolveShare(req: LifecycleRequest): NonNullable<SandboxSpec['share']> {
    const share: NonNullable<SandboxSpec['share']> = {}
    const target = (value: string, flag: string): string | null => {
      const m = /^(?:sandbox|container):(.+)$/.exec(value)
      if (!m) return null
      return this.store.resolve(m[1])
    }
    if (req.network !== undefined && /^(sandbox|container):/.test(req.network)) share.network = target(req.network, '--network')!
    if (req.ipc !== undefined && req.ipc !== 'private' && req.ipc !== '') {
      if (req.ipc === 'host') share.ipc = 'host'
      else {
        const t = target(req.ipc, '--ipc')
        if (!t) throw usageError(`invalid --ipc "${req.ipc}"`, 'use --ipc private (the default), host or sandbox:NAME')
        share.ipc = t
      }
    }
    if (req.pid !== undefined && req.pid !== '') {
      if (req.pid === 'host') throw usageError('--pid host is not supported', 'it would show the sandbox every host process; use --pid sandbox:NAME to share another sandbox\'s')
      const t = target(req.pid, '--pid')
      if (!t) throw usageError(`invalid --pid "${req.pid}"`, 'use --pid sandbox:NAME')
      share.pid = t
    }
    return share
  }

  /**
   * A sandbox's IPC, PID and network namespaces belong to its user namespace, and only a
   * process privileged there may mount /dev/mqueue, /proc or /sys for them. So a joiner
   * shares that user namespace too (joinsFor), and the combinations that cannot are
   * refused here, before anything is recorded.
   */
  private checkShareUserns(spec: SandboxSpec): void {
    const mine = spec.userns ?? 'private'
    const share = spec.share ?? {}
    for (const [kind, flag, id] of [['net', '--network', share.network], ['ipc', '--ipc', share.ipc], ['pid', '--pid', share.pid]] as const) {
      if (!id || id === 'host') continue
      const other = this.store.load(id)
      if (!other) continue // joinsFor says it is gone
      const theirs = other.spec.userns ?? 'private'
      if (mine === 'host' && theirs === 'private') {
        throw usageError(`cannot join sandbox ${other.name} (${flag}) with --userns=host: its namespaces belong to its own user namespace, which a joiner shares`, `leave out --userns=host: this sandbox then runs on ${other.name}'s remapped ids`)
      }
      if (mine === 'private' && theirs === 'host' && kind !== 'net') {
        throw usageError(`cannot join sandbox ${other.name} (${flag}) with user remapping: it runs with --userns=host, so a remapped sandbox may not mount ${kind === 'ipc' ? '/dev/mqueue' : '/proc'} for its namespace`, `add --userns=host (as root), or run ${other.name} without it`)
      }
    }
  }

  /** The namespaces to join, from sandboxes that must be running now. */
  private joinsFor(rec: SandboxRecord): NonNullable<PlanContext['joins']> {
    const joins: NonNullable<PlanContext['joins']> = []
    const owners: Array<{name: string; pid: number; start: number; ns: string}> = []
    const share = rec.spec.share ?? {}
    for (const [kind, flag, id] of [['net', '--network', share.network], ['ipc', '--ipc', share.ipc], ['pid', '--pid', share.pid]] as const) {
      if (!id || id === 'host') continue
      const other = this.store.load(id)
      if (!other) throw new LabError('join-missing', `cannot start ${rec.name}: the sandbox named by ${flag} no longer exists (${shortId(id)})`, {hint: 'remove this sandbox and create it again with a running one to join'})
      const st = this.state(other)
      if (st.status !== 'running') {
        throw new LabError('join-not-running', `cannot join sandbox ${other.name} (${flag}): it is ${st.status}`, {hint: `start it first: lab sandbox start ${other.name}`})
      }
      const start = processStartTime(st.pid)
      if (!start) throw new LabError('join-not-running', `cannot join sandbox ${other.name} (${flag}): it just stopped`, {hint: `start it first: lab sandbox start ${other.name}`})
      joins.push({kind, pid: st.pid, start})
      if ((other.spec.userns ?? 'private') === 'private' && (rec.spec.userns ?? 'private') === 'private') {
        let ns = ''
        try {
          ns = readlinkSync(`/proc/${st.pid}/ns/user`)
        } catch {
          throw new LabError('join-not-running', `cannot join sandbox ${other.name} (${flag}): it just stopped`, {hint: `start it first: lab sandbox start ${other.name}`})
        }
        owners.push({name: other.name, pid: st.pid, start, ns})
      }
    }
    // One user namespace owns all that is joined: it is joined too (join.c), with its ids.
    const first = owners[0]
    if (first) {
      const odd = owners.find((o) => o.ns !== first.ns)
      if (odd) throw new LabError('join-conflict', `cannot join both ${first.name} and ${odd.name}: they have different user namespaces, and a sandbox can share only one`, {hint: `join namespaces of one sandbox, or start ${odd.name} joined to ${first.name}`})
      joins.push({kind: 'user', pid: first.pid, start: first.start})
    }
    return joins
  }

  // ---------------------------------------------------------------- cgroups

  /** A new group with the spec's limits (an old one from a previous run is removed first). */
  private async freshCgroup(rec: SandboxRecord): Promise<SandboxCgroup> {
    await this.removeCgroup(rec.id)
    return createSandboxCgroup(rec.id, rec.spec.limits ?? DEFAULT_LIMITS)
  }

  /**
   * The supervisor, not this short-lived CLI, owns a detached sandbox's group. A sandbox
   * that already ended took its group and record with it: nothing to hand over then (a
   * record written in that instant names a dead owner, and the next sweep drops it).
   */
  private handOverCgroup(id: string, supervisorPid: number): void {
    if (!this.openCgroup(id)) return
    try {
      writeOwnerRecord(DEFAULT_OWNER_DIR, id, `${supervisorPid} ${processStartTime(supervisorPid)}\n`)
    } catch {}
  }

  private openCgroup(id: string): SandboxCgroup | null {
    try {
      const driver = cgroupDriver()
      const g = driver.open(id)
      return g.paths.some((p) => existsSync(p)) ? g : null
    } catch {
      return null
    }
  }

  private async removeCgroup(id: string): Promise<void> {
    const g = this.openCgroup(id)
    if (g) {
      await g.killAll().catch(() => {})
      await g.remove().catch(() => {})
    }
    rmSync(join(DEFAULT_OWNER_DIR, id), {force: true})
  }

  // ---------------------------------------------------------------- state

  /** The live state; a supervisor found dead is recorded as exited on the spot. */
  state(rec: SandboxRecord): SandboxState {
    const s = this.store.status(rec.id)
    const base: SandboxState = {
      status: 'created', running: false, paused: false, restarting: false, pid: 0, exitCode: 0, signal: null,
      killedBy: null, error: '', startedAt: null, finishedAt: null, restartCount: 0, supervisorPid: 0,
    }
    if (!s) {
      // started before, but no runtime status: the host restarted (the run root is a tmpfs)
      if (rec.everStarted) return {...base, status: 'exited', exitCode: 255, killedBy: 'host-restart', error: 'the host restarted while the sandbox ran'}
      return base
    }
    const st: SandboxState = {
      ...base,
      status: s.state === 'created' ? 'created' : s.state,
      pid: s.state === 'running' ? s.pid : 0,
      exitCode: s.exitCode,
      signal: s.signal ? signalName(s.signal) : null,
      killedBy: s.killedBy,
      error: s.error ? failureSentence({stage: s.error.stage ?? 'setup', call: s.error.call ?? '', path: s.error.path ?? '', message: s.error.message ?? 'set-up failed'}, rec.name) : '',
      startedAt: iso(s.startedAt),
      finishedAt: iso(s.finishedAt),
      restartCount: s.restartCount,
      supervisorPid: s.state === 'exited' ? 0 : s.supervisorPid,
    }
    if (s.state === 'running' || s.state === 'restarting') {
      if (!isAlive(s.supervisorPid, s.supervisorStart)) return this.markSupervisorDead(rec, s, st)
      if (s.state === 'running' && this.isFrozen(rec.id)) st.status = 'paused'
    }
    st.running = st.status === 'running' || st.status === 'paused'
    st.paused = st.status === 'paused'
    st.restarting = st.status === 'restarting'
    return st
  }

  /**
   * The supervisor was killed (or the machine lost it): its sandbox died with it
   * (PDEATHSIG). Record that, drop the dead control socket; the group is swept by the
   * next cgroup sweep, as its owner is gone.
   */
  private markSupervisorDead(rec: SandboxRecord, s: SupervisorStatus, st: SandboxState): SandboxState {
    const now = Date.now()
    const dead: SupervisorStatus = {...s, state: 'exited', exitCode: 137, signal: 9, killedBy: 'supervisor-died', finishedAt: now, pid: 0}
    try {
      writeJsonAtomic(join(this.store.runDir(rec.id), 'status.json'), dead)
      rmSync(join(this.store.runDir(rec.id), 'ctl'), {force: true})
    } catch {}
    return {...st, status: 'exited', running: false, restarting: false, paused: false, pid: 0, exitCode: 137, signal: 'SIGKILL', killedBy: 'supervisor-died', finishedAt: iso(now), supervisorPid: 0}
  }

  /** The group's counters: live while it exists, else as its supervisor left them at the end. */
  async cgroupStats(rec: SandboxRecord): Promise<CgroupStats | null> {
    const live = this.openCgroup(rec.id)
    if (live) return live.stats()
    const final = this.store.status(rec.id)?.cgroup
    if (!final) return null
    const g = cgroupDriver().open(rec.id)
    return g.statsFrom ? g.statsFrom(final) : null
  }

  private isFrozen(id: string): boolean {
    const g = this.openCgroup(id)
    const f = g && freezerFile(g)
    if (!f) return false
    try {
      const v = readFileSync(f.path, 'utf8').trim()
      return f.v2 ? v === '1' : v === 'FROZEN' || v === 'FREEZING'
    } catch {
      return false
    }
  }

  summary(rec: SandboxRecord): SandboxSummary {
    const state = this.state(rec)
    return {id: rec.id, name: rec.name, command: rec.spec.process.args.join(' '), created: rec.created, state, status: describeStatus(state)}
  }

  list(opts: {all?: boolean} = {}): SandboxSummary[] {
    return this.store
      .all()
      .map((r) => this.summary(r))
      .filter((s) => opts.all || s.state.running || s.state.restarting)
      .sort((a, b) => b.created.localeCompare(a.created))
  }

  inspect(ref: string): Record<string, unknown> {
    const rec = this.store.get(ref)
    const st = this.state(rec)
    return {
      Id: rec.id,
      Name: rec.name,
      Created: rec.created,
      Path: rec.spec.process.args[0],
      Args: rec.spec.process.args.slice(1),
      State: {
        Status: st.status, Running: st.running, Paused: st.paused, Restarting: st.restarting, Pid: st.pid,
        ExitCode: st.exitCode, Signal: st.signal, KilledBy: st.killedBy, Error: st.error, StartedAt: st.startedAt,
        FinishedAt: st.finishedAt, SupervisorPid: st.supervisorPid,
      },
      RestartCount: st.restartCount,
      LogPath: join(this.store.dir(rec.id), 'log'),
      HostConfig: {
        LogConfig: {Type: 'json-file', Config: {'max-size': formatSize(rec.logMaxBytes), 'max-file': String(logMaxFiles(rec))}},
        RestartPolicy: {Name: rec.restart.name, MaximumRetryCount: rec.restart.maximumRetryCount},
        AutoRemove: rec.autoRemove,
        NetworkMode: rec.spec.share?.network ? `sandbox:${this.nameOf(rec.spec.share.network)}` : rec.spec.network,
        IpcMode: rec.spec.share?.ipc ? (rec.spec.share.ipc === 'host' ? 'host' : `sandbox:${this.nameOf(rec.spec.share.ipc)}`) : 'private',
        PidMode: rec.spec.share?.pid ? `sandbox:${this.nameOf(rec.spec.share.pid)}` : 'private',
        ReadonlyRootfs: rec.spec.root.readOnly,
      },
      Mounts: rec.spec.mounts.map((m) => {
        const v = rec.volumes.find((x) => x.destination === m.destination)
        return m.type === 'bind'
          ? {Type: v ? 'volume' : 'bind', Name: v?.name, Source: m.source, Destination: m.destination, RW: !m.readOnly}
          : {Type: 'tmpfs', Destination: m.destination, RW: !m.readOnly}
      }),
      Config: {Hostname: rec.spec.hostname, User: `${rec.spec.process.user.uid}:${rec.spec.process.user.gid}`, Env: Object.entries(rec.spec.process.env).map(([k, v]) => `${k}=${v}`), Cmd: rec.spec.process.args, WorkingDir: rec.spec.process.cwd, OpenStdin: rec.keepStdin, Tty: rec.tty ?? false},
      Spec: rec.spec,
    }
  }

  private nameOf(id: string): string {
    return this.store.load(id)?.name ?? shortId(id)
  }

  // ---------------------------------------------------------------- signals

  private socket(id: string): string {
    return join(this.store.runDir(id), 'ctl')
  }

  async kill(ref: string, signal = 'KILL'): Promise<{id: string; name: string; signal: string}> {
    const sig = parseSignal(signal)
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (st.status !== 'running' && st.status !== 'paused') {
      throw new LabError('sandbox-not-running', `cannot kill sandbox ${rec.name}: it is ${st.status}`, {hint: `only running sandboxes take signals; see lab sandbox ps -a`})
    }
    if (st.paused && STOP_SIGNALS.has(sig)) await this.setFrozen(rec, false)
    const reply = await askSupervisor(this.socket(rec.id), `kill ${sig}`)
    if (reply !== 'ok') throw new LabError('sandbox-not-running', `cannot kill sandbox ${rec.name}: it is not running`, {hint: 'see lab sandbox ps -a'})
    if (sig === constants.signals.SIGKILL) await this.waitUntil(rec, (s) => !s.running, 10_000)
    return {id: rec.id, name: rec.name, signal: signalName(sig)}
  }

  /**
   * Attaches io to a running sandbox's output (and, with -i, its input) until it ends for
   * good or the detach keys are typed. exitCode is the sandbox's once it has ended.
   */
  async attach(ref: string, io: AttachIo, opts: AttachOptions = {}): Promise<{id: string; name: string; detached: boolean; dropped: boolean; exitCode: number | null}> {
    parseDetachKeys(opts.detachKeys ?? '') // bad keys are bad input, whatever the sandbox's state
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (!st.running && !st.restarting) {
      throw new LabError('sandbox-not-running', `cannot attach to sandbox ${rec.name}: it is ${st.status}`, {hint: `start it first (lab sandbox start ${rec.name}), or read what it printed: lab sandbox logs ${rec.name}`})
    }
    const end = await attachToSupervisor(this.socket(rec.id), rec.name, io, opts)
    const base = {id: rec.id, name: rec.name, detached: end.detached, dropped: false, exitCode: null as number | null}
    if (end.detached) return base
    // The supervisor closed the connection: the sandbox ended for good, or this client
    // could not take the output as fast as it came and was dropped.
    const now = this.store.load(rec.id) ? this.state(rec) : null
    if (now && (now.running || now.restarting)) return {...base, dropped: true}
    const status = now ?? readJson<SupervisorStatus>(join(this.store.runDir(rec.id), 'status.json'))
    return {...base, exitCode: status?.exitCode ?? null}
  }

  /** SIGTERM, then SIGKILL after the grace period; no restart follows. */
  async stop(ref: string, opts: {timeoutSeconds?: number} = {}): Promise<{id: string; name: string; exitCode: number}> {
    const rec = this.store.get(ref)
    const grace = Math.round((opts.timeoutSeconds ?? 10) * 1000)
    if (!Number.isFinite(grace) || grace < 0) throw usageError(`invalid stop timeout "${opts.timeoutSeconds}"`, 'give whole seconds, e.g. -t 5')
    let st = this.state(rec)
    if (st.status === 'running' || st.status === 'paused' || st.status === 'restarting') {
      if (st.paused) await this.setFrozen(rec, false)
      await askSupervisor(this.socket(rec.id), `stop ${grace}`)
      st = await this.waitUntil(rec, (s) => !s.running && !s.restarting, grace + 10_000)
    }
    return {id: rec.id, name: rec.name, exitCode: st.exitCode}
  }

  async restart(ref: string, opts: {timeoutSeconds?: number} = {}): Promise<{id: string; name: string; pid: number}> {
    await this.stop(ref, opts)
    return this.start(ref)
  }

  private async waitUntil(rec: SandboxRecord, done: (s: SandboxState) => boolean, ms: number): Promise<SandboxState> {
    const end = Date.now() + ms
    let st = this.state(rec)
    while (!done(st) && Date.now() < end) {
      await sleep(25)
      if (!this.store.load(rec.id)) return {...st, status: 'removed', running: false, restarting: false, paused: false}
      st = this.state(rec)
    }
    return st
  }

  /** Blocks until the sandbox has stopped for good; its exit code. */
  async wait(ref: string): Promise<{id: string; name: string; exitCode: number}> {
    const rec = this.store.get(ref)
    let last = this.state(rec)
    for (;;) {
      if (!last.running && !last.restarting) return {id: rec.id, name: rec.name, exitCode: last.exitCode}
      await sleep(50)
      if (!this.store.load(rec.id)) {
        // removed on exit (--rm): the supervisor's last status may still be readable
        const s = readJson<SupervisorStatus>(join(this.store.runDir(rec.id), 'status.json'))
        return {id: rec.id, name: rec.name, exitCode: s?.exitCode ?? last.exitCode}
      }
      last = this.state(rec)
    }
  }

  /**
   * The result of a sandbox's last run, in the shape a foreground run returns (run.ts):
   * the verdict and its evidence from the supervisor's final status (why it ended:
   * killedBy) and the groups' final counters (OOM kills, refused forks, CPU time, peaks).
   * null while it runs, and for a sandbox never started.
   */
  async result(ref: string): Promise<SandboxResult | null> {
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (st.running || st.restarting || st.status === 'created') return null
    return this.resultOf(rec)
  }

  private async resultOf(rec: SandboxRecord): Promise<SandboxResult> {
    const s = this.store.status(rec.id)
    const stats = await this.cgroupStats(rec)
    const limits = rec.spec.limits ?? DEFAULT_LIMITS
    const error: HelperError | null = s?.error
      ? {stage: s.error.stage ?? 'setup', call: s.error.call ?? '', path: s.error.path ?? '', errno: 0, errnoName: s.error.errnoName ?? '', message: s.error.message ?? 'set-up failed'}
      : null
    const cpuUs = stats ? stats.cpuUserUs + stats.cpuSystemUs : 0
    const exit: ExitEvent | null = s && s.state === 'exited'
      ? {exitCode: s.exitCode, signal: s.signal, coreDumped: false, killedBy: s.killedBy, wallUs: Math.max(0, s.finishedAt - s.startedAt) * 1000, userUs: stats?.cpuUserUs ?? 0, sysUs: stats?.cpuSystemUs ?? 0, maxRssKb: 0}
      : null
    // a supervisor that died, or a host restart: the sandbox was killed, not judged
    if (!s && rec.everStarted) {
      const st = this.state(rec)
      const lost = resultFromEvents(rec, {exitCode: st.exitCode, signal: 0, coreDumped: false, killedBy: st.killedBy, wallUs: 0, userUs: 0, sysUs: 0, maxRssKb: 0}, null)
      lost.evidence = {endedBy: st.killedBy, error: st.error}
      return lost
    }
    const result = resultFromEvents(rec, exit, error, {
      stats,
      limits,
      timeoutMs: rec.spec.timeoutMs,
      rlimits: rec.spec.process.rlimits,
      cpuTimeExceededUs: s?.killedBy === 'cpu-time' ? Math.max(cpuUs, (limits.cpuTimeMs ?? 0) * 1000) : null,
      outputLimited: s?.killedBy === 'output-limit',
      outputLimitBytes: limits.outputBytes,
    })
    result.seccompProfile = rec.spec.seccomp.profile
    result.userns = rec.spec.userns === 'host' ? null : rec.userns ?? null
    return result
  }

  /**
   * A foreground run under a supervisor (managed volumes, another sandbox's volumes or
   * namespaces, a kept name): create, start with this process as the caller (should it
   * die, even by SIGKILL, the supervisor ends the sandbox and removes it), follow the
   * output from the log, wait, and return the same result a foreground run returns. The
   * record is removed at the end unless req.keep (Docker keeps a named run).
   */
  async runAttached(req: RunRequest, io: {stdio: 'pipe' | 'inherit'; abortSignal?: AbortSignal; outputLimit?: number; onCreated?: (rec: SandboxRecord) => void}): Promise<SandboxResult> {
    // ended and removed by this process (or by the supervisor, should this process die)
    const rec = await this.create({...req, detach: false, autoRemove: false})
    io.onCreated?.(rec)
    try {
      await this.start(rec.id, {caller: true})
    } catch (e) {
      await this.remove(rec.id, {force: true, volumes: true}).catch(() => {})
      throw e
    }
    const stop = () => void this.stop(rec.id, {timeoutSeconds: 0}).catch(() => {})
    io.abortSignal?.addEventListener('abort', stop)
    try {
      const out = {stdout: [] as string[], stderr: [] as string[], kept: 0}
      const limit = io.outputLimit ?? Infinity
      const onLine = (l: LogLine) => {
        if (io.stdio === 'inherit') return void (l.stream === 'stdout' ? process.stdout : process.stderr).write(l.line + '\n')
        if (out.kept > limit) return
        out.kept += l.line.length + 1
        out[l.stream].push(l.line + '\n')
      }
      await this.logs(rec.id, {follow: true, onLine})
      await this.wait(rec.id)
      const result = await this.resultOf(this.store.load(rec.id) ?? rec)
      if (io.stdio === 'pipe') {
        result.stdout = out.stdout.join('')
        result.stderr = out.stderr.join('')
      }
      return result
    } finally {
      io.abortSignal?.removeEventListener('abort', stop)
      if (!req.keep) await this.remove(rec.id, {force: true, volumes: true}).catch(() => {})
    }
  }

  // ---------------------------------------------------------------- pause / remove / rename

  private async setFrozen(rec: SandboxRecord, frozen: boolean): Promise<void> {
    const g = this.openCgroup(rec.id)
    const f = g && freezerFile(g)
    if (!f) throw new LabError('no-freezer', `cannot ${frozen ? 'pause' : 'unpause'} ${rec.name}: its cgroup has no freezer`, {hint: 'run `lab doctor` to see the cgroup controllers this host has'})
    writeFileSync(f.path, f.v2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED')
    if (frozen) {
      for (let i = 0; i < 200 && !this.isFrozen(rec.id); i++) await sleep(5)
      if (!f.v2) for (let i = 0; i < 200 && readFileSync(f.path, 'utf8').trim() !== 'FROZEN'; i++) await sleep(5)
    }
  }

  async pause(ref: string): Promise<{id: string; name: string}> {
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (st.status !== 'running') throw new LabError('sandbox-not-running', `cannot pause ${rec.name}: it is ${st.status}`, {hint: st.paused ? 'it is already paused' : 'only a running sandbox can be paused'})
    await this.setFrozen(rec, true)
    return {id: rec.id, name: rec.name}
  }

  async unpause(ref: string): Promise<{id: string; name: string}> {
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (st.status !== 'paused') throw new LabError('sandbox-not-paused', `cannot unpause ${rec.name}: it is ${st.status}, not paused`, {hint: 'see lab sandbox ps'})
    await this.setFrozen(rec, false)
    return {id: rec.id, name: rec.name}
  }

  async remove(ref: string, opts: {force?: boolean; volumes?: boolean} = {}): Promise<{id: string; name: string; volumes: string[]}> {
    const id = this.store.resolve(ref)
    return this.store.lock(id, async () => {
      const rec = this.store.load(id)
      if (!rec) throw new LabError('no-such-sandbox', `no such sandbox: ${ref}`)
      let st = this.state(rec)
      if (st.running || st.restarting) {
        if (!opts.force) {
          throw new LabError('sandbox-running', `cannot remove sandbox ${rec.name}: it is ${st.status}`, {hint: `stop it first (lab sandbox stop ${rec.name}) or force it: lab sandbox rm -f ${rec.name}`})
        }
        if (st.paused) await this.setFrozen(rec, false).catch(() => {})
        await askSupervisor(this.socket(id), 'stop 0')
        st = await this.waitUntil(rec, (s) => !s.running && !s.restarting, 10_000)
        if (st.supervisorPid && processStartTime(st.supervisorPid)) process.kill(st.supervisorPid, 'SIGKILL')
      }
      await this.removeCgroup(id)
      this.store.destroy(rec)
      const removed: string[] = []
      if (opts.volumes) {
        for (const v of rec.volumes.filter((x) => x.anonymous)) {
          try {
            this.volumes.remove(v.name)
            removed.push(v.name)
          } catch {}
        }
      }
      return {id, name: rec.name, volumes: removed}
    })
  }

  async rename(ref: string, newName: string): Promise<{id: string; oldName: string; name: string}> {
    assertValidName(newName)
    const id = this.store.resolve(ref)
    return this.store.lock(id, async () => {
      const rec = this.store.load(id)!
      const old = rec.name
      if (old === newName) return {id, oldName: old, name: newName}
      this.store.reserveName(newName, id)
      rec.name = newName
      rec.spec.name = newName
      this.store.save(rec)
      this.store.releaseName(old, id)
      return {id, oldName: old, name: newName}
    })
  }

  // ---------------------------------------------------------------- logs

  /**
   * The captured output. With follow, onLine is called as lines arrive until the
   * sandbox stops (or signal aborts).
   */
  async logs(ref: string, opts: {tail?: number; follow?: boolean; signal?: AbortSignal; onLine?: (l: LogLine) => void} = {}): Promise<LogLine[]> {
    const rec = this.store.get(ref)
    const parser = new LogParser()
    const base = join(this.store.dir(rec.id), 'log')
    let lines: LogLine[] = []
    // Where reading left off: a file (by inode, as rotation renames it) and an offset in it.
    let ino = 0
    let offset = 0
    const files = logMaxFiles(rec)
    // Reads what came after (ino, offset), across any rotations since. The files are
    // opened newest first, so a rotation meanwhile shows a file twice (kept once, by
    // inode), never hides one; each is read through the fd that identified it.
    const readNew = (sink: (l: LogLine) => void) => {
      const chain: Array<{fd: number; ino: number}> = []
      try {
        for (let k = 0; k < files; k++) {
          let fd: number
          try {
            fd = openSync(k === 0 ? base : `${base}.${k}`, 'r')
          } catch {
            continue
          }
          const i = fstatSync(fd).ino
          if (chain.some((c) => c.ino === i)) closeSync(fd)
          else chain.push({fd, ino: i})
        }
        if (!chain.length) return
        // the file read so far, or (first read, or rotated out meanwhile) the oldest
        const at = chain.findIndex((c) => c.ino === ino)
        for (let j = at >= 0 ? at : chain.length - 1; j >= 0; j--) {
          const from = j === at ? offset : 0
          const data = readFrom(chain[j].fd, from)
          for (const l of parser.feed(data)) sink(l)
          if (j === 0) {
            ino = chain[0].ino
            offset = from + data.length
          }
        }
      } finally {
        for (const c of chain) closeSync(c.fd)
      }
    }
    readNew((l) => lines.push(l)) // a spread would overflow the stack on a full 10 MiB log
    if (opts.tail !== undefined && opts.tail >= 0) lines = lines.slice(Math.max(0, lines.length - opts.tail))
    for (const l of lines) opts.onLine?.(l)
    if (!opts.follow) return lines
    const emit = (l: LogLine) => opts.onLine?.(l)
    for (;;) {
      if (opts.signal?.aborted) break
      const st = this.store.load(rec.id) ? this.state(rec) : null
      readNew(emit)
      if (!st || (!st.running && !st.restarting)) break
      await sleep(100)
    }
    readNew(emit)
    return lines
  }

  // ---------------------------------------------------------------- exec / top / stats

  /** A running sandbox to enter (exec, cp): its record and its PID 1 with start time. */
  private enterable(ref: string, verb: string): {rec: SandboxRecord; pid: number; start: number} {
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (st.status !== 'running') {
      throw new LabError('sandbox-not-running', `cannot ${verb} sandbox ${rec.name}: it is ${st.status}`, {hint: st.paused ? `unpause it first: lab sandbox unpause ${rec.name}` : `start it first: lab sandbox start ${rec.name}`})
    }
    const start = processStartTime(st.pid)
    if (!start) throw new LabError('sandbox-not-running', `cannot ${verb} sandbox ${rec.name}: it just stopped`, {hint: `start it first: lab sandbox start ${rec.name}`})
    return {rec, pid: st.pid, start}
  }

  /** Runs a program inside the running sandbox with the sandbox's own hardening. */
  async exec(
    ref: string,
    command: string[],
    opts: {user?: string; env?: string[]; workdir?: string; interactive?: boolean; tty?: boolean; stdio?: 'inherit' | 'pipe'; input?: string} = {},
  ): Promise<SandboxResult> {
    if (opts.tty && opts.stdio === 'pipe') throw usageError('-t cannot be used with --json', 'a terminal\'s output is not data: leave out -t or --json')
    const {rec, ops} = this.execPlan(ref, command, {...opts, tty: opts.tty ? {...terminalSize(), stdin: opts.interactive ?? false} : undefined})
    const outcome = await runHelper(serializePlan(ops), {stdio: opts.stdio ?? 'inherit', stdin: opts.interactive ?? opts.input !== undefined, input: opts.input})
    const result = resultFromEvents(rec, outcome.exit, outcome.error)
    if ((opts.stdio ?? 'inherit') === 'pipe') {
      result.stdout = outcome.stdout.toString('utf8')
      result.stderr = outcome.stderr.toString('utf8')
    }
    return result
  }

  /**
   * exec -d: the program runs on inside the sandbox after this returns, under a helper
   * process of its own (its parent: it dies with the sandbox, never leaks on the host).
   */
  async execDetached(ref: string, command: string[], opts: {user?: string; env?: string[]; workdir?: string; tty?: boolean} = {}): Promise<{id: string; name: string; pid: number}> {
    const {rec, ops} = this.execPlan(ref, command, {...opts, background: true, tty: opts.tty ? {...terminalSize(), stdin: false} : undefined})
    let pid = 0
    const outcome = await runHelper(serializePlan(ops), {stdio: 'inherit', stdin: false, onStarted: (p) => (pid = p)})
    if (outcome.error) throw helperFailure(outcome.error, `exec in sandbox ${rec.name}`)
    if (!pid) throw new LabError('engine', `exec in sandbox ${rec.name}: the program did not start`, {hint: 'run `lab doctor`'})
    return {id: rec.id, name: rec.name, pid}
  }

  private execPlan(ref: string, command: string[], opts: {user?: string; env?: string[]; workdir?: string; tty?: {rows: number; cols: number; stdin: boolean}; background?: boolean}): {rec: SandboxRecord; ops: PlanOp[]} {
    if (command.length === 0) throw usageError('no command given', 'put the command after the sandbox name, e.g. lab sandbox exec web ls /')
    const {rec, pid, start} = this.enterable(ref, 'exec in')
    const spec = rec.spec
    let {uid, gid} = spec.process.user
    if (opts.user !== undefined) ({uid, gid} = resolveUser(opts.user, BASE_USERS, BASE_GROUPS))
    const env = {...spec.process.env}
    for (const e of opts.env ?? []) {
      const eq = e.indexOf('=')
      if (eq <= 0) throw usageError(`invalid -e "${e}"`, 'use -e KEY=VALUE')
      env[e.slice(0, eq)] = e.slice(eq + 1)
    }
    const cwd = opts.workdir ?? spec.process.cwd
    if (!cwd.startsWith('/') || cwd.split('/').includes('..')) throw usageError(`invalid working directory "${cwd}"`, 'use an absolute path without ".."')
    const cgroupProcs = (this.openCgroup(rec.id)?.procsFiles ?? []).filter((f) => existsSync(f))
    const ops = buildExecPlan(spec, {pid, start}, {command, uid, gid, env, cwd, cgroupProcs, tty: opts.tty, background: opts.background})
    return {rec, ops}
  }

  /**
   * docker cp: SANDBOX:PATH DEST or SRC SANDBOX:PATH. Paths in the sandbox are resolved
   * by the helper inside the sandbox's own root and mount namespace (copy.c): its
   * symlinks never lead onto the host; devices and links pointing out are refused.
   */
  /**
   * `cp`: one side a sandbox, the other a local path, or "-": a tar archive read from
   * opts.input (into the sandbox, a directory there) or written to opts.output (out).
   */
  async copy(srcArg: string, destArg: string, opts: {followLink?: boolean; archive?: boolean; input?: Readable; output?: Writable & {isTTY?: boolean}} = {}): Promise<CopyResult> {
    const src = parseCopyArg(srcArg)
    const dst = parseCopyArg(destArg)
    if (src.path === '-' && src.sandbox === null && dst.path === '-' && dst.sandbox === null) throw usageError('both sides are "-"', 'one side must be a sandbox: lab sandbox cp - SANDBOX:DIR or lab sandbox cp SANDBOX:PATH -')
    if ((src.sandbox === null) === (dst.sandbox === null)) {
      throw usageError(src.sandbox ? 'copying between two sandboxes is not supported' : 'one side must be a sandbox', 'use lab sandbox cp SANDBOX:PATH DEST or lab sandbox cp SRC SANDBOX:PATH')
    }
    const out = src.sandbox !== null
    const inner = out ? src : dst
    const host = out ? dst : src
    const {rec, pid, start} = this.enterable(inner.sandbox!, 'copy with')
    const path = sandboxPath(inner.path)
    if (path === '/' ) throw usageError('cannot copy the whole root of a sandbox', 'name a directory below /')
    const tar = host.path === '-'
    if (tar && !out && opts.followLink) throw usageError('-L has no meaning when copying an archive in', 'leave out -L; symlinks in the archive are copied as links')
    const output = opts.output ?? process.stdout
    if (tar && out && output.isTTY) throw usageError('refusing to write a tar archive to a terminal', `redirect it to a file or a pipe: lab sandbox cp ${srcArg} - > out.tar`)
    const plan = serializePlan(buildCopyPlan({pid, start}, out ? 'out' : 'in', path, {follow: out && opts.followLink, archive: opts.archive, intoDir: tar && !out}))
    const what = out ? `${rec.name}:${path}` : tar ? 'the archive' : host.path
    let staging: string | null = null
    let received: string | null = null
    try {
      if (out && !tar) staging = stagingFor(host.path)
      const r = await runCopyHelper(plan, out ? 'out' : 'in', async (stream) => {
        if (out && tar) await streamToTar(stream as Readable, output, {archive: opts.archive})
        else if (out) received = await receiveHost(stream as Readable, staging!, {archive: opts.archive})
        else if (tar) await tarToStream(opts.input ?? process.stdin, stream as Writable, {archive: opts.archive})
        else await sendHost(host.path, stream as Writable, {followLink: opts.followLink, archive: opts.archive})
      })
      if (r.error) {
        const e = r.error
        const hint = e.errnoName === 'ENOENT' ? 'check the path; it is resolved inside the sandbox'
          : e.errnoName === 'EXDEV' ? 'the path leaves the sandbox\'s root'
          : /refusing a symlink/.test(e.message) ? 'add -L to copy what a symlink at the source itself points to (inside the sandbox); links below it must stay inside what is copied'
          : 'see lab sandbox exec to look around inside'
        throw new LabError(e.errnoName === 'ENOENT' ? 'cp-not-found' : 'cp-failed', failureSentence({...e, stage: 'copy'}, `cannot copy ${what}`), {hint})
      }
      const destination = out ? (tar ? '-' : placeReceived(received!, host.path)) : path
      return {direction: out ? 'out' : 'in', sandbox: rec.name, source: out ? path : host.path, destination, files: r.files, bytes: r.bytes}
    } finally {
      if (staging) removeStaging(staging)
    }
  }

  top(ref: string): {id: string; name: string; titles: string[]; processes: ProcInfo[]} {
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (!st.running) throw new LabError('sandbox-not-running', `sandbox ${rec.name} is not running (${st.status})`, {hint: `start it: lab sandbox start ${rec.name}`})
    const processes = pidsInNamespaceOf(st.pid).map(procInfo).filter((p): p is ProcInfo => p !== null)
    return {id: rec.id, name: rec.name, titles: ['UID', 'PID', 'PPID', 'STAT', 'TIME', 'CMD'], processes}
  }

  /** CPU % over sampleMs, memory (sum of resident sets) and process count of running sandboxes. */
  async stats(refs: string[] = [], sampleMs = 500): Promise<Array<{id: string; name: string; cpuPercent: number; memoryBytes: number; memoryLimitBytes: number | null; pids: number}>> {
    const recs = refs.length ? refs.map((r) => this.store.get(r)) : this.store.all()
    const running = recs.map((r) => ({rec: r, st: this.state(r)})).filter((x) => x.st.running)
    const cpu = async (x: {rec: SandboxRecord; st: SandboxState}) => {
      const g = this.openCgroup(x.rec.id)
      if (g) return g.cpuUsageUs().catch(() => 0)
      const tick = 1e6 / 100
      return pidsInNamespaceOf(x.st.pid).map(procInfo).reduce((s, p) => s + (p ? (p.utimeTicks + p.stimeTicks) * tick : 0), 0)
    }
    const before = await Promise.all(running.map(cpu))
    const t0 = process.hrtime.bigint()
    await sleep(sampleMs)
    const after = await Promise.all(running.map(cpu))
    const elapsedUs = Number(process.hrtime.bigint() - t0) / 1000
    return running.map((x, i) => {
      const procs = pidsInNamespaceOf(x.st.pid).map(procInfo).filter((p): p is ProcInfo => p !== null)
      const limit = x.rec.spec.limits?.memoryBytes ?? null
      return {
        id: x.rec.id,
        name: x.rec.name,
        cpuPercent: Math.max(0, ((after[i] - before[i]) / elapsedUs) * 100),
        memoryBytes: procs.reduce((s, p) => s + p.rssBytes, 0),
        memoryLimitBytes: typeof limit === 'number' ? limit : null,
        pids: procs.length,
      }
    })
  }

  // ---------------------------------------------------------------- prune

  /**
   * Removes every stopped sandbox and whatever crashed CLIs or supervisors left:
   * half-created records, runtime directories without a record, stale name links and
   * locks, cgroups whose owner died, and unused anonymous volumes (all unused with volumes: 'all').
   */
  async prune(opts: {volumes?: boolean | 'all'} = {}): Promise<{sandboxes: string[]; orphans: string[]; cgroups: string[]; volumes: string[]}> {
    const report = {sandboxes: [] as string[], orphans: [] as string[], cgroups: [] as string[], volumes: [] as string[]}
    for (const rec of this.store.all()) {
      const st = this.state(rec)
      if (st.running || st.restarting) continue
      try {
        await this.remove(rec.id, {volumes: true})
        report.sandboxes.push(rec.name)
      } catch {}
    }
    const now = Date.now()
    for (const id of this.store.ids()) {
      const dir = this.store.dir(id)
      if (existsSync(join(dir, 'config.json'))) continue
      // a create still in progress is younger than a minute
      try {
        if (now - statSync(dir).mtimeMs < 60_000) continue
      } catch {}
      rmSync(dir, {recursive: true, force: true})
      report.orphans.push(`record ${shortId(id)}`)
    }
    for (const id of safeReaddir(this.store.dirs.runSandboxes)) {
      if (!ID_PATTERN.test(id) || this.store.load(id)) continue
      const s = this.store.status(id)
      if (s && s.state !== 'exited' && isAlive(s.supervisorPid, s.supervisorStart)) process.kill(s.supervisorPid, 'SIGKILL')
      rmSync(this.store.runDir(id), {recursive: true, force: true})
      await this.removeCgroup(id)
      report.orphans.push(`runtime ${shortId(id)}`)
    }
    for (const name of safeReaddir(this.store.dirs.names)) {
      const holder = this.store.nameHolder(name)
      if (!holder || !this.store.load(holder)) {
        if (holder && existsSync(this.store.dir(holder))) continue // being created right now
        try {
          unlinkSync(join(this.store.dirs.names, name))
          report.orphans.push(`name ${name}`)
        } catch {}
      }
    }
    try {
      const sweep = await sweepStaleCgroups()
      report.cgroups = sweep.removed
    } catch {}
    if (opts.volumes) report.volumes = this.volumes.prune({all: opts.volumes === 'all'})
    return report
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Turns log records (see src/sandbox-native/logs.c) back into lines, across reads. */
export class LogParser {
  private rest = ''
  private partial: Record<'o' | 'e', {text: string; ns: string} | null> = {o: null, e: null}

  feed(chunk: Buffer): LogLine[] {
    const text = this.rest + chunk.toString('utf8')
    const lines = text.split('\n')
    this.rest = lines.pop() ?? ''
    const out: LogLine[] = []
    for (const rec of lines) {
      const m = /^(\d+) ([oe])([FP]) /.exec(rec)
      if (!m) continue
      const stream = m[2] as 'o' | 'e'
      const data = rec.slice(m[0].length)
      const p = this.partial[stream]
      const joined = p ? p.text + data : data
      const ns = p ? p.ns : m[1]
      if (m[3] === 'P') {
        this.partial[stream] = {text: joined, ns}
        continue
      }
      this.partial[stream] = null
      out.push({stream: stream === 'o' ? 'stdout' : 'stderr', time: nsToIso(ns), line: joined})
    }
    return out
  }
}

function nsToIso(ns: string): string {
  const n = BigInt(ns)
  const ms = Number(n / 1_000_000n)
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0')
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`)
}

/** The engine API for labs and commands: one Lifecycle per state directory. */
export function lifecycle(opts: LifecycleOptions = {}): Lifecycle {
  return new Lifecycle(opts)
}
