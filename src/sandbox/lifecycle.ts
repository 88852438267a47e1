/**
 * The sandbox lifecycle: detached sandboxes with names, states, logs, restart policies,
 * managed volumes and joined namespaces. The one API that `lab sandbox …`, `lab volume …`
 * and labs use; commands only print what it returns (the Docker-shaped views, inspect and
 * the ps status text, are in src/cli/views.ts).
 *
 * A started sandbox is supervised by the native helper itself (src/sandbox-native/
 * detach.c): it outlives the CLI, writes status.json atomically, captures the output
 * into a capped log and restarts by policy. This class ties together, one concern a file:
 *   lifecycle/create.ts      volumes, shared namespaces, what the supervisor is told
 *   lifecycle/state.ts       the state from the supervisor's status (and a dead supervisor)
 *   lifecycle/supervisor.ts  its control socket; signal and restart texts
 *   lifecycle/groups.ts      cgroups: fresh per start, freezer, counters (root injectable)
 *   lifecycle/logs.ts        the log, across rotations, followed
 *   lifecycle/result.ts      the run's SandboxResult, as a foreground run's
 *   lifecycle/enter.ts       exec and cp
 *   lifecycle/stats.ts       top and stats
 *   lifecycle/prune.ts       system prune
 */
import {copyFileSync, mkdirSync, rmSync} from 'node:fs'
import {constants} from 'node:os'
import {join} from 'node:path'
import type {Readable, Writable} from 'node:stream'

import {LabError, usageError} from '../errors.js'
import {attachToSupervisor, parseDetachKeys, type AttachIo, type AttachOptions} from './attach.js'
import {buildSpec} from './build-spec.js'
import {imageUpperDirs} from '../images/upper-dirs.js'
import type {CgroupOptions, CgroupStats} from './cgroups/index.js'
import type {CopyResult} from './copy.js'
import {startSupervisor} from './helper.js'
import {DEFAULT_LIMITS} from './limits.js'
import {parseLogOptions} from './log-options.js'
import {assertValidName} from './names.js'
import {bridgeNetworks, requireBridgeNetworks} from './networks.js'
import {buildPlan, serializePlan, type PlanContext} from './plan.js'
import type {RunRequest} from './request.js'
import {helperErrorOf, helperFailure, resultFromEvents, signalName, type SandboxResult} from './result.js'
import {readJson} from './state/atomic.js'
import {processStartTime, type ProcInfo} from './state/proc.js'
import {Store, type SandboxRecord, type SupervisorStatus} from './state/store.js'
import {validateSpec} from './validate.js'
import {Volumes} from './volumes-managed.js'
import {hostResolvConf} from './etc.js'
import {checkShareUserns, joinsFor, resolveShare, resolveVolumes, superviseContext} from './lifecycle/create.js'
import {copy, exec, execDetached} from './lifecycle/enter.js'
import type {LifecycleContext} from './lifecycle/context.js'
import {SandboxGroups} from './lifecycle/groups.js'
import {readLogs, type LogLine, type LogOptions} from './lifecycle/logs.js'
import {prune} from './lifecycle/prune.js'
import {resultOf} from './lifecycle/result.js'
import {readState, type SandboxState, type SandboxSummary} from './lifecycle/state.js'
import {stats, top} from './lifecycle/stats.js'
import {askSupervisor, parseRestartPolicy, parseSignal, STOP_SIGNALS} from './lifecycle/supervisor.js'

export type {SandboxRecord} from './state/store.js'
export type {SandboxState, SandboxStatusName, SandboxSummary} from './lifecycle/state.js'
export type {LogLine} from './lifecycle/logs.js'
export {LogParser} from './lifecycle/logs.js'
export {terminalSize} from './lifecycle/create.js'
export {parseRestartPolicy, parseSignal} from './lifecycle/supervisor.js'

