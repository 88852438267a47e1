/**
 * Runs the native helper: writes the plan on its control socket (fd 3), reads its JSON
 * events back, and keeps the socket open so that the helper ends the sandbox if this
 * process dies. Only node built-ins here: this is on the start-up path.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {accessSync, constants} from 'node:fs'
import type {Duplex} from 'node:stream'
import {fileURLToPath} from 'node:url'

import {LabError} from '../errors.js'
import {helperServer} from './helper-server.js'
import type {ExitEvent, HelperError} from './result.js'

export const HELPER_PATH = fileURLToPath(new URL('../native/lab-helper', import.meta.url))
/** The seccomp compiler (needs libseccomp, so it is not part of the static helper). */
export const SECCOMP_TOOL_PATH = fileURLToPath(new URL('../native/lab-seccomp', import.meta.url))

export function assertHelperBuilt(path = HELPER_PATH): void {
  try {
    accessSync(path, constants.X_OK)
  } catch {
    throw new LabError('helper-missing', `the sandbox helper is not built (${path} is missing)`, {hint: 'run `npm ci` or `npm run build` in the lab directory'})
  }
}

export interface HelperRunOptions {
  /** inherit: the sandbox shares our terminal; pipe: output is collected */
  stdio: 'inherit' | 'pipe'
  /** connect stdin (otherwise the sandbox reads /dev/null) */
  stdin?: boolean
  /** text written to the sandbox's stdin (pipe mode) */
  input?: string | Buffer
  /** bytes of stdout+stderr kept in pipe mode; beyond it output is cut and the run ended */
  outputLimit?: number
  onStdout?: (chunk: Buffer) => void
  onStderr?: (chunk: Buffer) => void
  /** after SIGTERM to this process, how long the sandbox gets before SIGKILL (default 10 s) */
  stopGraceMs?: number
  /** called once the program runs */
  onStarted?: (pid: number) => void
  /** aborting it kills the sandbox at once (a lab run stopped by Ctrl-C) */
  abortSignal?: AbortSignal
}

export interface HelperOutcome {
  exit: ExitEvent | null
  error: HelperError | null
  stdout: Buffer
  stderr: Buffer
  outputLimited: boolean
  helperExitCode: number | null
  /** the host id range the sandbox's user namespace maps onto */
  userns: {uidBase: number; gidBase: number; size: number} | null
  warnings: string[]
}

/*
 * One pair of process signal handlers for all runs in flight (a batch runs many at once):
 * each run registers what SIGINT and SIGTERM mean for it.
 */
interface SignalWatcher {
  onSigint: () => void
  onSigterm: () => void
}
const watchers = new Set<SignalWatcher>()
const onProcessSigint = () => watchers.forEach((w) => w.onSigint())
const onProcessSigterm = () => watchers.forEach((w) => w.onSigterm())

function watchSignals(w: SignalWatcher): void {
  if (watchers.size === 0) {
    process.on('SIGINT', onProcessSigint)
    process.on('SIGTERM', onProcessSigterm)
  }
  watchers.add(w)
}

function unwatchSignals(w: SignalWatcher): void {
  if (!watchers.delete(w) || watchers.size > 0) return
  process.off('SIGINT', onProcessSigint)
  process.off('SIGTERM', onProcessSigterm)
}

/** Where a run's commands go and its events, output and end come from. */
interface Channel {
  send(cmd: string): void
  close(): void
}

/** Captured runs go through the fork server (LAB_HELPER_SERVER=0 turns it off). */
function viaServer(opts: HelperRunOptions): boolean {
  return opts.stdio === 'pipe' && (!opts.stdin || opts.input !== undefined) && process.env.LAB_HELPER_SERVER !== '0'
}

/** One event line the helper writes on its control socket (fd 3). */
export type HelperEvent = {event: string} & Record<string, unknown>

/** Splits the control socket's text into JSON event lines (a partial line waits for the rest). */
export function eventReader(onEvent: (ev: HelperEvent) => void): (chunk: string) => void {
  let buf = ''
  return (chunk) => {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      let ev: HelperEvent
      try {
        ev = JSON.parse(line)
      } catch {
        continue
      }
      onEvent(ev)
    }
  }
}

/**
 * The one place `lab-helper run` is started (the batch fork server, helper-server.ts,
 * starts `lab-helper serve`): the plan goes on fd 3, its control socket, and the
 * helper's events come back on it.
 */
export function startHelper(plan: string, stdio: [StdioOptionValue, StdioOptionValue, StdioOptionValue], opts: {detached?: boolean} = {}): {child: ChildProcess; ctl: Duplex} {
  assertHelperBuilt()
  const child = spawn(HELPER_PATH, ['run'], {stdio: [...stdio, 'pipe'], detached: opts.detached})
  const ctl = child.stdio[3] as Duplex
  ctl.on('error', () => {})
  ctl.write(plan)
  return {child, ctl}
}
type StdioOptionValue = 'pipe' | 'inherit' | 'ignore'

/**
 * Starts the helper as a detached sandbox's supervisor and reads its events until it
 * lets go of fd 3 (the sandbox runs then, or failed to start).
 */
