/**
 * The submitting side: `lab grade --queue` and `lab ci --queue`. A run is recorded in
 * Redis before any job is added (lab:run:ID: what it is, its items in order, what the
 * reports need), so a CLI that dies — or `--detach` — loses nothing: `--attach RUN`
 * collects from the same records. Results arrive as each item's single record
 * (lab:run:ID:results); a job that ended without one (refused, lost with its worker too
 * often) is turned into an error result here, from BullMQ's failed reason.
 */
import {basename, dirname, relative, resolve} from 'node:path'

import {Queue} from 'bullmq'
import type {Redis} from 'ioredis'

import type {CiResult} from '../ci/report.js'
import {LabError} from '../errors.js'
import type {GradeReport, SubmissionResult} from '../grading/harness.js'
import type {LoadedSpec} from '../grading/load.js'
import type {Pipeline} from '../ci/model.js'
import {submissionId, submissionKind} from '../grading/extract.js'
import {assembleGradeReport, errorSubmission, gradeRunSpec, type PipelineJobResult} from './adapters.js'
import {bullOptions, connect, type QueueAddress} from './connection.js'
import {isRunId, jobIdOf, newQueueRunId, type CiJobData, type GradeJobData, type ItemRecord, type RunMeta} from './job.js'
import {eventsChannel, KEEP_SECONDS, QUEUES_SET, queueFor, resultsKey, runKey, RUNS_ZSET} from './keys.js'
import {DEFAULT_PAYLOAD_CAP, packTree, PayloadError, uploadBlobs, type PackedTree} from './payload.js'

export interface SubmitOptions {
  addr: QueueAddress
  /** connections kept for many runs (a long-lived submitter); else opened for this one */
  client?: QueueClient
  require?: Record<string, string>
  /** bytes per job's payload (the spec's files count once per run) */
  cap?: number
}

/** Per-worker progress as results arrive: what the bar and the plain lines show. */
export interface QueueProgress {
  total: number
  queued: number
  running: number
  done: number
  failed: number
  workers: Record<string, {running: number; done: number; failed: number}>
  /** the item that just finished, if any */
  item?: {index: number; id: string; ok: boolean; worker: string; line: string}
}

/**
 * The submitting side's connections to one queue: a client, a subscriber for the runs'
 * events, and BullMQ's queues (each has a connection of its own with its scripts loaded).
 * The CLI opens one per command; a long-lived submitter (a service in front of lab, the
 * benchmark) keeps one, and each run then costs round trips, not handshakes.
 */
export class QueueClient {
  private readonly queues = new Map<string, Queue>()
  private sub: Redis | null = null

  private constructor(readonly addr: QueueAddress, readonly redis: Redis) {
    redis.on('error', () => {})
  }

  static async open(addr: QueueAddress): Promise<QueueClient> {
    return new QueueClient(addr, await connect(addr, {retry: false, name: 'lab-submit'}))
  }

  queue(name: string): Queue {
    let q = this.queues.get(name)
    if (!q) this.queues.set(name, (q = new Queue(name, bullOptions(this.redis))))
    return q
  }

  subscriber(): Redis {
    if (!this.sub) {
      this.sub = this.redis.duplicate()
      this.sub.on('error', () => {})
    }
    return this.sub
  }

  async close(): Promise<void> {
    for (const q of this.queues.values()) await q.close().catch(() => {})
    this.queues.clear()
    this.sub?.disconnect()
    this.redis.disconnect()
  }
}

/** Runs fn with the given client, or with one opened for it and closed after. */
async function withClient<T>(o: {addr: QueueAddress; client?: QueueClient}, fn: (c: QueueClient) => Promise<T>): Promise<T> {
  if (o.client) return fn(o.client)
  const c = await QueueClient.open(o.addr)
  try {
    return await fn(c)
  } finally {
    await c.close()
  }
}

/** Adds jobs in bulk (1,000 per round trip); BullMQ keeps job ids unique. */
async function addJobs(queue: Queue, jobs: Array<{name: string; data: unknown; opts: {jobId: string}}>): Promise<void> {
  for (let i = 0; i < jobs.length; i += 1000) {
    await queue.addBulk(jobs.slice(i, i + 1000).map((j) => ({name: j.name, data: j.data, opts: {...j.opts, attempts: 1, removeOnComplete: true, removeOnFail: {age: KEEP_SECONDS}}})))
  }
}

