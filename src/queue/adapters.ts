/**
 * The narrow seam between the queue and the two products it carries. A worker grades
 * one submission and runs one pipeline through these functions only, and the submitter
 * builds its report through them, so a change in src/grading or src/ci is re-pointed
 * here and nowhere else. Each is built on the products' public functions:
 *
 *   gradeSubmissions     — gradeBatch() on several submissions → each one's SubmissionResult + engine facts
 *   assembleGradeReport  — results in submission order → the GradeReport a local run writes
 *   runPipelineJob       — loadPipeline() + runPipeline() → CiResult, its JUnit XML and step logs
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {loadPipeline} from '../ci/load.js'
import {applyPolicy, cacheScopeOf, refusalLines, type TrustPolicy} from '../ci/policy.js'
import type {CiResult} from '../ci/report.js'
import {runPipeline} from '../ci/runner.js'
import type {Pipeline} from '../ci/model.js'
import {gradeBatch, gradeSummary, type GradeReport, type SubmissionResult} from '../grading/harness.js'
import type {LoadedSpec} from '../grading/load.js'
import type {Scratch} from '../grading/scratch.js'
import {isGroup} from '../grading/schema.js'

export interface GradedOne {
  result: SubmissionResult
  engine: Record<string, unknown>
}

/**
 * Grades submissions (directories or archives) against a loaded spec, in one batch: a
 * batch pays its set-up (the grader's files) once, and with `scratch` it works inside
 * that long-lived area instead of mounting its own, which was most of the cost of a
 * trivial submission. Results come in the order of `paths`.
 */
export async function gradeSubmissions(spec: LoadedSpec, paths: string[], opts: {jobs: number; abortSignal?: AbortSignal; scratch?: Scratch}): Promise<GradedOne[]> {
  const report = await gradeBatch(spec, paths, {jobs: opts.jobs, abortSignal: opts.abortSignal, scratch: opts.scratch})
  return report.submissions.map((result) => ({result, engine: report.engine}))
}

/** What the submitter keeps of the spec: enough to write every report without it. */
export interface GradeRunSpec {
  title: string
  file: string
  sha256: string
  files: Record<string, string>
  tests: GradeReport['tests']
  maxScore: number
}

export function gradeRunSpec(spec: LoadedSpec): GradeRunSpec {
  // a framework group's tests are known once its reference ran (on the worker): the named ones here, the rest from the results
  const tests: GradeReport['tests'] = spec.data.tests.flatMap((t) =>
    isGroup(t)
      ? (t.scores ?? []).filter((x) => x.name !== undefined).map((x) => ({name: x.name!, points: x.points ?? t.points ?? 1, visibility: x.visibility ?? t.visibility ?? 'visible', command: t.run ?? t.framework, group: t.name}))
      : [{name: t.name, points: t.points, visibility: t.visibility ?? 'visible', command: t.run}],
  )
  return {title: spec.data.title, file: spec.file, sha256: spec.specSha256, files: spec.fileHashes, tests, maxScore: tests.reduce((s, t) => s + t.points, 0)}
}

/** A submission that never reached a test (refused payload, a worker that refused it, a job that failed): the shape a local run gives an error. */
export function errorSubmission(spec: GradeRunSpec, id: string, path: string, status: 'error' | 'rejected', message: string): SubmissionResult {
  return {
    id,
    path,
    upload: basename(path),
    runMs: 0,
    kind: null,
    sha256: null,
    files: 0,
    bytes: 0,
    status,
    message,
    score: 0,
    maxScore: spec.maxScore,
    tests: spec.tests.map((t) => ({name: t.name, visibility: t.visibility, status: status === 'rejected' ? 'failed' : 'error', score: 0, maxScore: t.points, message: status === 'rejected' ? `not graded: ${message}` : message, verdict: 'not-run', exitCode: null, wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, limits: {timeMs: 0, memoryBytes: 0, pids: 0, outputBytes: 0, fileSizeBytes: 0}, checks: [], stdout: '', stderr: ''})),
    wallMs: 0,
  }
}

/** The report of a local run, from per-submission results (the summary is computed as gradeBatch computes it). */
export function assembleGradeReport(spec: GradeRunSpec, results: SubmissionResult[], engine: Record<string, unknown>, started: number, finished: number): GradeReport {
  const known = new Set(spec.tests.map((t) => t.name))
  const discovered = results.flatMap((r) => r.tests).filter((t) => !known.has(t.name) && known.add(t.name)).map((t) => ({name: t.name, points: t.maxScore, visibility: t.visibility, command: '', ...(t.group ? {group: t.group} : {})}))
  return {
    format: 'lab-grade-report',
    version: 1,
    title: spec.title,
    gradedAt: new Date(started).toISOString(),
    wallMs: finished - started,
    spec: {file: spec.file, sha256: spec.sha256, files: spec.files},
    engine,
    summary: gradeSummary(results, spec.maxScore),
    tests: [...spec.tests, ...discovered],
    submissions: results,
  }
}

export interface PipelineJobResult {
  result: CiResult
  junit: string | null
  logs: Array<{job: string; file: string; text: string}>
}

/** Loads a pipeline as a local run does (schema and meaning checks): a worker refuses one that fails. */
export function loadPipelineJob(file: string, workspace: string, strict: boolean): Promise<Pipeline> {
  return loadPipeline(file, {workspace, strict})
}

/** Runs a loaded pipeline to its end; its JUnit XML and per-step logs travel with the result. */
export async function runPipelineJob(p: Pipeline, opts: {jobs: number; abortSignal?: AbortSignal; maxLogBytes?: number}): Promise<PipelineJobResult> {
  // whoever can write to the queue chose this pipeline: it gets no privilege (src/ci/policy.ts)
  // and a cache scope of its own, which never feeds a trusted local run
  const policy: TrustPolicy = {trust: 'untrusted', allow: [], sources: ['queue'], cacheScope: cacheScopeOf('untrusted', 'queue', p.workspace)}
  const refusals = applyPolicy(p, policy)
  p.warnings.push(...refusalLines(refusals).map((l) => `${l} (a queued run is never granted privileges)`))
  const result = await runPipeline(p, {jobs: opts.jobs, abortSignal: opts.abortSignal, policy: {...policy, refusals}})
  let junit: string | null = null
  try {
    if (result.junit) junit = readFileSync(result.junit, 'utf8')
  } catch {
    junit = null
  }
  const logs: PipelineJobResult['logs'] = []
  const base = join(result.runDir, 'logs')
  let budget = opts.maxLogBytes ?? 4 * 1024 * 1024
  if (existsSync(base)) {
    for (const job of readdirSync(base).sort()) {
      for (const file of readdirSync(join(base, job)).sort()) {
        let text = readFileSync(join(base, job, file), 'utf8')
        if (text.length > budget) text = text.slice(0, Math.max(0, budget)) + `lab\t… (log cut at the queue's ${opts.maxLogBytes ?? 4 * 1024 * 1024}-byte cap)\n`
        budget -= text.length
        logs.push({job, file: file.replace(/\.log$/, ''), text})
      }
    }
  }
  return {result, junit, logs}
}
