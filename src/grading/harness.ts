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
import {chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, release, totalmem} from 'node:os'
import {basename, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {LabError} from '../errors.js'
import {walkSafe} from '../labs/fsafe.js'
import {detectCgroups} from '../sandbox/cgroups/index.js'
import type {SandboxResult} from '../sandbox/result.js'
import type {SandboxRequest} from '../sandbox/request.js'
import {runRequest} from '../sandbox/run-request.js'
import type {Mount} from '../sandbox/spec.js'
import {parseDuration, parseSize} from '../sandbox/units.js'
import {BeneathError, copyBeneath, lstatBeneath, readBeneath} from './beneath.js'
import {type CheckResult, evaluateChecks, type RunOutputs} from './checks.js'
import {DEFAULT_EXTRACT_LIMITS, type ExtractLimits, extractSubmission, SubmissionError, submissionId} from './extract.js'
import type {LoadedSpec} from './load.js'
import {type GroupOutcome, RESULTS_FILE, RUNNER_FILES, runGroup} from './frameworks/index.js'
import {type CheckerCheck, type FrameworkGroup, type GradingTest, isGroup, type RunLimits, type Visibility} from './schema.js'
import {limiter} from '../util/limiter.js'
import {createScratch, removeScratch, removeScratchWithin, type Scratch, scratchWithin} from './scratch.js'
import {type ServiceSession, servicesOf, startServices} from './services.js'
import {type ImagePins, pinImages, pinned} from './images.js'

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
  /** a framework test: the group it came from */
  group?: string
  /** a framework test: the test's own source (its body), for Exercism's test_code */
  code?: string
  /** the Exercism task it belongs to */
  task?: number
}

/** load-failed: a framework could not load the submission (a syntax or import error); error: grading itself failed */
export type SubmissionStatus = 'graded' | 'rejected' | 'build-failed' | 'load-failed' | 'error'

export interface SubmissionResult {
  id: string
  /** the upload as it was given (the path on the command line) */
  path: string
  /** its file name, as reports name the upload */
  upload: string
  /** the single top-level folder an archive held, unwrapped before grading */
  unwrapped?: string
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
  /** from receiving it to its last result, queueing included */
  wallMs: number
  /** the time its own sandboxes ran (build, tests, checkers): what Gradescope's execution_time means */
  runMs: number
}

export interface GradeReport {
  format: 'lab-grade-report'
  version: 1
  title: string
  gradedAt: string
  wallMs: number
  spec: {file: string; sha256: string; files: Record<string, string>}
  engine: Record<string, unknown>
  summary: {submissions: number; graded: number; rejected: number; buildFailed: number; loadFailed: number; errors: number; maxScore: number; meanScore: number; reruns: number}
  tests: Array<{name: string; points: number; visibility: Visibility; command: string; group?: string; code?: string; task?: number}>
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
  /** a scratch area that outlives the batch (a queue worker's): the batch works in a
   * directory of its own inside it instead of mounting one */
  scratch?: Scratch
}

function truncate(s: string, n = KEEP_OUTPUT): string {
  return s.length > n ? s.slice(0, n) + `\n[output truncated: ${s.length - n} more characters]` : s
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
  if (process.getuid?.() === 0) {
    chownSync(path, GRADER_UID, GRADER_UID)
    // the work directory of a hidden bind (spec.ts): /proc/self/mountinfo then shows no host path
    const w = join(path, '..', `.${basename(path)}.work`)
    rmSync(w, {recursive: true, force: true})
    mkdirSync(w, {mode: 0o700})
    chownSync(w, GRADER_UID, GRADER_UID)
  }
}

/** A writable directory made by freshWritable, mounted so that its host path stays out of view. */
const HIDE_RW = process.getuid?.() === 0

/** Copies files and directories of the spec (never linked) into dest, keeping their relative paths. */
function copySpecFiles(spec: LoadedSpec, rels: string[], dest: string, flat = false): void {
  if (!existsSync(dest)) mkdirSync(dest, {mode: 0o755})
  for (const rel of rels) {
    const target = flat ? basename(rel) : rel
    const parts = target.split('/')
    for (let i = 1; i < parts.length; i++) {
      const d = join(dest, ...parts.slice(0, i))
      if (!existsSync(d)) mkdirSync(d, {mode: 0o755})
    }
    const src = join(spec.dir, rel)
    // the submission may hold an entry of that name (a file, a link, a directory): ours replaces it
    rmSync(join(dest, target), {recursive: true, force: true})
    if (lstatSync(src).isDirectory()) {
      mkdirSync(join(dest, target), {mode: 0o755})
      for (const e of walkSafe(src, `files/${rel}`)) {
        if (e.dir) mkdirSync(join(dest, target, e.rel), {mode: 0o755})
        else writeFileSync(join(dest, target, e.rel), readFileSync(join(src, e.rel)), {mode: e.mode & 0o111 ? 0o755 : 0o644})
      }
    } else {
      writeFileSync(join(dest, target), readFileSync(src), {mode: lstatSync(src).mode & 0o111 ? 0o755 : 0o644})
    }
  }
}