async function registerRun(redis: Redis, meta: RunMeta): Promise<void> {
  await redis.multi().set(runKey(meta.id), JSON.stringify(meta), 'EX', KEEP_SECONDS).zadd(RUNS_ZSET, Date.now(), meta.id).sadd(QUEUES_SET, meta.queue).exec()
}

/** Records an item's result from the submitting side (a payload refused before it travelled). */
async function recordLocal(redis: Redis, run: string, rec: ItemRecord): Promise<void> {
  await redis.multi().hsetnx(resultsKey(run), String(rec.index), JSON.stringify(rec)).expire(resultsKey(run), KEEP_SECONDS).exec()
}

/** Sends a grading run: the spec's directory once, each submission as its own job. */
export async function submitGrade(spec: LoadedSpec, paths: string[], opts: SubmitOptions): Promise<RunMeta> {
  return withClient(opts, async (client) => {
    const redis = client.redis
    const run = newQueueRunId()
    const require = opts.require ?? {}
    const qname = queueFor(require)
    const specDir = dirname(spec.file)
    // the spec's directory, minus what a local run would not read: submissions are sent on their own
    const inside = new Set(paths.map((p) => relative(specDir, resolve(p))).filter((r) => r && !r.startsWith('..')))
    const specTree = packTree(specDir, {what: 'the grading spec\'s directory', cap: opts.cap ?? DEFAULT_PAYLOAD_CAP, exclude: (rel) => inside.has(rel) || rel === '.git' || rel === 'node_modules', refuseHardLinks: false})
    const rs = gradeRunSpec(spec)
    const ids = new Map<string, number>()
    const jobs: Array<{name: string; data: GradeJobData; opts: {jobId: string}}> = []
    const refused: ItemRecord[] = []
    const blobs = new Map(specTree.blobs)
    let files = specTree.manifest.entries.length
    const items = paths.map((path, index) => {
      let id = submissionId(path)
      const n = ids.get(id) ?? 0
      ids.set(id, n + 1)
      if (n > 0) id = `${id}-${n + 1}`
      let tree: PackedTree
      try {
        tree = packTree(path.replace(/\/+$/, ''), {what: `submission ${id}`, cap: opts.cap ?? DEFAULT_PAYLOAD_CAP, refuseHardLinks: true})
      } catch (e) {
        if (!(e instanceof PayloadError)) throw e
        refused.push({index, jobId: '', worker: 'submitter', attempt: 0, finishedAt: new Date().toISOString(), error: `rejected: ${e.message}`})
        return {index, id, path, jobId: null}
      }
      for (const [h, read] of tree.blobs) blobs.set(h, read)
      files += tree.manifest.entries.length
      const shape: 'dir' | 'file' = tree.manifest.entries.length === 1 && tree.manifest.entries[0].type === 'file' && submissionKind(path) !== null && !path.endsWith('/') ? 'file' : 'dir'
      const jobId = jobIdOf(run, index, tree.manifestSha)
      const name = shape === 'file' ? tree.manifest.entries[0].path : basename(path.replace(/\/+$/, '')) || 'submission'
      jobs.push({name: 'grade', data: {v: 1, kind: 'grade', run, index, id, spec: specTree.manifestSha, specFile: relative(specDir, spec.file), submission: tree.manifestSha, name, shape}, opts: {jobId}})
      return {index, id, path, jobId}
    })
    const up = await uploadBlobs(redis, blobs)
    const meta: RunMeta = {id: run, kind: 'grade', created: new Date().toISOString(), queue: qname, require, items, grade: rs, payload: {files, uploaded: up.uploaded, uploadedBytes: up.bytes, reused: up.reused}}
    await registerRun(redis, meta)
    for (const r of refused) await recordLocal(redis, run, r)
    await addJobs(client.queue(qname), jobs)
    return meta
  })
}

/** Sends a CI run: the workspace as one payload, the pipeline as one job. */
export async function submitCi(p: Pipeline, opts: SubmitOptions): Promise<RunMeta> {
  return withClient(opts, async (client) => {
    const redis = client.redis
    const run = newQueueRunId()
    const require = opts.require ?? {}
    const qname = queueFor(require)
    const file = relative(p.workspace, resolve(p.file))
    if (!file || file.startsWith('..')) throw new LabError('queue-usage', `${p.file} is outside the workspace ${p.workspace}`, {hint: 'a queued pipeline must live in the workspace it runs on'})
    const tree = packTree(p.workspace, {what: 'the workspace', cap: opts.cap ?? DEFAULT_PAYLOAD_CAP, exclude: (rel) => rel === '.git', refuseHardLinks: false})
    const up = await uploadBlobs(redis, tree.blobs)
    const jobId = jobIdOf(run, 0, tree.manifestSha)
    const meta: RunMeta = {id: run, kind: 'ci', created: new Date().toISOString(), queue: qname, require, items: [{index: 0, id: p.name, path: p.file, jobId}], ci: {file: p.file, workspace: p.workspace}, payload: {files: tree.manifest.entries.length, uploaded: up.uploaded, uploadedBytes: up.bytes, reused: up.reused}}
    await registerRun(redis, meta)
    const data: CiJobData = {v: 1, kind: 'ci', run, index: 0, workspace: tree.manifestSha, file, strict: false}
    await addJobs(client.queue(qname), [{name: 'ci', data, opts: {jobId}}])
    return meta
  })
}

