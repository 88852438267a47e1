/**
 * Grading a batch: each submission is unpacked into the scratch area (extract.ts),
 * built once in its own sandbox, then every test runs in a fresh sandbox on a fresh
 * copy of the built submission — strict seccomp profile, no network, remapped ids,
 * per-test limits. Sandboxes run concurrently (--jobs) inside this one process.
 *
 * The harness is kept apart from student code: the student's sandboxes see only /work
 * (their copy) and /grader (the spec's files, read-only); the harness reads what a run
 * left only after runSandbox returned — the cgroup emptied and the PID namespace gone —
 * and through descriptors that never follow a link (beneath.ts). A checker runs in its
 * own sandbox and sees the outputs read-only. Nothing a submission prints or writes is
 * taken as a result: only the checks decide.
 */
import {createHash} from 'node:crypto'
import {chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, release, totalmem} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {LabError} from '../errors.js'
import {walkSafe} from '../labs/fsafe.js'
import {buildSpec} from '../sandbox/build-spec.js'
import {detectCgroups} from '../sandbox/cgroups/index.js'
import type {SandboxResult} from '../sandbox/result.js'
import {runSandbox} from '../sandbox/run.js'
import type {Mount} from '../sandbox/spec.js'
import {parseDuration, parseSize} from '../sandbox/units.js'
import {copyBeneath, lstatBeneath} from './beneath.js'
import {type CheckResult, evaluateChecks, type RunOutputs} from './checks.js'
import {DEFAULT_EXTRACT_LIMITS, type ExtractLimits, extractSubmission, SubmissionError, submissionId} from './extract.js'
import type {LoadedSpec} from './load.js'
import type {CheckerCheck, GradingTest, RunLimits, Visibility} from './schema.js'
import {limiter} from '../util/limiter.js'
import {createScratch, removeScratch, type Scratch} from './scratch.js'

/** The host id that owns every directory a sandbox writes to (idmapped to root inside). */
export const GRADER_UID = 65534
export const SECCOMP_PROFILE = 'strict'
/** a run that took at least this share of its time limit is run once more */
export const RERUN_THRESHOLD = 0.9
const KEEP_OUTPUT = 16 * 1024

export const TEST_DEFAULTS = {time: '5s', memory: '256m', pids: 64, output: '1m', fileSize: '16m'} as const
export const BUILD_DEFAULTS = {time: '60s', memory: '1g', pids: 256, output: '1m', fileSize: '64m'} as const
export const CHECKER_DEFAULTS = {time: '10s', memory: '512m', pids: 64, output: '1m', fileSize: '16m'} as const

export interface ResolvedLimits {
  timeMs: number
  memoryBytes: number
  pids: number
  outputBytes: number
  fileSizeBytes: number
}

export function resolveLimits(...layers: Array<RunLimits | undefined>): ResolvedLimits {
  const l = {} as Required<RunLimits>
  for (const layer of layers) for (const [k, v] of Object.entries(layer ?? {})) if (v !== undefined) (l as Record<string, unknown>)[k] = v
  return {
    timeMs: parseDuration(l.time, 'time'),
    memoryBytes: parseSize(l.memory, 'memory'),
    pids: l.pids,
    outputBytes: parseSize(l.output, 'output'),
    fileSizeBytes: parseSize(l.fileSize, 'fileSize'),
  }
}

export type TestStatus = 'passed' | 'partial' | 'failed' | 'error'

export interface TestResult {
  name: string
  visibility: Visibility
  status: TestStatus
  score: number
  maxScore: number
  /** one line: why it failed, or what passed */
  message: string
  /** how the run ended, as the engine judged it (ok, nonzero-exit, timeout, memory, pids, output-limit…) */
  verdict: string
  exitCode: number | null
  wallMs: number
  cpuMs: number
  peakMemoryBytes: number
  limits: ResolvedLimits
  checks: CheckResult[]
  stdout: string
  stderr: string
  /** the run came within 10% of its time limit and was run once more; this says what the first gave */
  rerun?: {reason: string; first: {verdict: string; wallMs: number}}
}

export type SubmissionStatus = 'graded' | 'rejected' | 'build-failed' | 'error'