/**
 * What each sandbox sees at /grader. A test sees the top-level `files` and its own; a
 * checker sees every file of the spec (the grader's side); a framework group sees the
 * top-level files (its test files are copied into /work). A hidden test's input or a
 * checker's source is therefore never in view of another test's program.
 */
interface GraderViews {
  common: Mount
  perTest: Map<number, Mount>
  checker: Mount
  runners: Mount
  /** the images of the spec, pinned when the batch started */
  images: ImagePins
}

function stageGraderViews(spec: LoadedSpec, root: string, images: ImagePins): GraderViews {
  const top = spec.data.files ?? []
  const mount = (source: string, destination = '/grader'): Mount => ({type: 'bind', source, destination, readOnly: true, hide: true})
  copySpecFiles(spec, top, join(root, 'grader'))
  const perTest = new Map<number, Mount>()
  const all = new Set(top)
  spec.data.tests.forEach((t, j) => {
    if (isGroup(t)) return
    for (const f of t.files ?? []) all.add(f)
    for (const c of t.checks) for (const f of c.checker?.files ?? []) all.add(f)
    if (!t.files?.length) return
    const d = join(root, `grader-t${j}`)
    copySpecFiles(spec, [...new Set([...top, ...t.files])], d)
    perTest.set(j, mount(d))
  })
  copySpecFiles(spec, [...all], join(root, 'grader-checker'))
  const runners = join(root, 'lab-grading')
  mkdirSync(runners, {mode: 0o755})
  for (const [name, text] of Object.entries(RUNNER_FILES)) writeFileSync(join(runners, name), text, {mode: 0o644})
  return {common: mount(join(root, 'grader')), perTest, checker: mount(join(root, 'grader-checker')), runners: mount(runners, '/lab-grading'), images}
}

interface RunRequest {
  command: string[]
  workdir: string
  mounts: Mount[]
  limits: ResolvedLimits
  input?: string
  env?: string[]
  /** a private network of the test's services (services.ts); default none */
  network?: string
  /** the image id it runs on (images.ts); default the host's system directories */
  image?: string
}

/** The engine's request for one grading run: typed numbers, nothing turned back into text. */
export function gradingRequest(req: RunRequest): SandboxRequest {
  return {
    command: req.command,
    workdir: req.workdir,
    mounts: req.mounts,
    env: ['HOME=/tmp', 'LANG=C.UTF-8', 'LC_ALL=C.UTF-8', ...(req.env ?? [])],
    network: req.network ?? 'none',
    securityOpt: [`seccomp=${SECCOMP_PROFILE}`],
    timeout: req.limits.timeMs,
    // a CPU-time allowance no run can reach within its wall-clock limit: it makes the engine
    // count CPU in the sandbox's cgroup, so a run that is killed reports what it really used
    limits: {memory: req.limits.memoryBytes, memorySwap: req.limits.memoryBytes, pidsLimit: req.limits.pids, outputLimit: req.limits.outputBytes, cpuTime: req.limits.timeMs * (availableParallelism() + 1) + 1000},
    ulimit: [`fsize=${req.limits.fileSizeBytes}`],
    // on an image: the command as written (no Entrypoint before it), as root of the
    // sandbox whatever its USER says (/work is owned by that root, as in the host's case)
    ...(req.image ? {image: req.image, entrypoint: '', user: '0:0'} : {}),
  }
}

function sandboxed(req: RunRequest, signal?: AbortSignal): Promise<SandboxResult> {
  return runRequest(gradingRequest(req), {stdio: 'pipe', input: req.input, outputLimit: req.limits.outputBytes, abortSignal: signal})
}

