/**
 * A job's services: long-running sandboxes that share one network namespace, which
 * every step of the job then joins, so steps reach them on localhost. The first service
 * gets a new network namespace; the others join it. Each runs in the foreground of this
 * process (its helper holds it), so a service can never outlive the pipeline, not even
 * when the CLI is killed: the helper sees its control socket close and ends it.
 *
 * Ready means: the service listens on its port (read from the kernel's socket table of
 * its namespace, /proc/PID/net/tcp*, without entering it), or its ready command
 * succeeds in a probe sandbox joined to the same network.
 */
import {readFileSync} from 'node:fs'

import {LabError} from '../errors.js'
import type {SandboxRequest} from '../sandbox/request.js'
import type {SandboxResult} from '../sandbox/result.js'
import {runRequest} from '../sandbox/run-request.js'
import {processStartTime} from '../sandbox/state/proc.js'

export type NetJoin = NonNullable<SandboxRequest['joins']>[number]

export interface RunningService {
  name: string
  /** the service sandbox's id (the engine's, as lab sandbox ls shows it) */
  id: string
  pid: number
  join: NetJoin
  done: Promise<SandboxResult>
  exited: SandboxResult | null
  stop: () => Promise<SandboxResult | null>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Starts one service; resolves once its program runs (not yet ready). */
export function startService(name: string, req: SandboxRequest, opts: {join?: NetJoin; onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void}): Promise<RunningService> {
  const abort = new AbortController()
  return new Promise((resolve, reject) => {
    let started = false
    const svc: Partial<RunningService> & {exited: SandboxResult | null} = {name, exited: null}
    const done = runRequest({...req, joins: opts.join ? [opts.join] : undefined}, {
      stdio: 'pipe',
      // the output goes to the service's log as it comes, not into memory
      outputLimit: undefined,
      onStdout: (c) => opts.onOutput('stdout', c),
      onStderr: (c) => opts.onOutput('stderr', c),
      abortSignal: abort.signal,
      onCreated: (s) => {
        svc.id = s.id
      },
      onStarted: (pid) => {
        started = true
        const start = processStartTime(pid)
        Object.assign(svc, {
          pid,
          // the namespace to join is the service's own, or the one it joined itself
          join: opts.join ?? {kind: 'net', pid, start},
          done,
          stop: async () => {
            if (svc.exited) return svc.exited
            abort.abort()
            return done.catch(() => null)
          },
        })
        resolve(svc as RunningService)
      },
    })
    done.then(
      (r) => {
        svc.exited = r
        if (!started) reject(new LabError('ci-service', `service ${name} did not start: ${r.error?.message ?? r.verdict}`, {hint: r.error?.hint ?? 'check its run: command'}))
      },
      (e) => {
        if (!started) reject(e)
      },
    )
  })
}

/** Is something listening on TCP port `port` in the network namespace of pid? */
export function listensOn(pid: number, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const f of ['tcp', 'tcp6']) {
    let text: string
    try {
      text = readFileSync(`/proc/${pid}/net/${f}`, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // local_address is ADDR:PORT, st 0A is LISTEN
      if (cols.length > 3 && cols[1].endsWith(`:${hex}`) && cols[3] === '0A') return true
    }
  }
  return false
}

/**
 * Waits until the service is ready: `port` listens, or `probe()` (the ready command in
 * the service's network) succeeds. Fails when the service ends first or time runs out.
 */
export async function waitReady(svc: RunningService, ready: {port?: number; probe?: () => Promise<boolean>; timeoutMs: number}, abort?: AbortSignal): Promise<void> {
  const end = Date.now() + ready.timeoutMs
  let delay = 20
  for (;;) {
    if (svc.exited) {
      throw new LabError('ci-service', `service ${svc.name} ended before it was ready (${svc.exited.verdict}, exit code ${svc.exited.exitCode})`, {hint: 'see its log: lab ci logs --job JOB --service NAME'})
    }
    if (abort?.aborted) throw new LabError('ci-cancelled', 'cancelled')
    if (ready.port !== undefined && listensOn(svc.pid, ready.port)) {
      if (!ready.probe) return
    }
    if (ready.probe && (ready.port === undefined || listensOn(svc.pid, ready.port)) && (await ready.probe())) return
    if (ready.port === undefined && !ready.probe) return
    if (Date.now() > end) {
      const what = ready.probe ? 'its ready command never succeeded' : `nothing listened on port ${ready.port}`
      throw new LabError('ci-service', `service ${svc.name} was not ready after ${Math.round(ready.timeoutMs / 1000)} s: ${what}`, {hint: 'check the service\'s log and its ready: settings (ready.timeout-seconds gives it longer)'})
    }
    await sleep(delay)
    delay = Math.min(delay * 2, 250)
  }
}