export interface SubmissionResult {
  id: string
  path: string
  kind: string | null
  sha256: string | null
  files: number
  bytes: number
  status: SubmissionStatus
  /** rejected / build-failed / error: what happened, in one line */
  message?: string
  score: number
  maxScore: number
  build?: {verdict: string; exitCode: number; wallMs: number; stdout: string; stderr: string}
  tests: TestResult[]
  wallMs: number
}

export interface GradeReport {
  format: 'lab-grade-report'
  version: 1
  title: string
  gradedAt: string
  wallMs: number
  spec: {file: string; sha256: string; files: Record<string, string>}
  engine: Record<string, unknown>
  summary: {submissions: number; graded: number; rejected: number; buildFailed: number; errors: number; maxScore: number; meanScore: number; reruns: number}
  tests: Array<{name: string; points: number; visibility: Visibility; command: string}>
  submissions: SubmissionResult[]
}

export type ProgressEvent =
  | {type: 'start'; submissions: number; runs: number}
  | {type: 'run'; submission: string; test: string | null; done: number; runs: number}
  | {type: 'submission'; result: SubmissionResult; done: number; submissions: number}

export interface GradeOptions {
  jobs?: number
  extractLimits?: ExtractLimits
  onProgress?: (e: ProgressEvent) => void
  abortSignal?: AbortSignal
  /** cap of the scratch tmpfs (bytes) */
  scratchBytes?: number
}

function truncate(s: string, n = KEEP_OUTPUT): string {
  return s.length > n ? s.slice(0, n) + `\n… (${s.length - n} more characters)` : s
}


function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')).version
  } catch {
    return 'unknown'
  }
}

/** A fresh directory a sandbox may write to: owned by GRADER_UID (root inside, idmapped), closed to others. */
function freshWritable(path: string): void {
  mkdirSync(path, {mode: 0o700})
  if (process.getuid?.() === 0) chownSync(path, GRADER_UID, GRADER_UID)
}

/** The spec's `files`, copied (never linked) into a directory every sandbox sees read-only at /grader. */
function stageGraderFiles(spec: LoadedSpec, dest: string): void {
  mkdirSync(dest, {mode: 0o755})
  for (const rel of spec.data.files ?? []) {
    const parts = rel.split('/')
    for (let i = 1; i < parts.length; i++) {
      const d = join(dest, ...parts.slice(0, i))
      if (!existsSync(d)) mkdirSync(d, {mode: 0o755})
    }
    const src = join(spec.dir, rel)
    if (lstatSync(src).isDirectory()) {
      mkdirSync(join(dest, rel), {mode: 0o755})
      for (const e of walkSafe(src, `files/${rel}`)) {
        if (e.dir) mkdirSync(join(dest, rel, e.rel), {mode: 0o755})
        else writeFileSync(join(dest, rel, e.rel), readFileSync(join(src, e.rel)), {mode: e.mode & 0o111 ? 0o755 : 0o644})
      }
    } else {
      writeFileSync(join(dest, rel), readFileSync(src), {mode: lstatSync(src).mode & 0o111 ? 0o755 : 0o644})
    }
  }
}

interface RunRequest {
  command: string[]
  workdir: string
  mounts: Mount[]
  limits: ResolvedLimits
  input?: string
}

async function sandboxed(req: RunRequest, signal?: AbortSignal): Promise<SandboxResult> {
  const spec = await buildSpec({
    command: req.command,
    workdir: req.workdir,
    mounts: req.mounts,
    env: ['HOME=/tmp', 'LANG=C.UTF-8', 'LC_ALL=C.UTF-8'],
    network: 'none',
    securityOpt: [`seccomp=${SECCOMP_PROFILE}`],
    timeout: `${req.limits.timeMs}ms`,
    limits: {memory: String(req.limits.memoryBytes), memorySwap: String(req.limits.memoryBytes), pidsLimit: String(req.limits.pids), outputLimit: String(req.limits.outputBytes)},
    ulimit: [`fsize=${req.limits.fileSizeBytes}`],
  })
  return runSandbox(spec, {stdio: 'pipe', input: req.input, outputLimit: req.limits.outputBytes, abortSignal: signal})
}