/** One sandbox as a test gets it (strict profile, no network, test limits; an image id), for `lab doctor --grading`. */
export function gradingSandbox(command: string[], image?: string): Promise<SandboxResult> {
  return sandboxed({command, workdir: '/', mounts: [], limits: resolveLimits(TEST_DEFAULTS, {time: '20s'}), image})
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

/** One scored test of the report: a spec test, or a test a framework group holds. */
export interface PlannedTest {
  name: string
  points: number
  visibility: Visibility
  command: string
  group?: string
  task?: number
}

/** What a batch runs per submission: spec tests and framework groups, with their scored tests. */
type Unit = {kind: 'test'; index: number; test: GradingTest} | {kind: 'group'; index: number; group: FrameworkGroup; tests: PlannedTest[]}

/** A group's test → its points, visibility and task, by the first `scores` entry that matches. */
function scoreOf(g: FrameworkGroup, name: string): {points: number; visibility: Visibility; task?: number} {
  const s = (g.scores ?? []).find((x) => (x.name !== undefined ? x.name === name : new RegExp(x.match!).test(name)))
  return {points: s?.points ?? g.points ?? 1, visibility: s?.visibility ?? g.visibility ?? 'visible', ...(s?.task !== undefined ? {task: s.task} : {})}
}

function groupLimits(spec: LoadedSpec, g: FrameworkGroup): {perTestMs: number; limits: ResolvedLimits} {
  const limits = resolveLimits(TEST_DEFAULTS, spec.data.limits, g.limits)
  return {perTestMs: limits.timeMs, limits}
}

/** The group's command line as reports show it. */
function groupCommand(g: FrameworkGroup): string {
  return g.run ?? `${g.framework} ${(g.files ?? []).map((f) => basename(f)).join(' ')}`
}

/** Moves the contents of the single folder an archive held up to the top; returns its name. */
function unwrapSingleFolder(src: string): string | null {
  const entries = readdirSync(src).filter((n) => n !== '__MACOSX' && n !== '.DS_Store')
  if (entries.length !== 1) return null
  const only = entries[0]
  const st = lstatSync(join(src, only))
  if (!st.isDirectory()) return null
  for (const junk of readdirSync(src).filter((n) => n !== only)) rmSync(join(src, junk), {recursive: true, force: true})
  // a temporary name first: the folder may hold an entry of its own name
  const tmp = join(src, `.lab-unwrap-${process.pid}`)
  renameSync(join(src, only), tmp)
  for (const n of readdirSync(tmp)) renameSync(join(tmp, n), join(src, n))
  rmSync(tmp, {recursive: true, force: true})
  return only
}

/** Where a missing required file was found instead (by its base name), for the message. */
function foundElsewhere(src: string, rel: string): string | null {
  const want = basename(rel)
  try {
    for (const e of walkSafe(src, 'submission')) if (!e.dir && basename(e.rel) === want) return e.rel
  } catch {
    /* a tree walkSafe refuses: no suggestion */
  }
  return null
}

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

  // before anything is made: a spec naming an image the store lacks grades nothing
  const images = pinImages(spec.data)
  const scratchBytes = opts.scratchBytes ?? Math.min(8 * 1024 ** 3, Math.floor(totalmem() / 4))
  const scratch: Scratch = opts.scratch ? scratchWithin(opts.scratch) : createScratch(scratchBytes)
  const owner = process.getuid?.() === 0 ? {uid: GRADER_UID, gid: GRADER_UID} : null
  const ids = new Map<string, number>()
  const results: SubmissionResult[] = []
  let planned: PlannedTest[] = []
  let maxScore = 0
  try {
    const views = stageGraderViews(spec, scratch.dir, images)
    const specImage = pinned(images, spec.data.image)
    const buildLimits = spec.data.build ? resolveLimits(BUILD_DEFAULTS, spec.data.build.limits) : null

    // --- the scored tests: spec tests as written, framework tests from the reference's run (or the spec's names)
    const units: Unit[] = []
    for (const [index, t] of spec.data.tests.entries()) {
      if (!isGroup(t)) {
        units.push({kind: 'test', index, test: t})
        continue
      }
      let names = (t.scores ?? []).filter((x) => x.name !== undefined).map((x) => x.name!)
      if (t.reference) {
        // the reference as a submission: copied, built like one, then run
        const refSrc = join(scratch.dir, `ref${index}-src`)
        freshWritable(refSrc)
        copyBeneath(join(spec.dir, t.reference), refSrc, owner, COPY_LIMITS)
        if (spec.data.build && buildLimits) {
          const b = await runSlot(() => sandboxed({command: ['sh', '-c', spec.data.build!.run], workdir: '/work', mounts: [{type: 'bind', source: refSrc, destination: '/work', readOnly: false}, views.common], limits: buildLimits, image: specImage}, opts.abortSignal))
          if (b.verdict !== 'ok') throw new LabError('grading-invalid', `${t.name}: the reference solution ${t.reference} does not build: ${VERDICT_MESSAGE[b.verdict]?.(b, buildLimits) ?? `exit code ${b.exitCode}`}: ${`${b.stderr ?? ''}${b.stdout ?? ''}`.trim().split('\n').slice(0, 4).join(' | ')}`, {hint: 'the build step runs in /work on the reference as on every submission'})
        }
        const ref = await runSlot(() => runGroupOn(spec, t, refSrc, null, join(scratch.dir, `ref${index}`), views, owner, opts.abortSignal))
        if (ref.serviceNotReady) throw new LabError('grading-invalid', `${t.name}: the reference solution ${t.reference} could not be tested: ${ref.serviceNotReady}`, {hint: 'the services run on the reference as on every submission: check their run and ready'})
        if (ref.loadError) throw new LabError('grading-invalid', `${t.name}: the reference solution ${t.reference} could not be tested: ${ref.loadError.split('\n').slice(0, 6).join(' | ')}`, {hint: 'run the framework on the reference yourself; `lab doctor --grading SPEC` lists what the sandbox lacks'})
        const bad = [...ref.tests.values()].filter((x) => x.status !== 'passed')
        if (bad.length) throw new LabError('grading-invalid', `${t.name}: the reference solution ${t.reference} does not pass ${bad.map((x) => `"${x.name}" (${(x.message ?? x.status).split('\n')[0].slice(0, 200)})`).join(', ')}`, {hint: 'fix the reference or the tests: every test must pass on it'})
        names = [...ref.tests.keys(), ...names.filter((n) => !ref.tests.has(n))]
      }
      units.push({kind: 'group', index, group: t, tests: names.map((name) => ({name, ...scoreOf(t, name), command: groupCommand(t), group: t.name}))})
    }
    planned = units.flatMap((u) => (u.kind === 'test' ? [{name: u.test.name, points: u.test.points, visibility: u.test.visibility ?? 'visible', command: u.test.run, ...(u.test.task !== undefined ? {task: u.test.task} : {})}] : u.tests))
    const seen = new Set<string>()
    for (const p of planned) {
      if (seen.has(p.name)) throw new LabError('grading-invalid', `the test name "${p.name}" is used twice (a framework test and another test)`, {hint: 'rename one of them'})
      seen.add(p.name)
    }
    maxScore = planned.reduce((s, t) => s + t.points, 0)
    const runsPerSubmission = units.length + (spec.data.build ? 1 : 0)
    const totalRuns = runsPerSubmission * paths.length
    let runsDone = 0
    let subsDone = 0
    opts.onProgress?.({type: 'start', submissions: paths.length, runs: totalRuns})
    const ranOne = (submission: string, test: string | null) => opts.onProgress?.({type: 'run', submission, test, done: ++runsDone, runs: totalRuns})
    const plannedLimits = (p: PlannedTest) => {
      const e = spec.data.tests.find((x) => x.name === (p.group ?? p.name))
      return resolveLimits(TEST_DEFAULTS, spec.data.limits, e?.limits)
    }
    const zero = (status: TestStatus, message: string, verdict = 'not-run'): TestResult[] =>
      planned.map((t) => ({name: t.name, visibility: t.visibility, status, score: 0, maxScore: t.points, message, verdict, exitCode: null, wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, limits: plannedLimits(t), checks: [], stdout: '', stderr: '', ...(t.group ? {group: t.group} : {}), ...(t.task !== undefined ? {task: t.task} : {})}))

    const gradeOne = async (path: string, index: number): Promise<SubmissionResult> => {
      if (opts.abortSignal?.aborted) throw interrupted()
      const t0 = Date.now()
      let id = submissionId(path)
      const n = ids.get(id) ?? 0
      ids.set(id, n + 1)
      if (n > 0) id = `${id}-${n + 1}`
      const res: SubmissionResult = {id, path, upload: basename(path.replace(/\/+$/, '')), kind: null, sha256: null, files: 0, bytes: 0, status: 'graded', score: 0, maxScore, tests: [], wallMs: 0, runMs: 0}
      const subDir = join(scratch.dir, `s${index}`)
      mkdirSync(subDir, {mode: 0o711})
      const src = join(subDir, 'src')
      try {
        freshWritable(src)
        try {
          const x = await extractSubmission(path, src, {limits: opts.extractLimits ?? DEFAULT_EXTRACT_LIMITS, owner})
          Object.assign(res, {kind: x.kind, sha256: x.sha256, files: x.files, bytes: x.bytes})
          // students zip the folder they worked in: its contents are the submission
          if (x.kind !== 'directory') {
            const folder = unwrapSingleFolder(src)
            if (folder) res.unwrapped = folder
          }
        } catch (e) {
          const msg = e instanceof SubmissionError ? e.message : `cannot unpack it: ${(e as Error).message}`
          Object.assign(res, {status: 'rejected', message: msg, tests: zero('failed', `not graded: ${msg}`)})
          for (let i = 0; i < runsPerSubmission; i++) ranOne(id, null)
          return res
        }
        // links inside the submission are never followed here: a required file must be one
        const missing = (spec.data.required ?? []).filter((rel) => !lstatBeneath(src, rel)?.isFile())
        if (missing.length) {
          const where = missing.map((rel) => {
            const found = foundElsewhere(src, rel)
            return found ? `${rel} (found at ${found}: it must be at ${rel})` : rel
          })
          const msg = `required file${missing.length > 1 ? 's' : ''} missing: ${where.join(', ')}`
          Object.assign(res, {status: 'rejected', message: msg, tests: zero('failed', `not graded: ${msg}`)})
          for (let i = 0; i < runsPerSubmission; i++) ranOne(id, null)
          return res
        }

        // --- build: once, in its own sandbox and with its own limits
        if (spec.data.build && buildLimits) {
          const r = await runSlot(() => sandboxed({command: ['sh', '-c', spec.data.build!.run], workdir: '/work', mounts: [{type: 'bind', source: src, destination: '/work', readOnly: false}, views.common], limits: buildLimits, image: specImage}, opts.abortSignal))
          ranOne(id, 'build')
          res.runMs += r.wallMs
          res.build = {verdict: r.verdict, exitCode: r.exitCode, wallMs: Math.round(r.wallMs), stdout: truncate(r.stdout ?? ''), stderr: truncate(r.stderr ?? '')}
          if (r.verdict === 'engine-error') throw new LabError('grade-engine', `the build sandbox failed: ${r.error?.message ?? 'engine error'}`)
          if (r.verdict !== 'ok') {
            const why = VERDICT_MESSAGE[r.verdict]?.(r, buildLimits) ?? `exit code ${r.exitCode}`
            const msg = `the build failed: ${why}`
            Object.assign(res, {status: 'build-failed', message: msg, tests: zero('failed', msg)})
            for (let i = 0; i < units.length; i++) ranOne(id, null)
            return res
          }
        }

        // --- tests and groups: each on a fresh copy, concurrently
        let loadError: {group: string; message: string} | null = null
        const settled = await Promise.allSettled(
          units.map(async (u) => {
            if (u.kind === 'test') {
              const view = views.perTest.get(u.index) ?? views.common
              const tr = await runSlot(() => runTest(spec, u.test, src, join(subDir, `t${u.index}`), view, views.checker, views.images, owner, opts.abortSignal))
              ranOne(id, u.test.name)
              res.runMs += tr.runMs
              return [tr.result]
            }
            const o = await runSlot(() => runGroupOn(spec, u.group, src, u.tests.map((x) => x.name), join(subDir, `t${u.index}`), views, owner, opts.abortSignal))
            ranOne(id, u.group.name)
            res.runMs += o.wallMs
            if (o.loadError && !loadError) loadError = {group: u.group.name, message: o.loadError}
            return groupResults(spec, u.group, u.tests, o)
          }),
        )
        const bad = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected')
        if (bad) throw bad.reason
        res.tests = settled.flatMap((x) => (x as PromiseFulfilledResult<TestResult[]>).value)
        const engineError = res.tests.find((t) => t.status === 'error' && t.verdict !== 'load-error')
        if (engineError) {
          res.status = 'error'
          res.message = engineError.message
        } else if (loadError) {
          const le = loadError as {group: string; message: string}
          res.status = 'load-failed'
          res.message = `${le.group}: the tests could not load the submission: ${errorLine(le.message)}\n${truncate(le.message, 4000)}`
        }
        res.score = Math.round(res.tests.reduce((s, t) => s + t.score, 0) * 1000) / 1000
        return res
      } catch (e) {
        if (opts.abortSignal?.aborted) throw e
        Object.assign(res, {status: 'error', message: (e as Error).message, tests: res.tests.length ? res.tests : zero('error', (e as Error).message, 'engine-error')})
        return res
      } finally {
        res.wallMs = Date.now() - t0
        res.runMs = Math.round(res.runMs)
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
    if (opts.scratch) removeScratchWithin(scratch)
    else removeScratch(scratch)
  }

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
      network: spec.data.services?.length ? 'none; tests with services: an --internal network of each test' : 'none',
      userns: 'private',
      rootfs: images.size ? 'images of lab\'s store (images), read-only; the host\'s system directories where none is named' : 'the host\'s system directories, read-only',
      ...(images.size ? {images: Object.fromEntries(images)} : {}),
      idmappedOwner: owner ? GRADER_UID : null,
      jobs,
      scratch: scratch.tmpfs ? `tmpfs of ${scratch.sizeBytes} bytes` : 'temporary directory',
      rerunThreshold: RERUN_THRESHOLD,
      defaults: {test: TEST_DEFAULTS, build: BUILD_DEFAULTS, checker: CHECKER_DEFAULTS},
      extractLimits: opts.extractLimits ?? DEFAULT_EXTRACT_LIMITS,
    },
    summary: gradeSummary(results, maxScore),
    tests: planned,
    submissions: results,
  }
}