/** A lifecycle request is the run request (request.ts). */
export type LifecycleRequest = RunRequest

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The supervisor's control socket. */
function controlSocket(store: Store, id: string): string {
  return join(store.runDir(id), 'ctl')
}

export interface LifecycleOptions {
  stateDir?: string
  /** where the engine's warnings go (default: stderr); a lab's checklist collects them */
  onWarning?: (message: string) => void
  /** the cgroup root and ownership records (tests inject a fake tree) */
  cgroup?: CgroupOptions
}

export class Lifecycle implements LifecycleContext {
  readonly store: Store
  readonly volumes: Volumes
  readonly groups: SandboxGroups
  private readonly warn: (message: string) => void

  constructor(opts: LifecycleOptions = {}) {
    this.store = new Store(opts.stateDir)
    this.volumes = new Volumes(this.store)
    this.groups = new SandboxGroups(opts.cgroup)
    this.warn = opts.onWarning ?? ((w) => void process.stderr.write(`lab: warning: ${w}\n`))
  }

  // ---------------------------------------------------------------- create / start

  /** Validates the request and records a sandbox in state "created". */
  async create(req: LifecycleRequest): Promise<SandboxRecord> {
    if (req.name !== undefined) assertValidName(req.name)
    // a caller-owned upper's work directory lives beside it for one foreground run only
    if (req.rootUpper !== undefined) throw usageError('an upper layer of the caller\'s (rootUpper) is for foreground runs only', 'leave out managed volumes, --volumes-from, joined namespaces and a kept name, or let the sandbox keep its own upper')
    const restart = parseRestartPolicy(req.restart)
    const log = parseLogOptions(req.logOpts)
    if (restart.name !== 'no' && req.autoRemove) throw usageError('--restart and --rm cannot be used together', 'a sandbox that is removed when it ends cannot be restarted; choose one')
    const {mounts, volumes, hostVolumes} = resolveVolumes(this.store, this.volumes, req)
    const share = resolveShare(this.store, req)
    // the caller's own resolved mounts (grading, labs) come first, then the volumes'
    const spec = await buildSpec({...req, name: req.name ?? 'pending', volumes: hostVolumes, mounts: [...(req.mounts ?? []), ...mounts], network: share.network ? 'none' : req.network}, {stateDir: this.store.roots.data, store: this.store})
    if (Object.keys(share).length) spec.share = share
    checkShareUserns(this.store, spec)
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
    // An image root's upper layer lives with the record: kept for commit, diff, cp and
    // export, and removed with it (rm, --rm, prune, a dead caller's supervisor).
    if (rec.spec.root.type === 'image' && !rec.spec.root.upper) {
      Object.assign(rec.spec.root, imageUpperDirs(this.store.dir(rec.id)))
      this.store.save(rec)
    }
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
      const ctx: PlanContext = {joins: joinsFor(this, rec), ipcHost: rec.spec.share?.ipc === 'host'}
      if (rec.spec.network === 'host') ctx.hostResolvConf = hostResolvConf()
      const group = await this.groups.fresh(rec.id, rec.spec.limits ?? DEFAULT_LIMITS)
      ctx.cgroupProcs = group.procsFiles
      // The supervisor removes the groups and this record when the sandbox is over for
      // good, and keeps their final counters in its status (cgroupStats reads them).
      ctx.cgroupOwnerRecord = group.ownerRecord
      ctx.cgroupStatFiles = group.statFiles?.()
      const runDir = this.store.runDir(id)
      rmSync(runDir, {recursive: true, force: true})
      mkdirSync(runDir, {recursive: true, mode: 0o700})
      ctx.supervise = superviseContext(this.store, rec, group, opts.caller ?? false)
      // a bridged sandbox: its bridge, published ports and resolver are ready before it is
      if (rec.spec.bridge) await requireBridgeNetworks(rec.spec.bridge.networks[0].network).beforeStart(this.store, id)
      const ops = buildPlan(rec.spec, ctx)
      let sup
      try {
        sup = await startSupervisor(serializePlan(ops))
      } catch (e) {
        await group.remove().catch(() => {})
        throw e
      }
      if (sup.supervisorPid) this.groups.handOver(id, sup.supervisorPid)
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

  // ---------------------------------------------------------------- state

  /** The live state; a supervisor found dead is recorded as exited on the spot. */
  state(rec: SandboxRecord): SandboxState {
    return readState(this.store, this.groups, rec)
  }

  /** The group's counters: live while it exists, else as its supervisor left them at the end. */
  cgroupStats(rec: SandboxRecord): Promise<CgroupStats | null> {
    return this.groups.stats(rec.id, this.store.status(rec.id)?.cgroup)
  }

  summary(rec: SandboxRecord): SandboxSummary {
    return {id: rec.id, name: rec.name, command: rec.spec.process.args.join(' '), created: rec.created, state: this.state(rec)}
  }

  list(opts: {all?: boolean} = {}): SandboxSummary[] {
    return this.store
      .all()
      .map((r) => this.summary(r))
      .filter((s) => opts.all || s.state.running || s.state.restarting)
      .sort((a, b) => b.created.localeCompare(a.created))
  }

  // ---------------------------------------------------------------- signals

  async kill(ref: string, signal = 'KILL'): Promise<{id: string; name: string; signal: string}> {
    const sig = parseSignal(signal)
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (st.status !== 'running' && st.status !== 'paused') {
      throw new LabError('sandbox-not-running', `cannot kill sandbox ${rec.name}: it is ${st.status}`, {hint: `only running sandboxes take signals; see lab sandbox ps -a`})
    }
    if (st.paused && STOP_SIGNALS.has(sig)) await this.groups.setFrozen(rec.id, rec.name, false)
    const reply = await askSupervisor(controlSocket(this.store, rec.id), `kill ${sig}`)
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
    const end = await attachToSupervisor(controlSocket(this.store, rec.id), rec.name, io, opts)
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
      if (st.paused) await this.groups.setFrozen(rec.id, rec.name, false)
      await askSupervisor(controlSocket(this.store, rec.id), `stop ${grace}`)
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
    return resultOf(this, rec)
  }

  /**
   * A foreground run under a supervisor (managed volumes, another sandbox's volumes or
   * namespaces, a kept name): create, start with this process as the caller (should it
   * die, even by SIGKILL, the supervisor ends the sandbox and removes it), follow the
   * output from the log, wait, and return the same result a foreground run returns. The
   * record is removed at the end unless req.keep (Docker keeps a named run).
   */
  async runAttached(req: RunRequest, io: {stdio: 'pipe' | 'inherit'; abortSignal?: AbortSignal; outputLimit?: number; onCreated?: (rec: SandboxRecord) => void; onStdout?: (chunk: Buffer) => void; onStderr?: (chunk: Buffer) => void}): Promise<SandboxResult> {
    // ended and removed by this process (or by the supervisor, should this process die)
    const rec = await this.create({...req, detach: false, autoRemove: false})
    io.onCreated?.(rec)
    try {
      await this.start(rec.id, {caller: true})
    } catch (e) {
      await this.remove(rec.id, {force: true, volumes: true}).catch(() => {})
      // a program that cannot run, or a set-up that failed, is a result as in the foreground
      const err = helperErrorOf(e)
      if (!err) throw e
      const failed = resultFromEvents(rec, null, err)
      failed.seccompProfile = rec.spec.seccomp.profile
      if (io.stdio === 'pipe') Object.assign(failed, {stdout: '', stderr: ''})
      return failed
    }
    const stop = () => void this.stop(rec.id, {timeoutSeconds: 0}).catch(() => {})
    io.abortSignal?.addEventListener('abort', stop)
    try {
      const out = {stdout: [] as string[], stderr: [] as string[], kept: 0}
      const limit = io.outputLimit ?? Infinity
      const onLine = (l: LogLine) => {
        if (io.stdio === 'inherit') return void (l.stream === 'stdout' ? process.stdout : process.stderr).write(l.line + '\n')
        ;(l.stream === 'stdout' ? io.onStdout : io.onStderr)?.(Buffer.from(l.line + '\n'))
        if (out.kept > limit) return
        out.kept += l.line.length + 1
        out[l.stream].push(l.line + '\n')
      }
      await this.logs(rec.id, {follow: true, onLine})
      await this.wait(rec.id)
      const result = await resultOf(this, this.store.load(rec.id) ?? rec)
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

  async pause(ref: string): Promise<{id: string; name: string}> {
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (st.status !== 'running') throw new LabError('sandbox-not-running', `cannot pause ${rec.name}: it is ${st.status}`, {hint: st.paused ? 'it is already paused' : 'only a running sandbox can be paused'})
    await this.groups.setFrozen(rec.id, rec.name, true)
    return {id: rec.id, name: rec.name}
  }

  async unpause(ref: string): Promise<{id: string; name: string}> {
    const rec = this.store.get(ref)
    const st = this.state(rec)
    if (st.status !== 'paused') throw new LabError('sandbox-not-paused', `cannot unpause ${rec.name}: it is ${st.status}, not paused`, {hint: 'see lab sandbox ps'})
    await this.groups.setFrozen(rec.id, rec.name, false)
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
        if (st.paused) await this.groups.setFrozen(rec.id, rec.name, false).catch(() => {})
        await askSupervisor(controlSocket(this.store, id), 'stop 0')
        st = await this.waitUntil(rec, (s) => !s.running && !s.restarting, 10_000)
        if (st.supervisorPid && processStartTime(st.supervisorPid)) process.kill(st.supervisorPid, 'SIGKILL')
      }
      await this.groups.remove(id)
      this.store.destroy(rec)
      // its address lease, published ports and names go with it
      if (rec.spec.bridge) await bridgeNetworks()?.reconcile(this.store)
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

  // ---------------------------------------------------------------- logs, exec, cp, top, stats, prune

  /** The captured output. With follow, onLine is called as lines arrive until the sandbox stops (or signal aborts). */
  logs(ref: string, opts: LogOptions = {}): Promise<LogLine[]> {
    return readLogs(this, ref, opts)
  }

  /** Runs a program inside the running sandbox with the sandbox's own hardening. */
  exec(ref: string, command: string[], opts: Parameters<typeof exec>[3] = {}): Promise<SandboxResult> {
    return exec(this, ref, command, opts)
  }

  /** exec -d: the program runs on inside the sandbox after this returns. */
  execDetached(ref: string, command: string[], opts: Parameters<typeof execDetached>[3] = {}): Promise<{id: string; name: string; pid: number}> {
    return execDetached(this, ref, command, opts)
  }

  /** cp: one side a sandbox, the other a local path or "-" (a tar archive). */
  copy(srcArg: string, destArg: string, opts: {followLink?: boolean; archive?: boolean; input?: Readable; output?: Writable & {isTTY?: boolean}} = {}): Promise<CopyResult> {
    return copy(this, srcArg, destArg, opts)
  }

  top(ref: string): {id: string; name: string; titles: string[]; processes: ProcInfo[]} {
    return top(this, ref)
  }

  stats(refs: string[] = [], sampleMs = 500): ReturnType<typeof stats> {
    return stats(this, refs, sampleMs)
  }

  /** Removes every stopped sandbox and whatever crashed CLIs or supervisors left. */
  prune(opts: {volumes?: boolean | 'all'} = {}): ReturnType<typeof prune> {
    return prune(this, opts)
  }
}

/** The engine API for labs and commands: one Lifecycle per state directory. */
export function lifecycle(opts: LifecycleOptions = {}): Lifecycle {
  return new Lifecycle(opts)
}
