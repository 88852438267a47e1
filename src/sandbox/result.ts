/**
 * A sandbox run's result: one shape whether it succeeded or failed (as execa does),
 * so the CLI, labs, grading and CI all read the same fields.
 */
import {constants} from 'node:os'

export type Verdict =
  | 'ok'
  | 'nonzero-exit'
  | 'signaled'
  | 'timeout'
  | 'cpu-time'
  | 'memory'
  | 'pids'
  | 'output-limit'
  | 'file-size'
  | 'exec-failed'
  | 'engine-error'

export interface HelperError {
  stage: string
  call: string
  path: string
  errno: number
  errnoName: string
  message: string
}

export interface ExitEvent {
  exitCode: number
  signal: number
  coreDumped: boolean
  killedBy: string | null
  wallUs: number
  userUs: number
  sysUs: number
  maxRssKb: number
}

export interface SandboxResult {
  id: string
  name: string
  verdict: Verdict
  /** Docker-compatible: the program's code, 128+N for signal N, 125 engine error, 126/127 exec failures */
  exitCode: number
  signal: string | null
  timedOut: boolean
  wallMs: number
  cpu: {userMs: number; systemMs: number}
  peakMemoryBytes: number
  /** what the verdict rests on: the limit and the observation */
  evidence: Record<string, unknown>
  error?: HelperError & {hint?: string}
  stdout?: string
  stderr?: string
}

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(constants.signals).map(([k, v]) => [v, k]))

export function signalName(n: number): string {
  return SIGNAL_NAMES[n] ?? `SIG${n}`
}

/** A sentence that explains a setup failure and what to do about it. */
export function hintFor(err: HelperError): string | undefined {
  if (err.stage === 'exec') {
    if (err.errnoName === 'ENOENT') return 'the program does not exist in the sandbox; check its name or PATH, or bind it in with -v'
    if (err.errnoName === 'EACCES') return 'the file is not executable, or it lies on a noexec mount'
    if (err.errnoName === 'ENOEXEC') return 'the file is not a program this machine can run (missing #! line?)'
  }
  if (err.stage === 'cwd') return 'the working directory must exist inside the sandbox (-w), e.g. in a mounted volume or on the root'
  if (err.stage === 'mount' && err.errnoName === 'EROFS') return 'that destination lies on a read-only part of the root; mount it elsewhere, e.g. under /mnt'
  if (err.stage === 'mount' && err.errnoName === 'EPERM') return 'the kernel refused a mount; run `lab doctor` to see what this host supports'
  if (err.stage === 'clone') return 'the kernel refused to create namespaces; run `lab doctor`'
  if (err.stage === 'seccomp') return 'the seccomp filter could not be loaded; try another profile or run `lab doctor`'
  return undefined
}

export function resultFromEvents(
  base: {id: string; name: string},
  exit: ExitEvent | null,
  error: HelperError | null,
): SandboxResult {
  const r: SandboxResult = {
    id: base.id,
    name: base.name,
    verdict: 'ok',
    exitCode: 0,
    signal: null,
    timedOut: false,
    wallMs: exit ? exit.wallUs / 1000 : 0,
    cpu: {userMs: exit ? exit.userUs / 1000 : 0, systemMs: exit ? exit.sysUs / 1000 : 0},
    peakMemoryBytes: exit ? exit.maxRssKb * 1024 : 0,
    evidence: {},
  }
  if (error) {
    r.error = {...error, hint: hintFor(error)}
    if (error.stage === 'exec') {
      r.verdict = 'exec-failed'
      r.exitCode = error.errnoName === 'ENOENT' ? 127 : 126
    } else {
      r.verdict = 'engine-error'
      r.exitCode = 125
    }
    return r
  }
  if (!exit) {
    r.verdict = 'engine-error'
    r.exitCode = 125
    return r
  }
  if (exit.killedBy === 'timeout') {
    r.verdict = 'timeout'
    r.timedOut = true
    r.exitCode = 128 + 9
    r.signal = 'SIGKILL'
    r.evidence = {wallMs: r.wallMs}
    return r
  }
  if (exit.signal) {
    r.verdict = 'signaled'
    r.signal = signalName(exit.signal)
    r.exitCode = 128 + exit.signal
    return r
  }
  r.exitCode = exit.exitCode
  r.verdict = exit.exitCode === 0 ? 'ok' : 'nonzero-exit'
  return r
}