const VERDICT_MESSAGE: Record<string, (r: SandboxResult, l: ResolvedLimits) => string> = {
  timeout: (_r, l) => `time limit exceeded (${l.timeMs} ms)`,
  'cpu-time': () => 'CPU time limit exceeded',
  memory: (_r, l) => `memory limit exceeded (${Math.round(l.memoryBytes / 1048576)} MiB)`,
  pids: (_r, l) => `process limit exceeded (${l.pids}): a fork bomb?`,
  'output-limit': (_r, l) => `output limit exceeded (${l.outputBytes} bytes)`,
  'file-size': (_r, l) => `a file grew past ${l.fileSizeBytes} bytes`,
  'exec-failed': (r) => `the command could not be run (${r.error?.errnoName ?? 'exec failed'})`,
  signaled: (r) => `killed by ${r.signal}`,
}

/** Verdicts that end a test whatever its checks say. */
const FATAL = new Set(['timeout', 'cpu-time', 'memory', 'pids', 'output-limit', 'file-size', 'exec-failed', 'engine-error', 'signaled'])

export async function gradeBatch(spec: LoadedSpec, paths: string[], opts: GradeOptions = {}): Promise<GradeReport> {
  const started = Date.now()
  const jobs = Math.max(1, opts.jobs ?? availableParallelism())
  // every concurrent run listens for SIGINT/SIGTERM to forward them to its sandbox
  process.setMaxListeners(Math.max(process.getMaxListeners(), jobs * 2 + 10))
  const slot = limiter(jobs)
  const interrupted = () => new LabError('interrupted', 'grading was interrupted; nothing was reported', {exitCode: 130})
  const runSlot = <T>(fn: () => Promise<T>) =>
    slot(async () => {
      if (opts.abortSignal?.aborted) throw interrupted()
      const r = await fn()
      if (opts.abortSignal?.aborted) throw interrupted()
      return r
    })
  const tests = spec.data.tests
  const maxScore = tests.reduce((s, t) => s + t.points, 0)
  const runsPerSubmission = tests.length + (spec.data.build ? 1 : 0)
  const totalRuns = runsPerSubmission * paths.length
  let runsDone = 0
  let subsDone = 0
  opts.onProgress?.({type: 'start', submissions: paths.length, runs: totalRuns})
  const ranOne = (submission: string, test: string | null) => opts.onProgress?.({type: 'run', submission, test, done: ++runsDone, runs: totalRuns})

  const scratchBytes = opts.scratchBytes ?? Math.min(8 * 1024 ** 3, Math.floor(totalmem() / 4))
  const scratch: Scratch = createScratch(scratchBytes)
  const owner = process.getuid?.() === 0 ? {uid: GRADER_UID, gid: GRADER_UID} : null
  const graderDir = join(scratch.dir, 'grader')
  const ids = new Map<string, number>()
  const results: SubmissionResult[] = []
  try {
    stageGraderFiles(spec, graderDir)
    const graderMount: Mount = {type: 'bind', source: graderDir, destination: '/grader', readOnly: true}
    const buildLimits = spec.data.build ? resolveLimits(BUILD_DEFAULTS, spec.data.build.limits) : null

    const gradeOne = async (path: string, index: number): Promise<SubmissionResult> => {
      if (opts.abortSignal?.aborted) throw interrupted()
      const t0 = Date.now()
      let id = submissionId(path)
      const n = ids.get(id) ?? 0
      ids.set(id, n + 1)
      if (n > 0) id = `${id}-${n + 1}`
      const res: SubmissionResult = {id, path, kind: null, sha256: null, files: 0, bytes: 0, status: 'graded', score: 0, maxScore, tests: [], wallMs: 0}
      const zero = (status: TestStatus, message: string): TestResult[] =>
        tests.map((t) => ({name: t.name, visibility: t.visibility ?? 'visible', status, score: 0, maxScore: t.points, message, verdict: 'not-run', exitCode: null, wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, limits: resolveLimits(TEST_DEFAULTS, spec.data.limits, t.limits), checks: [], stdout: '', stderr: ''}))
      const subDir = join(scratch.dir, `s${index}`)
      mkdirSync(subDir, {mode: 0o711})
      const src = join(subDir, 'src')
      try {
        freshWritable(src)
        try {
          const x = await extractSubmission(path, src, {limits: opts.extractLimits ?? DEFAULT_EXTRACT_LIMITS, owner})
          Object.assign(res, {kind: x.kind, sha256: x.sha256, files: x.files, bytes: x.bytes})
        } catch (e) {
          const msg = e instanceof SubmissionError ? e.message : `cannot unpack it: ${(e as Error).message}`
          Object.assign(res, {status: 'rejected', message: msg, tests: zero('failed', `not graded: ${msg}`)})
          for (let i = 0; i < runsPerSubmission; i++) ranOne(id, null)
          return res
        }
        // links inside the submission are never followed here: a required file must be one
        const missing = (spec.data.required ?? []).filter((rel) => !lstatBeneath(src, rel)?.isFile())
        if (missing.length) {
          const msg = `required file${missing.length > 1 ? 's' : ''} missing: ${missing.join(', ')}`
          Object.assign(res, {status: 'rejected', message: msg, tests: zero('failed', `not graded: ${msg}`)})
          for (let i = 0; i < runsPerSubmission; i++) ranOne(id, null)
          return res
        }

        // --- build: once, in its own sandbox and with its own limits
        if (spec.data.build && buildLimits) {
          const r = await runSlot(() => sandboxed({command: ['sh', '-c', spec.data.build!.run], workdir: '/work', mounts: [{type: 'bind', source: src, destination: '/work', readOnly: false}, graderMount], limits: buildLimits}, opts.abortSignal))
          ranOne(id, 'build')
          res.build = {verdict: r.verdict, exitCode: r.exitCode, wallMs: Math.round(r.wallMs), stdout: truncate(r.stdout ?? ''), stderr: truncate(r.stderr ?? '')}
          if (r.verdict === 'engine-error') throw new LabError('grade-engine', `the build sandbox failed: ${r.error?.message ?? 'engine error'}`)
          if (r.verdict !== 'ok') {
            const why = VERDICT_MESSAGE[r.verdict]?.(r, buildLimits) ?? `exit code ${r.exitCode}`
            const msg = `the build failed: ${why}`
            Object.assign(res, {status: 'build-failed', message: msg, tests: zero('failed', msg)})
            for (let i = 0; i < tests.length; i++) ranOne(id, null)
            return res
          }
        }

        // --- tests: each on a fresh copy, concurrently
        const settled = await Promise.allSettled(
          tests.map(async (t, j) => {
            const tr = await runSlot(() => runTest(spec, t, src, join(subDir, `t${j}`), graderMount, owner, opts.abortSignal))
            ranOne(id, t.name)
            return tr
          }),
        )
        const bad = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected')
        if (bad) throw bad.reason
        res.tests = settled.map((x) => (x as PromiseFulfilledResult<TestResult>).value)
        if (res.tests.some((t) => t.status === 'error')) {
          res.status = 'error'
          res.message = res.tests.find((t) => t.status === 'error')!.message
        }
        res.score = Math.round(res.tests.reduce((s, t) => s + t.score, 0) * 1000) / 1000
        return res
      } catch (e) {
        if (opts.abortSignal?.aborted) throw e
        Object.assign(res, {status: 'error', message: (e as Error).message, tests: res.tests.length ? res.tests : zero('error', (e as Error).message)})
        return res
      } finally {
        res.wallMs = Date.now() - t0
        rmSync(subDir, {recursive: true, force: true})
        subsDone++
        opts.onProgress?.({type: 'submission', result: res, done: subsDone, submissions: paths.length})
      }
    }

    // a few submissions in flight at once: enough to keep every job busy, few enough to bound the scratch space
    const inFlight = limiter(jobs + 1)
    // allSettled: the scratch area is removed only once no sandbox uses it any more
    const all = await Promise.allSettled(paths.map((p, i) => inFlight(() => gradeOne(p, i))))
    const failed = all.find((x): x is PromiseRejectedResult => x.status === 'rejected')
    if (failed) throw failed.reason
    results.push(...all.map((x) => (x as PromiseFulfilledResult<SubmissionResult>).value))
  } finally {
    removeScratch(scratch)
  }

  const graded = results.filter((r) => r.status === 'graded' || r.status === 'build-failed' || r.status === 'rejected')
  const layout = detectCgroups()
  return {
    format: 'lab-grade-report',
    version: 1,
    title: spec.data.title,
    gradedAt: new Date(started).toISOString(),
    wallMs: Date.now() - started,
    spec: {file: spec.file, sha256: spec.specSha256, files: spec.fileHashes},
    engine: {
      lab: packageVersion(),
      node: process.version,
      kernel: release(),
      cgroups: layout.mode,
      seccompProfile: SECCOMP_PROFILE,
      network: 'none',
      userns: 'private',
      idmappedOwner: owner ? GRADER_UID : null,
      jobs,
      scratch: scratch.tmpfs ? `tmpfs of ${scratch.sizeBytes} bytes` : 'temporary directory',
      rerunThreshold: RERUN_THRESHOLD,
      defaults: {test: TEST_DEFAULTS, build: BUILD_DEFAULTS, checker: CHECKER_DEFAULTS},
      extractLimits: opts.extractLimits ?? DEFAULT_EXTRACT_LIMITS,
    },
    summary: {
      submissions: results.length,
      graded: results.filter((r) => r.status === 'graded').length,
      rejected: results.filter((r) => r.status === 'rejected').length,
      buildFailed: results.filter((r) => r.status === 'build-failed').length,
      errors: results.filter((r) => r.status === 'error').length,
      maxScore,
      meanScore: graded.length ? Math.round((graded.reduce((s, r) => s + r.score, 0) / graded.length) * 100) / 100 : 0,
      reruns: results.reduce((s, r) => s + r.tests.filter((t) => t.rerun).length, 0),
    },
    tests: tests.map((t) => ({name: t.name, points: t.points, visibility: t.visibility ?? 'visible', command: t.run})),
    submissions: results,
  }
}

