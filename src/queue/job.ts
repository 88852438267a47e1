/**
 * What travels through the queue, and the named checks a worker applies to a job before
 * it touches anything: a job is data from Redis, so it is validated like user input.
 */
import type {SubmissionResult} from '../grading/harness.js'
import type {GradeRunSpec, PipelineJobResult} from './adapters.js'

export interface GradeJobData {
  v: 1
  kind: 'grade'
  run: string
  index: number
  /** the submission's id in the reports */
  id: string
  /** manifest hash of the spec's directory, and the spec file's path inside it */
  spec: string
  specFile: string
  /** manifest hash of the submission, and its name (a directory, or an archive file) */
  submission: string
  name: string
  shape: 'dir' | 'file'
}

export interface CiJobData {
  v: 1
  kind: 'ci'
  run: string
  index: number
  /** manifest hash of the workspace, and the pipeline file's path inside it */
  workspace: string
  file: string
  strict: boolean
}

export type JobData = GradeJobData | CiJobData

/** One recorded outcome per item of a run (HSETNX: the first one wins, later duplicates are dropped). */
export interface ItemRecord {
  index: number
  jobId: string
  worker: string
  /** 1 on the first delivery; more when a worker was lost while running it */
  attempt: number
  finishedAt: string
  /** from taking the job to recording it, in the worker */
  workerMs?: number
  grade?: {result: SubmissionResult; engine: Record<string, unknown>}
  ci?: PipelineJobResult
  /** the job did not run to a result: why (refused, tampered, lost with its worker too often, cancelled) */
  error?: string
}

export interface RunItem {
  index: number
  /** submission id (grading) or pipeline name (CI) */
  id: string
  /** as the submitter gave it */
  path: string
  jobId: string | null
}

export interface RunMeta {
  id: string
  kind: 'grade' | 'ci'
  created: string
  queue: string
  require: Record<string, string>
  items: RunItem[]
  grade?: GradeRunSpec
  ci?: {file: string; workspace: string}
  /** payload accounting at submission: how much actually travelled */
  payload: {files: number; uploaded: number; uploadedBytes: number; reused: number}
}

const RUN_ID = /^q[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/
const HEX64 = /^[0-9a-f]{64}$/
const NAME = /^[A-Za-z0-9._-][A-Za-z0-9._ +-]{0,199}$/
const REL = (p: unknown) => typeof p === 'string' && p.length > 0 && p.length < 1024 && !p.startsWith('/') && !p.includes('\0') && p.split('/').every((c) => c !== '' && c !== '.' && c !== '..')

export function isRunId(s: string): boolean {
  return RUN_ID.test(s)
}

export function newQueueRunId(): string {
  const d = new Date()
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  const rnd = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')
  return `q${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${rnd}`
}

/** Problems of a job's data, each naming the field; empty when it may run. */
export function checkJobData(d: unknown): string[] {
  const problems: string[] = []
  if (!d || typeof d !== 'object') return ['the job data is not an object']
  const x = d as Record<string, unknown>
  if (x.v !== 1) problems.push(`v: ${JSON.stringify(x.v)} is not version 1`)
  if (typeof x.run !== 'string' || !RUN_ID.test(x.run)) problems.push('run: not a run id')
  if (!Number.isInteger(x.index) || (x.index as number) < 0 || (x.index as number) > 10_000_000) problems.push('index: not a whole number ≥ 0')
  if (x.kind === 'grade') {
    if (typeof x.id !== 'string' || !/^[A-Za-z0-9._-]{1,110}$/.test(x.id) || /^\.+$/.test(x.id)) problems.push('id: not a submission id')
    if (!HEX64.test(String(x.spec))) problems.push('spec: not a SHA-256')
    if (!REL(x.specFile)) problems.push('specFile: not a relative path without ".."')
    if (!HEX64.test(String(x.submission))) problems.push('submission: not a SHA-256')
    if (typeof x.name !== 'string' || !NAME.test(x.name) || x.name.includes('/') || /^\.+$/.test(x.name)) problems.push('name: not a file name')
    if (x.shape !== 'dir' && x.shape !== 'file') problems.push('shape: not dir or file')
  } else if (x.kind === 'ci') {
    if (!HEX64.test(String(x.workspace))) problems.push('workspace: not a SHA-256')
    if (!REL(x.file)) problems.push('file: not a relative path without ".."')
    if (typeof x.strict !== 'boolean') problems.push('strict: not true or false')
  } else problems.push(`kind: ${JSON.stringify(x.kind)} is not grade or ci`)
  return problems
}

/** A job's id: from the run, the item and the content, so the same content is one job (BullMQ keeps ids unique). */
export function jobIdOf(run: string, index: number, contentHash: string): string {
  return `${run}.${index}.${contentHash.slice(0, 16)}`
}
