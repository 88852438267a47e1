/**
 * A sandbox run's result: one shape whether it succeeded or failed (as execa does),
 * so the CLI, labs, grading and CI all read the same fields.
 */
import {constants} from 'node:os'

import {LabError} from '../errors.js'

import type {CgroupStats} from './cgroups/driver.js'
import type {Limits} from './limits.js'
import type {Rlimit} from './spec.js'

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
  /** a one-shot run's counter files as the helper read them when it ended (plan cgstat) */
  cgroup?: Record<string, string>
  /** the helper removed the run's groups and their record (plan cgfinish) */
  cgroupRemoved?: boolean
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
  /** CPU time of every process of the sandbox (from its cgroup; of PID 1 and its reaped children without one) */
  cpu: {userMs: number; systemMs: number}
  peakMemoryBytes: number
  /** most tasks at once, where the kernel reports it (pids.peak) */
  pidsPeak?: number | null
  /** what the verdict rests on: the limit and the observation */
  evidence: Record<string, unknown>
  error?: HelperError & {hint?: string}
  /** the seccomp profile in force ("unconfined" when filtering was turned off) */
  seccompProfile?: string
  /** the host ids the sandbox's user namespace maps onto (null: --userns=host) */
  userns?: {hostUidBase: number; hostGidBase: number; size: number} | null
  /** limits this host could not enforce (rootless without a delegated cgroup), each with why */
  unenforcedLimits?: Array<{limit: string; value: unknown; reason: string}>
  /** things that worked differently than asked, e.g. a volume that could not be idmapped */
  warnings?: string[]
  stdout?: string
  stderr?: string
}

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(constants.signals).map(([k, v]) => [v, k]))

const SIGSYS_EVIDENCE =
  'a system call the seccomp profile kills: a call it forbids with a kill action, or any call from an ABI the profile does not cover (the built-in profiles run native programs only; for 32-bit ones, copy profiles/default.json, list SCMP_ARCH_X86 in its archMap subArchitectures and pass it with --security-opt seccomp=FILE)'

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

/**
 * A helper failure as one sentence: the one place the helper's error events become text
 * (the CLI, the lifecycle, exec and cp, labs). `subject` names what failed ("sandbox web"),
 * or is empty where the reader already knows.
 */
export function failureSentence(err: Pick<HelperError, 'stage' | 'call' | 'path' | 'message'>, subject: string): string {
  const at = `${err.call}${err.path ? ` ${err.path}` : ''}: ${err.message}`
  let what: string
  if (err.stage === 'exec') what = `cannot run the program: ${err.message}`
  // cp: the copy itself refused (its path and why); copy: a call of the copy failed
  else if (err.call === 'cp') what = `${err.path ? `${err.path}: ` : ''}${err.message}`
  else if (err.stage === 'copy') what = at
  else what = `set-up failed at ${err.stage}: ${at}`
  return subject ? `${subject}: ${what}` : what
}

/** The exit code a failure gets, as Docker's: 127 not found, 126 not runnable, 125 the engine. */
export function failureExitCode(err: Pick<HelperError, 'stage' | 'errnoName'>): number {
  return err.stage === 'exec' ? (err.errnoName === 'ENOENT' ? 127 : 126) : 125
}

/** A helper failure as the error a command throws: the sentence, the hint and Docker's exit code. */
export function helperFailure(err: HelperError, subject: string): LabError {
  return new LabError(err.stage === 'exec' ? 'exec-failed' : 'engine', failureSentence(err, subject), {hint: hintFor(err), exitCode: failureExitCode(err), cause: err})
}

/** The helper's error behind a LabError made by helperFailure, if it is one. */
export function helperErrorOf(e: unknown): HelperError | null {
  const c = e instanceof LabError ? (e.cause as Partial<HelperError> | undefined) : undefined
  return c && typeof c.stage === 'string' && typeof c.message === 'string' ? (c as HelperError) : null
}

/** What the engine observed besides the helper's events: the cgroup's counters and its own limit kills. */
export interface Accounting {
  stats: CgroupStats | null
  limits: Limits
  timeoutMs: number
  rlimits: Rlimit[]
  /** the engine ended the run because --cpu-time was used up (CPU µs seen then) */
  cpuTimeExceededUs: number | null
  /** the engine cut the output and ended the run */
  outputLimited: boolean
  outputLimitBytes: number | null
}

const SIGXCPU = constants.signals.SIGXCPU
const SIGXFSZ = constants.signals.SIGXFSZ

/**
 * The verdict, by a fixed precedence so that it never blames the wrong limit: first the
 * limits the engine itself enforced by ending the run (output, CPU time), then what the
 * kernel recorded (an OOM kill, SIGXFSZ, refused forks: a limit that was hit, even if the
 * program carried on), then the wall clock, then how the program ended. `evidence` shows what it rests on.
 */