export async function loadRun(redis: Redis, run: string): Promise<RunMeta> {
  if (!isRunId(run)) throw new LabError('queue-no-such-run', `"${run}" is not a queue run id`, {hint: 'ids look like q20261204-153000-1a2b3c; `lab queue ls` lists them'})
  const raw = await redis.get(runKey(run))
  if (!raw) throw new LabError('queue-no-such-run', `no run ${run} in the queue (finished runs are kept ${KEEP_SECONDS / 86400} days)`, {hint: '`lab queue ls` lists the runs'})
  return JSON.parse(raw) as RunMeta
}

/**
 * Waits for every item of a run to have its record and returns them in item order.
 * Progress comes from the workers' events; a poll catches what was published while
 * nobody listened (a detached run, a CLI that died) and jobs that failed without a record.
 */
export async function collect(addr: QueueAddress, run: string, opts: {onProgress?: (p: QueueProgress) => void; signal?: AbortSignal; pollMs?: number; client?: QueueClient} = {}): Promise<{meta: RunMeta; records: ItemRecord[]}> {
  return withClient({addr, client: opts.client}, (client) => collectWith(client, run, opts))
}

async function collectWith(client: QueueClient, run: string, opts: {onProgress?: (p: QueueProgress) => void; signal?: AbortSignal; pollMs?: number}): Promise<{meta: RunMeta; records: ItemRecord[]}> {
  const redis = client.redis
  const sub = client.subscriber()
  const channel = eventsChannel(run)
  let onMessage: ((ch: string, msg: string) => void) | null = null
  try {
    const meta = await loadRun(redis, run)
    const total = meta.items.length
    const records = new Map<number, ItemRecord>()
    const running = new Map<number, string>()
    const progress: QueueProgress = {total, queued: total, running: 0, done: 0, failed: 0, workers: {}}
    const emit = (item?: QueueProgress['item']) => {
      progress.running = running.size
      progress.queued = Math.max(0, total - records.size - running.size)
      opts.onProgress?.({...progress, item})
    }
    const perWorker = (w: string) => (progress.workers[w] ??= {running: 0, done: 0, failed: 0})
    const take = (rec: ItemRecord) => {
      if (records.has(rec.index) || rec.index < 0 || rec.index >= total) return
      records.set(rec.index, rec)
      const w = running.get(rec.index)
      if (w) perWorker(w).running--
      running.delete(rec.index)
      const ok = !rec.error
      if (ok) progress.done++
      else progress.failed++
      const pw = perWorker(rec.worker)
      if (ok) pw.done++
      else pw.failed++
      const it = meta.items[rec.index]
      const what = rec.grade ? `${rec.grade.result.score}/${rec.grade.result.maxScore} ${rec.grade.result.status}` : rec.ci ? rec.ci.result.status : `error: ${rec.error}`
      emit({index: rec.index, id: it.id, ok, worker: rec.worker, line: `${what}${rec.attempt > 1 ? ` (delivery ${rec.attempt})` : ''}`})
    }
    const fetchSome = async (indices: number[]) => {
      if (!indices.length) return
      const vals = await redis.hmget(resultsKey(run), ...indices.map(String))
      vals.forEach((v) => v && take(JSON.parse(v) as ItemRecord))
    }
    let wake: (() => void) | null = null
    const poke = () => wake?.()
    await sub.subscribe(channel)
    sub.on('message', (onMessage = (ch, msg) => {
      if (ch !== channel) return
      try {
        const e = JSON.parse(msg) as {type: string; index: number; worker: string}
        if (e.type === 'running' && !records.has(e.index) && running.get(e.index) !== e.worker) {
          const prev = running.get(e.index)
          if (prev) perWorker(prev).running--
          running.set(e.index, e.worker)
          perWorker(e.worker).running++
          emit()
        } else if (e.type === 'done') fetchSome([e.index]).then(poke, () => {})
      } catch {
        /* not ours */
      }
    }))
    const onAbort = () => wake?.()
    opts.signal?.addEventListener('abort', onAbort)
    try {
      emit()
      let lastFailedCheck = Date.now()
      while (records.size < total) {
        if (opts.signal?.aborted) throw new LabError('interrupted', `stopped waiting for ${run}; it goes on in the queue`, {hint: `collect it later: --attach ${run}`, exitCode: 130})
        // what was recorded while nobody listened (a detached run, a missed event): HLEN is
        // cheap, the field list is read only when it says something is missing
        if ((await redis.hlen(resultsKey(run))) > records.size) {
          const have = await redis.hkeys(resultsKey(run))
          await fetchSome(have.map(Number).filter((i) => !records.has(i)))
        }
        if (records.size >= total) break
        if (Date.now() - lastFailedCheck > 2000) {
          lastFailedCheck = Date.now()
          // jobs BullMQ failed without any worker recording why (lost with workers too often):
          // the failed set is small, so it is read instead of asking for every pending job
          const byJob = new Map(meta.items.filter((it) => it.jobId && !records.has(it.index)).map((it) => [it.jobId!, it]))
          for (const job of await client.queue(meta.queue).getJobs(['failed'], 0, 9999)) {
            const it = job?.id ? byJob.get(job.id) : undefined
            if (!it) continue
            const stalled = /stalled more than allowable limit/.test(job.failedReason ?? '')
            const rec: ItemRecord = {index: it.index, jobId: it.jobId!, worker: 'queue', attempt: (job.stalledCounter ?? 0) + 1, finishedAt: new Date(job.finishedOn ?? Date.now()).toISOString(), error: stalled ? `lost with its worker ${job.stalledCounter ?? 0} times (a worker running it died or was killed each time); not tried again` : `failed: ${job.failedReason}`}
            await redis.hsetnx(resultsKey(run), String(it.index), JSON.stringify(rec))
            await fetchSome([it.index])
          }
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, opts.pollMs ?? 500)
          wake = () => {
            clearTimeout(t)
            r()
          }
        })
        wake = null
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
    }
    return {meta, records: meta.items.map((it) => records.get(it.index)!)}
  } finally {
    if (onMessage) sub.off('message', onMessage)
    await sub.unsubscribe(channel).catch(() => {})
  }
}

