/**
 * The one function that runs a request (request.ts) to its end and returns a
 * SandboxResult, whichever way it runs: in the foreground (run.ts: the helper supervises
 * it from this process) or under a supervisor that is recorded in the state directory
 * (lifecycle.ts: managed volumes, --volumes-from, joined namespaces, a kept name). -d
 * starts it and returns at once (startDetached); its result comes from `wait`
 * (Lifecycle.result), in the same shape.
 *
 * Limits are enforced in one place each: memory, pids and CPU shares by the cgroup
 * (cgroups/), --timeout by the helper (plan op "timeout"), --cpu-time and
 * --output-limit by this process for a foreground run (run.ts) and by the supervisor's
 * plan ops "cputime" and "outputlimit" otherwise; the verdict is judged by one function
 * (result.ts) from what either reports.
 */
import {mkdirSync, rmSync} from 'node:fs'

import {usageError} from '../errors.js'
import {buildSpec} from './build-spec.js'
import type {Lifecycle} from './lifecycle.js'
import {needsSupervisor, type RunRequest} from './request.js'
import type {SandboxResult} from './result.js'
import {runSandbox} from './run.js'
import type {SandboxSpec} from './spec.js'

export interface RunIo {
  /** inherit: the sandbox shares our terminal; pipe: output is collected into the result */
  stdio: 'inherit' | 'pipe'
  /** connect stdin (foreground runs only) */
  stdin?: boolean
  /** text written to the sandbox's stdin (foreground runs only) */
  input?: string
  /** bytes of output kept in the result */
  outputLimit?: number
  /** aborting it ends the sandbox at once */
  abortSignal?: AbortSignal
  /** -t: the program gets a terminal of the sandbox's devpts, this size */
  terminal?: {rows: number; cols: number}
  /** the lifecycle engine for supervised runs, made on first use (default: one on stateDir) */
  engine?: () => Lifecycle
  stateDir?: string
  /** called with the sandbox's name and id once it exists */
  onCreated?: (s: {id: string; name: string}) => void
  /** called with the spec of a foreground run before it starts */
  onSpec?: (spec: SandboxSpec) => void
  /** called with the sandbox's first process once it runs (foreground runs) */
  onStarted?: (pid: number) => void
  /** output as it comes (pipe mode; it is still collected into the result up to outputLimit;
   * a supervised run's comes line by line from its log) */
  onStdout?: (chunk: Buffer) => void
  onStderr?: (chunk: Buffer) => void
}

async function engineFor(io: {engine?: () => Lifecycle; stateDir?: string}): Promise<Lifecycle> {
  return io.engine ? io.engine() : (await import('./lifecycle.js')).lifecycle({stateDir: io.stateDir})
}

/** Runs the request to its end: the same result, foreground or supervised. */
export async function runRequest(req: RunRequest, io: RunIo): Promise<SandboxResult> {
  if (req.detach) throw usageError('a detached run has no result yet', 'start it with startDetached, then wait for it')
  if (needsSupervisor(req)) {
    if (req.joins?.length) throw usageError('a run that joins namespaces by pid runs in the foreground only', 'leave out what needs a supervisor (managed volumes, -d, a name kept, sandbox:NAME)')
    if (io.stdin || io.input !== undefined) throw usageError('-i with managed volumes or joined namespaces needs -d for now', 'add -d (stdin is then kept open), or bind a host directory instead')
    if (req.restart !== undefined) throw usageError('--restart needs -d', 'a restart policy applies to detached sandboxes: add -d')
    const lc = await engineFor(io)
    return lc.runAttached({...req, tty: req.tty ?? io.terminal !== undefined}, {stdio: io.stdio, abortSignal: io.abortSignal, outputLimit: io.outputLimit, onCreated: io.onCreated, onStdout: io.onStdout, onStderr: io.onStderr})
  }
  const spec = await buildSpec(req, {stateDir: io.stateDir})
  io.onCreated?.(spec)
  io.onSpec?.(spec)
  // rootUpper: the caller keeps the upper; its work directory is ours, for this run only
  const work = spec.root.work
  if (work) mkdirSync(work, {mode: 0o700})
  try {
    return await runForeground(spec, io, req.joins)
  } finally {
    if (work) rmSync(work, {recursive: true, force: true})
  }
}

function runForeground(spec: SandboxSpec, io: RunIo, joins: RunRequest['joins']): Promise<SandboxResult> {
  return runSandbox(spec, {
    joins,
    onStarted: io.onStarted,
    stdio: io.stdio,
    stdin: io.stdin,
    input: io.input,
    outputLimit: io.outputLimit,
    abortSignal: io.abortSignal,
    terminal: io.terminal ? {...io.terminal, stdin: io.stdin === true} : undefined,
    onStdout: io.onStdout,
    onStderr: io.onStderr,
  })
}

/** -d: creates and starts the sandbox under its supervisor and returns; `wait` gives the result. */
export async function startDetached(req: RunRequest, io: {engine?: () => Lifecycle; stateDir?: string; onCreated?: (s: {id: string; name: string}) => void} = {}): Promise<{id: string; name: string; pid: number}> {
  return (await engineFor(io)).run(req, io.onCreated)
}