/** One test: a fresh copy, the run (once more if it came within 10% of its time limit), then the checks. */
async function runTest(spec: LoadedSpec, t: GradingTest, src: string, dir: string, graderMount: Mount, owner: {uid: number; gid: number} | null, signal?: AbortSignal): Promise<TestResult> {
  const limits = resolveLimits(TEST_DEFAULTS, spec.data.limits, t.limits)
  const input = t.stdinFile ? spec.texts.get(t.stdinFile) : t.stdin
  const work = join(dir, 'work')
  const base: TestResult = {name: t.name, visibility: t.visibility ?? 'visible', status: 'failed', score: 0, maxScore: t.points, message: '', verdict: 'not-run', exitCode: null, wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, limits, checks: [], stdout: '', stderr: ''}
  mkdirSync(dir, {mode: 0o711})
  const inputDir = join(dir, 'input')
  try {
    if (input !== undefined) {
      mkdirSync(inputDir, {mode: 0o755})
      writeFileSync(join(inputDir, 'stdin'), input, {mode: 0o644, flag: 'wx'})
    }
    const once = async () => {
      rmSync(work, {recursive: true, force: true})
      freshWritable(work)
      copyBeneath(src, work, owner, {maxBytes: DEFAULT_EXTRACT_LIMITS.maxBytes * 2, maxFiles: DEFAULT_EXTRACT_LIMITS.maxFiles * 2})
      if (input === undefined) return sandboxed({command: ['sh', '-c', t.run], workdir: '/work', mounts: [{type: 'bind', source: work, destination: '/work', readOnly: false}, graderMount], limits}, signal)
      // standard input is a read-only file of this test alone (seen at /grader-input/stdin):
      // the same bytes on every run, no pipe to stall, and no other test's input in view
      return sandboxed({command: ['sh', '-c', 'exec sh -c "$1" < /grader-input/stdin', 'sh', t.run], workdir: '/work', mounts: [{type: 'bind', source: work, destination: '/work', readOnly: false}, graderMount, {type: 'bind', source: inputDir, destination: '/grader-input', readOnly: true}], limits}, signal)
    }
    let r = await once()
    const nearLimit = (x: SandboxResult) => x.verdict === 'timeout' || x.wallMs >= RERUN_THRESHOLD * limits.timeMs
    if (nearLimit(r) && !signal?.aborted) {
      const first = {verdict: r.verdict, wallMs: Math.round(r.wallMs)}
      r = await once()
      base.rerun = {reason: `the first run ${first.verdict === 'timeout' ? 'timed out' : `took ${first.wallMs} ms`}, within 10% of the ${limits.timeMs} ms limit; this is the second run`, first}
    }
    Object.assign(base, {
      verdict: r.verdict,
      exitCode: r.exitCode,
      wallMs: Math.round(r.wallMs),
      cpuMs: Math.round(r.cpu.userMs + r.cpu.systemMs),
      peakMemoryBytes: r.peakMemoryBytes,
      stdout: truncate(r.stdout ?? ''),
      stderr: truncate(r.stderr ?? ''),
    })
    if (r.verdict === 'engine-error') {
      return {...base, status: 'error', message: `the sandbox failed: ${r.error?.message ?? 'engine error'}${r.error?.hint ? ` (${r.error.hint})` : ''}`}
    }
    if (FATAL.has(r.verdict)) {
      return {...base, status: 'failed', message: VERDICT_MESSAGE[r.verdict]?.(r, limits) ?? r.verdict}
    }
    // every process of the run is gone now: what it left can no longer change under us
    const outputs: RunOutputs = {exitCode: r.exitCode, stdout: r.stdout ?? '', stderr: r.stderr ?? '', workDir: work}
    const checks = await evaluateChecks(t.checks, outputs, spec.texts, (c, o) => runChecker(c, o, dir, graderMount, signal))
    base.checks = checks
    const failed = checks.filter((c) => !c.passed)
    const fraction = checks.reduce((f, c) => (c.passed && c.fraction !== undefined ? Math.min(f, c.fraction) : f), 1)
    if (failed.length) return {...base, status: 'failed', message: failed[0].message}
    const score = Math.round(t.points * fraction * 1000) / 1000
    return {...base, status: fraction < 1 ? 'partial' : 'passed', score, message: fraction < 1 ? `partial credit: ${score} of ${t.points}` : 'all checks passed'}
  } catch (e) {
    if (signal?.aborted) throw e
    return {...base, status: 'error', message: (e as Error).message}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/**
 * A checker in its own sandbox: the run's outputs are files the harness wrote into a
 * fresh directory (/check: stdout, stderr, exit-code) and the run's directory is seen
 * read-only at /check/work; exit 0 passes, a line "fraction=F" awards a share.
 */
async function runChecker(c: CheckerCheck, o: RunOutputs, dir: string, graderMount: Mount, signal?: AbortSignal): Promise<CheckResult> {
  const checkDir = join(dir, `check-${createHash('sha256').update(c.command.join('\0')).digest('hex').slice(0, 8)}-${Date.now()}`)
  mkdirSync(checkDir, {mode: 0o755})
  writeFileSync(join(checkDir, 'stdout'), o.stdout, {mode: 0o644})
  writeFileSync(join(checkDir, 'stderr'), o.stderr, {mode: 0o644})
  writeFileSync(join(checkDir, 'exit-code'), `${o.exitCode}\n`, {mode: 0o644})
  // a readable snapshot of what the run left (links copied as links, never followed)
  mkdirSync(join(checkDir, 'work'), {mode: 0o755})
  copyBeneath(o.workDir, join(checkDir, 'work'), null, {maxBytes: DEFAULT_EXTRACT_LIMITS.maxBytes * 2, maxFiles: DEFAULT_EXTRACT_LIMITS.maxFiles * 2, readable: true})
  const limits = resolveLimits(CHECKER_DEFAULTS, {time: c.time})
  const r = await sandboxed(
    {
      command: c.command,
      workdir: '/check',
      mounts: [{type: 'bind', source: checkDir, destination: '/check', readOnly: true}, graderMount],
      limits,
    },
    signal,
  )
  const text = (r.stdout ?? '').trim() || (r.stderr ?? '').trim()
  const first = text.split('\n')[0]?.slice(0, 300) ?? ''
  if (r.verdict === 'engine-error' || r.verdict === 'exec-failed') throw new LabError('grade-checker', `the checker ${c.command[0]} could not run: ${r.error?.message ?? r.verdict}`, {hint: 'check the command and that it is listed in files'})
  const m = /^fraction=([0-9]*\.?[0-9]+)\s*$/m.exec(r.stdout ?? '')
  const fraction = m ? Math.max(0, Math.min(1, Number(m[1]))) : undefined
  const passed = r.verdict === 'ok'
  return {name: '', passed, message: first || (passed ? 'the checker accepted the output' : `the checker rejected the output (${r.verdict}, exit ${r.exitCode})`), ...(fraction !== undefined ? {fraction} : {})}
}