export function startSupervisor(plan: string): Promise<{pid: number; supervisorPid: number; error: HelperError | null; warnings: string[]; userns: {hostUidBase: number; hostGidBase: number; size: number} | null}> {
  const {child, ctl} = startHelper(plan, ['ignore', 'ignore', 'ignore'], {detached: true})
  const out = {pid: 0, supervisorPid: 0, error: null as HelperError | null, warnings: [] as string[], userns: null as {hostUidBase: number; hostGidBase: number; size: number} | null}
  ctl.setEncoding('utf8')
  ctl.on('data', eventReader((ev) => {
    if (ev.event === 'started') out.pid = ev.pid as number
    else if (ev.event === 'detached') out.supervisorPid = ev.supervisorPid as number
    else if (ev.event === 'error') out.error = ev as unknown as HelperError
    else if (ev.event === 'warning' && typeof ev.message === 'string') out.warnings.push(ev.message)
    else if (ev.event === 'userns') out.userns = {hostUidBase: ev.uidBase as number, hostGidBase: ev.gidBase as number, size: ev.size as number}
  }))
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(helperSpawnError(e)))
    ctl.on('close', () => {
      child.unref()
      resolve(out)
    })
  })
}

export function helperSpawnError(e: Error): LabError {
  return new LabError('helper-spawn', `cannot start the sandbox helper: ${e.message}`, {hint: 'run `npm run build` and `lab doctor`'})
}

export function runHelper(plan: string, opts: HelperRunOptions): Promise<HelperOutcome> {
  assertHelperBuilt()
  const outcome: HelperOutcome = {exit: null, error: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), outputLimited: false, helperExitCode: null, userns: null, warnings: []}

  // Ctrl-C reaches the helper too (same process group) and it forwards it to the
  // sandbox; we stay alive to report. A PID 1 without a handler ignores SIGINT/SIGTERM
  // (as in Docker), so a second Ctrl-C, or the grace period after SIGTERM, kills.
  // Commands sent before the channel exists (an already-aborted signal) wait for it.
  const early: string[] = []
  let ctl: Channel = {send: (cmd) => void early.push(cmd), close: () => {}}
  let interrupts = 0
  let grace: NodeJS.Timeout | undefined
  const onSigint = () => {
    if (++interrupts >= 2) ctl.send('kill 9\n')
  }
  const onSigterm = () => {
    ctl.send(grace ? 'kill 9\n' : 'kill 15\n')
    grace ??= setTimeout(() => ctl.send('kill 9\n'), opts.stopGraceMs ?? 10_000)
  }
  const watcher: SignalWatcher = {onSigint, onSigterm}
  watchSignals(watcher)
  const onAbort = () => ctl.send('kill 9\n')
  if (opts.abortSignal?.aborted) onAbort()
  opts.abortSignal?.addEventListener('abort', onAbort)

  const limit = opts.outputLimit ?? Number.POSITIVE_INFINITY
  const chunks: {stdout: Buffer[]; stderr: Buffer[]} = {stdout: [], stderr: []}
  let kept = 0
  const collect = (which: 'stdout' | 'stderr', cb?: (c: Buffer) => void) => (c: Buffer) => {
    if (outcome.outputLimited) return
    const room = limit - kept
    if (c.length > room) {
      if (room > 0) {
        // the part that still fits is kept and passed on, like everything before it
        chunks[which].push(c.subarray(0, room))
        cb?.(c.subarray(0, room))
      }
      kept = limit
      outcome.outputLimited = true
      ctl.send('kill 9\n')
      return
    }
    kept += c.length
    chunks[which].push(c)
    cb?.(c)
  }
  const onStdout = collect('stdout', opts.onStdout)
  const onStderr = collect('stderr', opts.onStderr)

  const onEvents = eventReader((ev) => {
    if (ev.event === 'exit') outcome.exit = ev as unknown as ExitEvent
    else if (ev.event === 'error') outcome.error = ev as unknown as HelperError
    else if (ev.event === 'started') opts.onStarted?.(ev.pid as number)
    else if (ev.event === 'userns') outcome.userns = {uidBase: ev.uidBase as number, gidBase: ev.gidBase as number, size: ev.size as number}
    else if (ev.event === 'warning') outcome.warnings.push(String(ev.message))
  })

  return new Promise((resolve, reject) => {
    const finish = (code: number | null) => {
      cleanup()
      outcome.helperExitCode = code
      outcome.stdout = Buffer.concat(chunks.stdout)
      outcome.stderr = Buffer.concat(chunks.stderr)
      resolve(outcome)
    }
    if (viaServer(opts)) {
      const server = helperServer(HELPER_PATH)
      const input = opts.input === undefined ? undefined : Buffer.from(opts.input)
      const id = server.run(plan, input, {onEvents: (d) => onEvents(d.toString('utf8')), onStdout, onStderr, onEnd: finish})
      ctl = {send: (cmd) => server.kill(id, Number(cmd.split(' ')[1])), close: () => {}}
      for (const cmd of early.splice(0)) ctl.send(cmd)
    } else {
      const stdin = opts.stdin ? (opts.stdio === 'pipe' ? 'pipe' : 'inherit') : 'ignore'
      const out = opts.stdio === 'pipe' ? 'pipe' : 'inherit'
      const {child, ctl: sock} = startHelper(plan, [stdin, out, out])
      ctl = {send: (cmd) => void sock.write(cmd), close: () => sock.destroy()}
      child.stdout?.on('data', onStdout)
      child.stderr?.on('data', onStderr)
      if (child.stdin) {
        child.stdin.on('error', () => {})
        if (opts.input !== undefined) child.stdin.end(opts.input)
      }
      sock.setEncoding('utf8')
      sock.on('data', onEvents)
      for (const cmd of early.splice(0)) ctl.send(cmd)
      child.on('error', (e) => {
        cleanup()
        reject(helperSpawnError(e))
      })
      child.on('close', finish)
    }
  })

  function cleanup() {
    if (grace) clearTimeout(grace)
    unwatchSignals(watcher)
    opts.abortSignal?.removeEventListener('abort', onAbort)
    ctl.close()
  }
}