/** The copy cap of a run's directory, and the verdict when a submission's run exceeds it. */
const COPY_LIMITS = {maxBytes: DEFAULT_EXTRACT_LIMITS.maxBytes * 2, maxFiles: DEFAULT_EXTRACT_LIMITS.maxFiles * 2}
function copyCapVerdict(e: unknown): {verdict: string; message: string} | null {
  if (!(e instanceof BeneathError) || e.reason !== 'too-large') return null
  const files = /files/.test(e.message)
  return {verdict: files ? 'file-count' : 'disk', message: `the run left too much in /work to be checked (${files ? `more than ${COPY_LIMITS.maxFiles} files` : `more than ${COPY_LIMITS.maxBytes} bytes`}): a limit of this submission, not checked further`}
}

/** A framework group on one copy of a submission (or of the reference): its attempts, one sandbox each. */
async function runGroupOn(spec: LoadedSpec, g: FrameworkGroup, src: string, expected: string[] | null, dir: string, views: GraderViews, owner: {uid: number; gid: number} | null, signal?: AbortSignal): Promise<GroupOutcome & {serviceNotReady?: string}> {
  const {perTestMs, limits} = groupLimits(spec, g)
  const files = (g.files ?? []).map((f) => basename(f))
  mkdirSync(dir, {mode: 0o711})
  const work = join(dir, 'work')
  const resultsDir = join(dir, 'results')
  let session: ServiceSession | null = null
  try {
    const wanted = servicesOf(spec.data.services, g)
    if (wanted.length) {
      // once for the run and its re-runs: long enough for every test of it, twice
      const runMs = perTestMs * Math.max(1, expected?.length ?? 32) + 3_000
      session = await startServices(wanted, join(dir, 'services'), {
        freshCopy: (d) => {
          freshWritable(d)
          copyBeneath(src, d, owner, COPY_LIMITS)
        },
        request: (command, mounts, l, timeMs, image) => gradingRequest({command, workdir: '/work', mounts, limits: {...resolveLimits(TEST_DEFAULTS, l), timeMs}, image: pinned(views.images, image, spec.data.image)}),
        graderMount: views.common,
        testTimeMs: runMs,
        signal,
      })
      if (session.notReady) {
        return {tests: new Map(), loadError: null, attempts: 0, wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, lastOutput: await session.logs(), serviceNotReady: session.notReady.message}
      }
    }
    const network = session?.network
    return await runGroup(
      g,
      files,
      expected,
      perTestMs,
      // start-up (an interpreter, collection) on a loaded machine; a run stopped early is split, not lost
      3_000,
      async (command, env, wallMs) => {
        rmSync(work, {recursive: true, force: true})
        rmSync(resultsDir, {recursive: true, force: true})
        freshWritable(work)
        freshWritable(resultsDir)
        copyBeneath(src, work, owner, COPY_LIMITS)
        copySpecFiles(spec, g.files ?? [], work, true)
        const result = await sandboxed(
          {command, env, workdir: '/work', mounts: [{type: 'bind', source: work, destination: '/work', readOnly: false, hide: HIDE_RW}, views.common, views.runners, {type: 'bind', source: resultsDir, destination: '/lab-results', readOnly: false, hide: HIDE_RW}], limits: {...limits, timeMs: wallMs}, network, image: pinned(views.images, g.image, spec.data.image)},
          signal,
        )
        // read once every process of the run is gone, never through a link it planted
        const readOr = (base: string, rel: string) => {
          try {
            return readBeneath(base, rel, 32 * 1024 * 1024).toString('utf8')
          } catch {
            return ''
          }
        }
        const reported = g.framework === 'junit-xml' ? readOr(work, g.report!) : g.framework === 'tap' ? '' : readOr(resultsDir, basename(RESULTS_FILE))
        return {result, reported}
      },
      (r) => VERDICT_MESSAGE[r.verdict]?.(r, {...limits, timeMs: perTestMs}) ?? r.verdict,
    )
  } finally {
    await session?.close()
    rmSync(dir, {recursive: true, force: true})
  }
}