function judge(r: SandboxResult, exit: ExitEvent, acc: Accounting): void {
  const s = acc.stats
  const endedBy = exit.killedBy === 'timeout' ? 'timeout' : exit.signal ? `signal ${signalName(exit.signal)}` : `exit ${exit.exitCode}`
  const rlimit = (name: string) => acc.rlimits.find((x) => x.name === name)
  const l = acc.limits
  if (acc.outputLimited) {
    r.verdict = 'output-limit'
    r.evidence = {outputLimitBytes: acc.outputLimitBytes, endedBy: 'output-limit'}
  } else if (acc.cpuTimeExceededUs !== null || exit.signal === SIGXCPU) {
    r.verdict = 'cpu-time'
    r.evidence = {
      cpuTimeLimitMs: l.cpuTimeMs ?? (rlimit('cpu')?.soft === 'unlimited' ? null : Number(rlimit('cpu')?.soft) * 1000),
      cpuTimeUsedMs: (acc.cpuTimeExceededUs ?? (s ? s.cpuUserUs + s.cpuSystemUs : exit.userUs + exit.sysUs)) / 1000,
      by: acc.cpuTimeExceededUs !== null ? 'cgroup' : 'RLIMIT_CPU (SIGXCPU)',
      endedBy: acc.cpuTimeExceededUs !== null ? 'cpu-time' : endedBy,
    }
  } else if (s && s.oomKills > 0) {
    r.verdict = 'memory'
    r.evidence = {memoryLimitBytes: l.memoryBytes, memorySwapLimitBytes: l.memorySwapBytes, oomKills: s.oomKills, memoryLimitHits: s.memoryLimitHits, peakMemoryBytes: s.memoryPeakBytes, endedBy}
  } else if (exit.signal === SIGXFSZ || (rlimit('fsize') && exit.exitCode === 128 + SIGXFSZ)) {
    // A shell reports a child that SIGXFSZ killed as 128+25. (A PID 1 without --init
    // never gets SIGXFSZ: the kernel spares a namespace's init; its write fails with EFBIG.)
    const fsize = rlimit('fsize')
    r.verdict = 'file-size'
    r.evidence = {fileSizeLimitBytes: fsize ? fsize.soft : null, signal: 'SIGXFSZ', endedBy}
  } else if (s && s.pidsLimitHits > 0) {
    r.verdict = 'pids'
    r.evidence = {pidsLimit: l.pids, pidsLimitHits: s.pidsLimitHits, pidsPeak: s.pidsPeak, endedBy}
  } else if (exit.killedBy === 'timeout') {
    r.verdict = 'timeout'
    r.evidence = {timeoutMs: acc.timeoutMs, wallMs: r.wallMs, endedBy}
  }
}

const mib = (b: unknown) => (typeof b === 'number' ? `${Math.round((b / 1024 / 1024) * 10) / 10} MiB` : 'its limit')

/** One line for a run a limit ended (the terminal form of the verdict); null for other verdicts. */
export function limitVerdictLine(r: SandboxResult): string | null {
  const e = r.evidence as Record<string, number | string | null | undefined>
  switch (r.verdict) {
    case 'memory':
      return `the sandbox ran out of memory (limit ${mib(e.memoryLimitBytes)}; the kernel OOM-killed ${e.oomKills} process${e.oomKills === 1 ? '' : 'es'})`
    case 'pids':
      return `the sandbox hit its process limit (--pids-limit ${e.pidsLimit}; ${e.pidsLimitHits} fork${e.pidsLimitHits === 1 ? ' was' : 's were'} refused; ended by ${e.endedBy})`
    case 'cpu-time':
      return `the sandbox used up its CPU time (${e.cpuTimeLimitMs} ms; used ${Math.round(Number(e.cpuTimeUsedMs))} ms)`
    case 'output-limit':
      return `the sandbox's output was cut at --output-limit ${e.outputLimitBytes} bytes and the run ended`
    case 'file-size':
      return `a file grew past the size limit (RLIMIT_FSIZE ${e.fileSizeLimitBytes} bytes; SIGXFSZ)`
    default:
      return null
  }
}

export function resultFromEvents(
  base: {id: string; name: string},
  exit: ExitEvent | null,
  error: HelperError | null,
  acc?: Accounting,
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
  if (acc?.stats) {
    r.cpu = {userMs: acc.stats.cpuUserUs / 1000, systemMs: acc.stats.cpuSystemUs / 1000}
    if (acc.stats.memoryPeakBytes !== null) r.peakMemoryBytes = acc.stats.memoryPeakBytes
    r.pidsPeak = acc.stats.pidsPeak
  }
  if (error) {
    r.error = {...error, hint: hintFor(error)}
    r.verdict = error.stage === 'exec' ? 'exec-failed' : 'engine-error'
    r.exitCode = failureExitCode(error)
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
  } else if (exit.signal) {
    r.verdict = 'signaled'
    r.signal = signalName(exit.signal)
    r.exitCode = 128 + exit.signal
    // the kernel's answer to a call the seccomp filter kills (or traps)
    if (r.signal === 'SIGSYS') r.evidence = {signal: 'SIGSYS', seccomp: SIGSYS_EVIDENCE}
  } else {
    r.exitCode = exit.exitCode
    r.verdict = exit.exitCode === 0 ? 'ok' : 'nonzero-exit'
  }
  if (acc) judge(r, exit, acc)
  return r
}
