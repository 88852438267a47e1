/**
 * A run's result (one shape, whatever happened), and the ways to show it: a summary
 * that names every failing step with its verdict, JUnit XML (one testcase per step),
 * and `::error` annotations for GitHub Actions. All text here is already masked.
 */
import type {ArtifactResult} from './artifacts.js'
import type {CacheOutcome} from './cache.js'
import type {Annotation} from './commands.js'

export type StepStatus = 'success' | 'failure' | 'skipped' | 'cancelled' | 'unsupported'
export type JobStatus = 'success' | 'failure' | 'skipped' | 'cancelled'

export interface StepResult {
  index: number
  id?: string
  name: string
  /** success | failure | skipped | cancelled | unsupported (a uses: step lab does not run) */
  status: StepStatus
  /** failure that continue-on-error forgave still counts as a failure here */
  continueOnError: boolean
  verdict?: string
  exitCode?: number
  wallMs: number
  evidence?: Record<string, unknown>
  /** why it was skipped, or what went wrong before it could run */
  reason?: string
  log?: string
  outputs?: Record<string, string>
  /** ::warning / ::error / ::notice lines the step printed */
  annotations?: Annotation[]
  /** what it saved with ::save-state or $GITHUB_STATE */
  state?: Record<string, string>
  /** what it wrote to $GITHUB_STEP_SUMMARY (markdown) */
  summary?: string
  /** the steps of a composite action */
  substeps?: StepResult[]
}

export interface JobResult {
  /** job id, with the matrix values for a matrix job: test (node=20) */
  key: string
  id: string
  name: string
  matrix?: Record<string, unknown>
  status: JobStatus
  wallMs: number
  steps: StepResult[]
  services: Array<{name: string; id?: string; ready: boolean; log: string; verdict?: string; error?: string}>
  artifacts: ArtifactResult[]
  caches: CacheOutcome[]
  outputs: Record<string, string>
  error?: string
  /** the job failed but continue-on-error let the run succeed */
  continueOnError?: boolean
}

export interface Failure {
  job: string
  step: string
  verdict: string
  exitCode?: number
  message: string
}

export interface CiResult {
  runId: string
  pipeline: string
  file: string
  kind: 'lab' | 'github'
  status: 'success' | 'failure' | 'cancelled'
  exitCode: number
  wallMs: number
  jobs: JobResult[]
  failures: Failure[]
  warnings: string[]
  runDir: string
  junit?: string
  /** who granted what: the run's trust level, its grants, cache scope and what was refused (policy.ts) */
  trust?: {level: string; allow: string[]; sources: string[]; cacheScope: string; refused: Array<{job: string; privilege: string; asked: string; flag: string}>}
}

export function describeVerdict(s: StepResult): string {
  switch (s.verdict) {
    case 'nonzero-exit': return `exit code ${s.exitCode}`
    case 'timeout': {
      const secs = Number(s.evidence?.timeoutMs ?? s.wallMs) / 1000
      return `timed out after ${secs < 10 ? secs.toFixed(1) : Math.round(secs)} s${s.reason ? ` (${s.reason})` : ''}`
    }
    case 'memory': return 'out of memory (OOM-killed)'
    case 'signaled': return `killed by a signal (exit code ${s.exitCode})`
    case 'pids': return 'hit its process limit'
    case 'cpu-time': return 'used up its CPU time'
    case 'output-limit': return 'exceeded its output limit'
    case 'file-size': return 'exceeded the file size limit'
    case 'exec-failed': return `could not run its shell (exit code ${s.exitCode})`
    case 'engine-error': return `sandbox set-up failed${s.reason ? `: ${s.reason}` : ''}`
    default: return s.reason ?? s.verdict ?? s.status
  }
}

/** Every step that made the run fail (continue-on-error ones are not among them). */
export function failuresOf(jobs: JobResult[]): Failure[] {
  const out: Failure[] = []
  for (const j of jobs) {
    if (j.status !== 'failure') continue
    let named = false
    for (const s of j.steps) {
      if (s.status !== 'failure' || s.continueOnError) continue
      named = true
      out.push({job: j.key, step: s.name, verdict: s.verdict ?? 'failure', exitCode: s.exitCode, message: `${j.key} › ${s.name}: ${describeVerdict(s)}`})
    }
    if (!named) out.push({job: j.key, step: '', verdict: 'job-error', message: `${j.key}: ${j.error ?? 'failed'}`})
  }
  return out
}

const xml = (s: string) =>
  s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')

/** JUnit XML: a testsuite per job, a testcase per step; failures carry the verdict. */
export function junitXml(r: CiResult, logTail: (s: StepResult, j: JobResult) => string): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>']
  const count = (f: (s: StepResult) => boolean) => r.jobs.reduce((n, j) => n + j.steps.filter(f).length, 0)
  out.push(`<testsuites name="${xml(r.pipeline)}" tests="${count(() => true)}" failures="${count((s) => s.status === 'failure')}" skipped="${count((s) => s.status !== 'success' && s.status !== 'failure')}" time="${(r.wallMs / 1000).toFixed(3)}">`)
  for (const j of r.jobs) {
    const f = j.steps.filter((s) => s.status === 'failure').length
    const sk = j.steps.filter((s) => s.status !== 'success' && s.status !== 'failure').length
    out.push(`  <testsuite name="${xml(j.key)}" tests="${j.steps.length}" failures="${f}" skipped="${sk}" time="${(j.wallMs / 1000).toFixed(3)}">`)
    for (const s of j.steps) {
      out.push(`    <testcase classname="${xml(j.key)}" name="${xml(`${String(s.index + 1).padStart(2, '0')} ${s.name}`)}" time="${(s.wallMs / 1000).toFixed(3)}">`)
      if (s.status === 'failure') out.push(`      <failure message="${xml(describeVerdict(s))}" type="${xml(s.verdict ?? 'failure')}">${xml(logTail(s, j))}</failure>`)
      else if (s.status !== 'success') out.push(`      <skipped message="${xml(s.reason ?? s.status)}"/>`)
      out.push('    </testcase>')
    }
    out.push('  </testsuite>')
  }
  out.push('</testsuites>')
  return out.join('\n') + '\n'
}

const annotationEscape = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
const propertyEscape = (s: string) => annotationEscape(s).replace(/:/g, '%3A').replace(/,/g, '%2C')

/** Workflow commands GitHub Actions turns into annotations. */
export function annotations(r: CiResult): string[] {
  return r.failures.map((f) => `::error title=${propertyEscape(f.step ? `${f.job} › ${f.step}` : f.job)}::${annotationEscape(f.message)}`)
}

export function summaryLines(r: CiResult): string[] {
  const lines: string[] = []
  for (const j of r.jobs) {
    const steps = j.steps.filter((s) => s.status === 'success').length
    lines.push(`${j.status.padEnd(9)} ${j.key}  (${steps}/${j.steps.length} steps, ${(j.wallMs / 1000).toFixed(1)} s)${j.error ? `: ${j.error}` : ''}`)
  }
  for (const f of r.failures) lines.push(`failed: ${f.message}`)
  lines.push(`${r.status === 'success' ? 'pipeline passed' : r.status === 'cancelled' ? 'pipeline cancelled' : `pipeline failed (${r.failures.length} failing step${r.failures.length === 1 ? '' : 's'})`} in ${(r.wallMs / 1000).toFixed(1)} s · logs: lab ci logs ${r.runId}`)
  return lines
}