/** The line of an interpreter's or compiler's message that names the error (its last such line). */
function errorLine(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean)
  const named = lines.filter((l) => /^([\w.]*(Error|Exception)\b|error:|Bail out)/.test(l) || /\b\w+Error: /.test(l))
  return (named[named.length - 1] ?? lines[0] ?? 'no message').slice(0, 300)
}

/** A group's outcome as the report's tests: each expected test, with its points. */
function groupResults(spec: LoadedSpec, g: FrameworkGroup, planned: PlannedTest[], o: Awaited<ReturnType<typeof runGroupOn>>): TestResult[] {
  const {limits} = groupLimits(spec, g)
  const split = o.attempts > 1 ? {reason: `the run was started ${o.attempts} times: after a test was stopped, the tests left ran again`} : null
  return planned.map((p) => {
    const base: TestResult = {name: p.name, visibility: p.visibility, status: 'failed', score: 0, maxScore: p.points, message: '', verdict: 'ok', exitCode: null, wallMs: 0, cpuMs: 0, peakMemoryBytes: o.peakMemoryBytes, limits, checks: [], stdout: '', stderr: '', group: g.name, ...(p.task !== undefined ? {task: p.task} : {})}
    if (o.serviceNotReady) return {...base, verdict: 'service-not-ready', message: o.serviceNotReady, stderr: truncate(o.lastOutput)}
    if (o.loadError) return {...base, status: 'error', verdict: 'load-error', message: `not run: the tests could not load the submission (${errorLine(o.loadError)})`}
    const r = o.tests.get(p.name)
    if (!r) return {...base, verdict: 'not-run', message: `not run: the framework did not report this test${split ? ` (${split.reason})` : ''}`}
    const task = p.task ?? r.task ?? undefined
    const common = {...base, wallMs: r.ms, stdout: r.output, verdict: r.verdict === 'ok' ? (r.status === 'error' ? 'error' : 'ok') : r.verdict, ...(r.code ? {code: r.code} : {}), ...(task !== undefined ? {task} : {})}
    if (r.status === 'passed') return {...common, status: 'passed', score: p.points, message: 'passed'}
    const message = r.status === 'skipped' ? `skipped${r.message ? `: ${r.message}` : ''}` : (r.message ?? r.status)
    return {...common, status: 'failed', message: r.status === 'timeout' && r.verdict === 'timeout' && !/time limit/.test(message) ? `time limit exceeded (${limits.timeMs} ms): ${message}` : message}
  })
}