/** The report a local run writes, from a finished queue run. */
export function gradeReportOf(meta: RunMeta, records: ItemRecord[]): GradeReport {
  const spec = meta.grade!
  const results: SubmissionResult[] = []
  let engine: Record<string, unknown> | null = null
  let last = Date.parse(meta.created)
  records.forEach((rec, i) => {
    const it = meta.items[i]
    last = Math.max(last, Date.parse(rec.finishedAt) || 0)
    if (rec.grade) {
      engine ??= rec.grade.engine
      const r = {...rec.grade.result, id: it.id, path: it.path}
      if (rec.attempt > 1) Object.assign(r, {delivery: {attempt: rec.attempt, retried: true, reason: 'a worker running it was lost (killed or died); BullMQ\'s stall check handed it to another', worker: rec.worker}})
      results.push(r)
    } else {
      const rejected = /^rejected: /.test(rec.error ?? '')
      results.push(errorSubmission(spec, it.id, it.path, rejected ? 'rejected' : 'error', rejected ? rec.error!.replace(/^rejected: /, '') : rec.error ?? 'no result'))
    }
  })
  const started = Date.parse(meta.created)
  return assembleGradeReport(spec, results, {...(engine ?? {}), queue: {run: meta.id, queue: meta.queue, require: meta.require, payload: meta.payload}}, started, last)
}

/** The result a local `lab ci` prints, from a finished queue run. */
export function ciResultOf(meta: RunMeta, records: ItemRecord[]): {result: CiResult; junit: string | null; logs: PipelineJobResult['logs']} {
  const rec = records[0]
  if (rec.ci) {
    const result = {...rec.ci.result, file: meta.ci!.file, runDir: '', junit: undefined, runId: meta.id}
    if (rec.attempt > 1) result.warnings = [...result.warnings, `delivered ${rec.attempt} times: a worker running it was lost, and another ran it again`]
    return {result, junit: rec.ci.junit, logs: rec.ci.logs}
  }
  throw new LabError('queue-job-failed', `${meta.id}: the pipeline did not run: ${rec.error}`, {hint: 'fix what the message says and submit again (`lab queue retry` runs a failed job again)', exitCode: 125})
}
