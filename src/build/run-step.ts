/**
 * One RUN: one sandbox request (src/sandbox/request.ts) run by the one run function,
 * with the parent image as its root and a caller-owned upper layer that becomes the new
 * layer (src/images/upper.ts). The sandbox is hardened as any other (user namespace with
 * remapped ids, seccomp, dropped capabilities, read-only host, no devices), has no
 * network unless the build was given --network host, and runs under the build's quotas.
 *
 * What a RUN writes lands in the upper on the host's disk, so its size is watched: the
 * file size limit (RLIMIT_FSIZE) stops one huge file at the layer cap, and the upper is
 * measured while the step runs; over the cap (bytes or entries), the step is ended and
 * the build fails with the cap named.
 */
import {lstatSync, mkdirSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import type {LayerLimits} from '../images/limits.js'
import type {ImageStore, LayerRef} from '../images/store.js'
import {layerFromUpper} from '../images/upper.js'
import type {LimitsRequest} from '../sandbox/limits.js'
import type {SandboxResult} from '../sandbox/result.js'
import {runRequest} from '../sandbox/run-request.js'

/**
 * Docker's default capabilities, which a RUN needs to install software (chown, adduser,
 * su, setcap). They act only inside the sandbox's own user namespace, on its own ids: the
 * host's files and processes stay out of reach (lab's base set for sandboxes is empty).
 */
export const RUN_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP']

export interface RunStepOptions {
  store: ImageStore
  stateDir?: string
  /** the image the step runs on */
  parent: string
  command: string[]
  /** build arguments the step sees (K=V), after the image's Env */
  env: string[]
  user?: string
  workdir?: string
  network: 'none' | 'host'
  limits: LimitsRequest
  timeoutMs?: number
  layerLimits: LayerLimits
  /** text on the step's stdin (a heredoc script with a #! line) */
  input?: string
  onOutput?: (chunk: Buffer) => void
  abortSignal?: AbortSignal
}

export interface RunStepResult {
  result: SandboxResult
  /** the new layer, when the step succeeded and wrote anything */
  layer?: LayerRef
  /** why the step was stopped by the build itself (the layer cap) */
  stopped?: string
  /** the last of its output, for a failure's message */
  tail: string
}

/** Size and entry count of a directory tree, stopping early past the limits. */
function measure(dir: string, limits: LayerLimits): {bytes: number; entries: number} {
  let bytes = 0
  let entries = 0
  const walk = (d: string) => {
    let names: string[]
    try {
      names = readdirSync(d)
    } catch {
      return
    }
    for (const n of names) {
      if (bytes > limits.maxBytes || entries > limits.maxEntries) return
      entries++
      try {
        const st = lstatSync(join(d, n))
        if (st.isDirectory()) walk(join(d, n))
        else bytes += st.size
      } catch {
        // gone meanwhile
      }
    }
  }
  walk(dir)
  return {bytes, entries}
}

export async function runStep(o: RunStepOptions): Promise<RunStepResult> {
  const dir = o.store.tempDir()
  const upper = join(dir, 'upper')
  mkdirSync(upper, {mode: 0o755})
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  o.abortSignal?.addEventListener('abort', onAbort)
  let stopped: string | undefined
  let tail = ''
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8192)
    o.onOutput?.(chunk)
  }
  // the layer cap, watched while the step runs
  const watch = setInterval(() => {
    const m = measure(upper, o.layerLimits)
    if (m.bytes > o.layerLimits.maxBytes || m.entries > o.layerLimits.maxEntries) {
      stopped = m.bytes > o.layerLimits.maxBytes ? `it wrote more than the layer cap of ${o.layerLimits.maxBytes} bytes` : `it made more than the layer cap of ${o.layerLimits.maxEntries} files`
      stop.abort()
    }
  }, 200)
  try {
    const result = await runRequest(
      {
        command: o.command,
        image: o.parent,
        entrypoint: '',
        rootUpper: upper,
        env: o.env,
        user: o.user || undefined,
        workdir: o.workdir || undefined,
        network: o.network,
        // the host's network belongs to the host's root: no capability of ours works on it
        capAdd: o.network === 'host' ? RUN_CAPABILITIES.filter((c) => c !== 'NET_BIND_SERVICE') : RUN_CAPABILITIES,
        limits: o.limits,
        timeout: o.timeoutMs,
        ulimit: [`fsize=${o.layerLimits.maxBytes + 1}`],
        callerEnv: {},
      },
      {stdio: 'pipe', input: o.input, outputLimit: 64 * 1024, stateDir: o.stateDir, abortSignal: stop.signal, onStdout: keep, onStderr: keep},
    )
    clearInterval(watch)
    // a file stopped at the size limit (EFBIG or SIGXFSZ) shows as a failed step: name the cap
    const m = measure(upper, o.layerLimits)
    if (!stopped && m.bytes > o.layerLimits.maxBytes) stopped = `it wrote more than the layer cap of ${o.layerLimits.maxBytes} bytes`
    if (!stopped && m.entries > o.layerLimits.maxEntries) stopped = `it made more than the layer cap of ${o.layerLimits.maxEntries} files`
    if (stopped || result.verdict !== 'ok') return {result, stopped, tail}
    const layer = readdirSync(upper).length > 0 ? await layerFromUpper(o.store, upper) : undefined
    return {result, layer, tail}
  } finally {
    clearInterval(watch)
    o.abortSignal?.removeEventListener('abort', onAbort)
    rmSync(dir, {recursive: true, force: true})
  }
}