/** One test: a fresh copy, the run (once more if it came within 10% of its time limit), then the checks. */
async function runTest(spec: LoadedSpec, t: GradingTest, src: string, dir: string, graderMount: Mount, checkerMount: Mount, images: ImagePins, owner: {uid: number; gid: number} | null, signal?: AbortSignal): Promise<{result: TestResult; runMs: number}> {
  const limits = resolveLimits(TEST_DEFAULTS, spec.data.limits, t.limits)
  const image = pinned(images, t.image, spec.data.image)
  const input = t.stdinFile ? spec.texts.get(t.stdinFile) : t.stdin
  const work = join(dir, 'work')
  const base: TestResult = {name: t.name, visibility: t.visibility ?? 'visible', status: 'failed', score: 0, maxScore: t.points, message: '', verdict: 'not-run', exitCode: null, wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, limits, checks: [], stdout: '', stderr: '', ...(t.task !== undefined ? {task: t.task} : {})}
  let runMs = 0
  mkdirSync(dir, {mode: 0o711})
  const inputDir = join(dir, 'input')
  let session: ServiceSession | null = null
  try {
    const wanted = servicesOf(spec.data.services, t)
    if (wanted.length) {
      session = await startServices(wanted, join(dir, 'services'), {
        freshCopy: (d) => {
          freshWritable(d)
          copyBeneath(src, d, owner, COPY_LIMITS)
        },
        request: (command, mounts, l, timeMs, image) => gradingRequest({command, workdir: '/work', mounts, limits: {...resolveLimits(TEST_DEFAULTS, l), timeMs}, image: pinned(images, image, spec.data.image)}),
        graderMount,
        testTimeMs: limits.timeMs,
        signal,
      })
      // the student's server not answering is the test's verdict, not an error of the batch
      if (session.notReady) return {runMs, result: {...base, verdict: 'service-not-ready', message: session.notReady.message, stderr: truncate(await session.logs())}}
    }
    const network = session?.network
    if (input !== undefined) {
      mkdirSync(inputDir, {mode: 0o755})
      writeFileSync(join(inputDir, 'stdin'), input, {mode: 0o644, flag: 'wx'})
    }
    const once = async () => {
      rmSync(work, {recursive: true, force: true})
      freshWritable(work)
      copyBeneath(src, work, owner, COPY_LIMITS)
      const r = await (input === undefined
        ? sandboxed({command: ['sh', '-c', t.run], workdir: '/work', mounts: [{type: 'bind', source: work, destination: '/work', readOnly: false, hide: HIDE_RW}, graderMount], limits, network, image}, signal)
        : // standard input is a read-only file of this test alone (seen at /grader-input/stdin):
          // the same bytes on every run, no pipe to stall, and no other test's input in view
          sandboxed({command: ['sh', '-c', 'exec sh -c "$1" < /grader-input/stdin', 'sh', t.run], workdir: '/work', mounts: [{type: 'bind', source: work, destination: '/work', readOnly: false, hide: HIDE_RW}, graderMount, {type: 'bind', source: inputDir, destination: '/grader-input', readOnly: true, hide: true}], limits, network, image}, signal))
      runMs += r.wallMs
      return r
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
      return {runMs, result: {...base, status: 'error', message: `the sandbox failed: ${r.error?.message ?? 'engine error'}${r.error?.hint ? ` (${r.error.hint})` : ''}`}}
    }
    if (FATAL.has(r.verdict)) {
      return {runMs, result: {...base, status: 'failed', message: VERDICT_MESSAGE[r.verdict]?.(r, limits) ?? r.verdict}}
    }
    // every process of the run is gone now: what it left can no longer change under us
    const outputs: RunOutputs = {exitCode: r.exitCode, stdout: r.stdout ?? '', stderr: r.stderr ?? '', workDir: work}
    let checks: CheckResult[]
    try {
      checks = await evaluateChecks(t.checks, outputs, spec.texts, async (c, o) => {
        const x = await runChecker(c, o, dir, checkerMount, image, signal)
        runMs += x.runMs
        return x.result
      })
    } catch (e) {
      const cap = copyCapVerdict(e)
      if (!cap) throw e
      return {runMs, result: {...base, status: 'failed', verdict: cap.verdict, message: cap.message}}
    }
    base.checks = checks
    const failed = checks.filter((c) => !c.passed)
    const fraction = checks.reduce((f, c) => (c.passed && c.fraction !== undefined ? Math.min(f, c.fraction) : f), 1)
    if (failed.length) return {runMs, result: {...base, status: 'failed', message: failed[0].message}}
    const score = Math.round(t.points * fraction * 1000) / 1000
    return {runMs, result: {...base, status: fraction < 1 ? 'partial' : 'passed', score, message: fraction < 1 ? `partial credit: ${score} of ${t.points}` : 'all checks passed'}}
  } catch (e) {
    if (signal?.aborted) throw e
    const cap = copyCapVerdict(e)
    if (cap) return {runMs, result: {...base, status: 'failed', verdict: cap.verdict, message: cap.message}}
    return {runMs, result: {...base, status: 'error', verdict: 'engine-error', message: (e as Error).message}}
  } finally {
    await session?.close()
    rmSync(dir, {recursive: true, force: true})
  }
}

/**
 * A checker in its own sandbox: the run's outputs are files the harness wrote into a
 * fresh directory (/check: stdout, stderr, exit-code) and the run's directory is seen
 * read-only at /check/work; exit 0 passes, a line "fraction=F" awards a share. It sees
 * every file of the spec at /grader: the grader's side, which no test's program sees.
 */
async function runChecker(c: CheckerCheck, o: RunOutputs, dir: string, graderMount: Mount, image: string | undefined, signal?: AbortSignal): Promise<{result: CheckResult; runMs: number}> {
  const checkDir = join(dir, `check-${createHash('sha256').update(c.command.join('\0')).digest('hex').slice(0, 8)}-${Date.now()}`)
  mkdirSync(checkDir, {mode: 0o755})
  writeFileSync(join(checkDir, 'stdout'), o.stdout, {mode: 0o644})
  writeFileSync(join(checkDir, 'stderr'), o.stderr, {mode: 0o644})
  writeFileSync(join(checkDir, 'exit-code'), `${o.exitCode}\n`, {mode: 0o644})
  // a readable snapshot of what the run left (links copied as links, never followed)
  mkdirSync(join(checkDir, 'work'), {mode: 0o755})
  copyBeneath(o.workDir, join(checkDir, 'work'), null, {...COPY_LIMITS, readable: true})
  const limits = resolveLimits(CHECKER_DEFAULTS, {time: c.time})
  const r = await sandboxed(
    {
      command: c.command,
      workdir: '/check',
      mounts: [{type: 'bind', source: checkDir, destination: '/check', readOnly: true, hide: true}, graderMount],
      limits,
      // the test's toolchain: a checker written for it finds its interpreter there
      image,
    },
    signal,
  )
  const text = (r.stdout ?? '').trim() || (r.stderr ?? '').trim()
  const first = text.split('\n')[0]?.slice(0, 300) ?? ''
  if (r.verdict === 'engine-error' || r.verdict === 'exec-failed') throw new LabError('grade-checker', `the checker ${c.command[0]} could not run: ${r.error?.message ?? r.verdict}`, {hint: 'check the command and that it is listed in files'})
  const m = /^fraction=([0-9]*\.?[0-9]+)\s*$/m.exec(r.stdout ?? '')
  const fraction = m ? Math.max(0, Math.min(1, Number(m[1]))) : undefined
  const passed = r.verdict === 'ok'
  return {runMs: r.wallMs, result: {name: '', passed, message: first || (passed ? 'the checker accepted the output' : `the checker rejected the output (${r.verdict}, exit ${r.exitCode})`), ...(fraction !== undefined ? {fraction} : {})}}
}

/** A batch's summary line: how many submissions ended how, and the mean score of those graded. */
export function gradeSummary(results: SubmissionResult[], maxScore: number): GradeReport['summary'] {
  const graded = results.filter((r) => r.status !== 'error')
  return {
    submissions: results.length,
    graded: results.filter((r) => r.status === 'graded').length,
    rejected: results.filter((r) => r.status === 'rejected').length,
    buildFailed: results.filter((r) => r.status === 'build-failed').length,
    loadFailed: results.filter((r) => r.status === 'load-failed').length,
    errors: results.filter((r) => r.status === 'error').length,
    maxScore,
    meanScore: graded.length ? Math.round((graded.reduce((s, r) => s + r.score, 0) / graded.length) * 100) / 100 : 0,
    reruns: results.reduce((s, r) => s + r.tests.filter((t) => t.rerun).length, 0),
  }
}
