/**
 * `lab worker`: takes grading and CI jobs from the queue and runs each exactly as a
 * local run does (the same adapters, sandboxes, limits and verdicts). Per job it
 *
 *   1. checks the job's data (named checks; a job that fails them is refused, never retried)
 *   2. fetches the payload by hash into its cache, re-hashing every byte (a tampered
 *      payload is refused), and writes the tree into a private temporary directory
 *   3. loads the spec or pipeline with the products' own validation (refused if invalid)
 *   4. runs it in sandboxes that have no network (a pipeline that asks for the host's
 *      network is refused: it could reach the queue), and never see the queue's address
 *   5. records the result once (HSETNX per item: a late duplicate is dropped) and says so
 *      in one line
 *
 * Delivery is BullMQ's: a job whose worker dies stops renewing its lock, another worker's
 * stall check hands it back to the queue, and after `maxDeliveries` such losses it fails
 * with that reason. SIGTERM drains (running jobs finish, no new ones start); a second
 * SIGTERM hands running jobs back at once.
 */
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {arch, availableParallelism, hostname, tmpdir, totalmem} from 'node:os'
import {join} from 'node:path'

import {UnrecoverableError, Worker, type Job} from 'bullmq'

import {allJobs} from '../ci/call-legs.js'
import {LabError} from '../errors.js'
import type {LoadedSpec} from '../grading/load.js'
import {loadGradingSpec} from '../grading/load.js'
import {createScratch, removeScratch, type Scratch} from '../grading/scratch.js'
import {detectCgroups} from '../sandbox/cgroups/index.js'
import {limiter} from '../util/limiter.js'
import {sweepStaleTemp} from '../util/stale-temp.js'
import {gradeSubmissions, loadPipelineJob, runPipelineJob, type GradedOne} from './adapters.js'
import {bullOptions, connect, explain, type QueueAddress} from './connection.js'
import {checkJobData, type CiJobData, type GradeJobData, type ItemRecord, type JobData} from './job.js'
import {BASE_QUEUE, cancelKey, eventsChannel, KEEP_SECONDS, labelsOfQueue, QUEUES_SET, resultsKey, workerKey, WORKERS_SET} from './keys.js'
import {BlobCache, materialize, TamperedPayload} from './payload.js'

export interface WorkerOptions {
  addr: QueueAddress
  concurrency?: number
  labels?: Record<string, string>
  /** BullMQ's lock: a job whose worker stops renewing it for this long is handed to another */
  lockDurationMs?: number
  /** a job lost with its worker this many times fails with that reason */
  maxDeliveries?: number
  /** jobs held per sandbox slot, so submissions of one spec are graded in batches */
  prefetch?: number
  /** where the payload cache lives (the state dir) */
  cacheDir: string
  log: (line: string) => void
  heartbeatMs?: number
}

export const TMP_PREFIX = 'lab-queue-'

/** What this host offers, for jobs that require labels; --label adds or overrides. */
export function hostLabels(extra: Record<string, string> = {}): Record<string, string> {
  const a = arch() === 'x64' ? 'amd64' : arch()
  let cg = 'none'
  try {
    cg = detectCgroups().mode
  } catch {
    /* no cgroups: the label says so */
  }
  return {os: 'linux', arch: a, cgroup: cg, ...extra}
}

/** Whether a worker with these labels may take jobs from this queue. */
export function canServe(labels: Record<string, string>, queue: string): boolean {
  const req = labelsOfQueue(queue)
  return req !== null && Object.entries(req).every(([k, v]) => labels[k] === v)
}

export interface WorkerHandle {
  id: string
  /** resolves when the worker has stopped */
  done: Promise<{completed: number; failed: number}>
  /** first call drains, second hands running jobs back */
  stop(): void
}

export async function startWorker(opts: WorkerOptions): Promise<WorkerHandle> {
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism())
  const labels = hostLabels(opts.labels)
  const lockDuration = opts.lockDurationMs ?? 30_000
  const maxDeliveries = Math.max(1, opts.maxDeliveries ?? 3)
  const id = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`
  const log = opts.log
  // the first contact fails fast: a wrong password is one clear line, not a retry loop
  const probe = await connect(opts.addr, {retry: false, name: `lab-worker-${id}`})
  probe.disconnect()
  const redis = await connect(opts.addr, {name: `lab-worker-${id}`})
  redis.on('error', () => {})

  sweepStaleTemp(TMP_PREFIX)
  const tmp = mkdtempSync(join(tmpdir(), `${TMP_PREFIX}${process.pid}-`))
  const cache = new BlobCache(join(opts.cacheDir, 'queue', 'blobs'))
  const specs = new Map<string, Promise<LoadedSpec>>()
  const slot = limiter(concurrency)
  const prefetch = Math.max(1, opts.prefetch ?? 8)
  // Submissions of one spec that are in hand together are graded as one batch (one
  // scratch area, one staging of the grader's files): one batch at a time, each with
  // every sandbox slot, while the next one gathers.
  const batchLane = limiter(1)
  // one scratch tmpfs for the worker's life, each batch and each job's payload in a
  // directory of its own in it (a disk's mkdir and rm cost ~2 ms a job, a tmpfs's nothing)
  let scratch: Scratch | undefined
  const area = (): Scratch => (scratch ??= createScratch(Math.min(8 * 1024 ** 3, Math.floor(totalmem() / 4))))
  type Pending = Array<{path: string; resolve: (g: GradedOne) => void; reject: (e: unknown) => void}>
  const gathering = new Map<string, Pending>()
  const gradeInBatch = (d: GradeJobData, spec: LoadedSpec, path: string): Promise<GradedOne> =>
    new Promise((resolve, reject) => {
      let batch = gathering.get(d.spec)
      if (!batch) {
        const mine: Pending = []
        batch = mine
        gathering.set(d.spec, mine)
        batchLane(async () => {
          // let jobs already in hand join (an idle lane would otherwise start with one)
          await new Promise((r) => setImmediate(r))
          gathering.delete(d.spec)
          try {
            const out = await gradeSubmissions(spec, mine.map((m) => m.path), {jobs: concurrency, scratch: area()})
            mine.forEach((m, i) => m.resolve(out[i]))
          } catch (e) {
            mine.forEach((m) => m.reject(e))
          }
        }).catch(() => {})
      }
      batch.push({path, resolve, reject})
    })
  const workers = new Map<string, Worker>()
  const running = new Map<string, {run: string; index: number; since: number}>()
  let completed = 0
  let failed = 0
  let stopping = 0
  let jobSeq = 0

  const heartbeat = async () => {
    const info = {id, host: hostname(), pid: process.pid, labels, concurrency, queues: [...workers.keys()], running: [...running.values()], completed, failed, draining: stopping > 0, at: new Date().toISOString()}
    await redis.multi().set(workerKey(id), JSON.stringify(info), 'EX', Math.ceil((opts.heartbeatMs ?? 5000) * 3 / 1000)).sadd(WORKERS_SET, id).exec()
  }

  const record = async (run: string, rec: ItemRecord): Promise<boolean> => {
    const r = await redis
      .multi()
      .hsetnx(resultsKey(run), String(rec.index), JSON.stringify(rec))
      .expire(resultsKey(run), KEEP_SECONDS)
      .publish(eventsChannel(run), JSON.stringify({type: 'done', index: rec.index, worker: id, ok: !rec.error}))
      .exec()
    return r?.[0]?.[1] === 1
  }

  const loadSpec = (d: GradeJobData): Promise<LoadedSpec> => {
    let p = specs.get(d.spec)
    if (!p) {
      p = (async () => {
        const m = await cache.manifest(redis, d.spec)
        const dir = mkdtempSync(join(tmp, 'spec-'))
        await materialize(redis, cache, m, dir)
        return loadGradingSpec(join(dir, d.specFile))
      })()
      specs.set(d.spec, p)
      p.catch(() => specs.delete(d.spec))
    }
    return p
  }

  const process1 = async (job: Job): Promise<string> => {
    const d = job.data as JobData
    const attempt = (job.stalledCounter ?? 0) + (job.attemptsMade ?? 0) + 1
    const tag = `job ${typeof d?.run === 'string' ? d.run : '?'}/${Number.isInteger(d?.index) ? d.index : '?'}`
    const problems = checkJobData(d)
    const base = {index: Number.isInteger(d?.index) ? d.index : -1, jobId: job.id!, worker: id, attempt}
    if (problems.length) {
      log(`${tag}: refused: invalid job (${problems.join('; ')})`)
      if (base.index >= 0 && typeof d?.run === 'string' && /^q/.test(d.run)) await record(d.run, {...base, finishedAt: new Date().toISOString(), error: `refused by worker ${id}: invalid job (${problems[0]})`})
      throw new UnrecoverableError(`invalid job: ${problems.join('; ')}`)
    }
    if (await redis.exists(cancelKey(d.run))) {
      await record(d.run, {...base, finishedAt: new Date().toISOString(), error: 'cancelled before it ran'})
      throw new UnrecoverableError('cancelled')
    }
    running.set(job.id!, {run: d.run, index: d.index, since: Date.now()})
    await redis.publish(eventsChannel(d.run), JSON.stringify({type: 'running', index: d.index, worker: id}))
    const t0 = Date.now()
    const dir = join(d.kind === 'grade' ? area().dir : tmp, `job-${++jobSeq}`)
    mkdirSync(dir, {mode: 0o711})
    const again = attempt > 1 ? ` (delivery ${attempt}: a worker running it before was lost)` : ''
    try {
      let line: string
      const rec: ItemRecord = {...base, finishedAt: ''}
      if (d.kind === 'grade') {
        const spec = await loadSpec(d)
        const m = await cache.manifest(redis, d.submission)
        let path: string
        if (d.shape === 'dir') {
          path = join(dir, d.name)
          mkdirSync(path, {mode: 0o755})
          await materialize(redis, cache, m, path)
        } else {
          if (m.entries.length !== 1 || m.entries[0].type !== 'file' || m.entries[0].path !== d.name) throw new TamperedPayload('invalid payload manifest: an archive submission must be exactly one file of its name')
          await materialize(redis, cache, m, dir)
          path = join(dir, d.name)
        }
        const g = await gradeInBatch(d, spec, path)
        g.result.id = d.id
        rec.grade = g
        line = `${d.id}: ${g.result.score}/${g.result.maxScore} ${g.result.status}${g.result.message ? ` (${g.result.message})` : ''}`
      } else {
        const ws = join(dir, 'ws')
        mkdirSync(ws, {mode: 0o755})
        const m = await cache.manifest(redis, (d as CiJobData).workspace)
        await materialize(redis, cache, m, ws)
        const p = await loadPipelineJob(join(ws, d.file), ws, d.strict)
        const host = allJobs(p.jobs).filter((j) => j.container.network === 'host').map((j) => j.id)
        if (host.length) throw new LabError('queue-refused', `job${host.length > 1 ? 's' : ''} ${host.join(', ')} ask${host.length > 1 ? '' : 's'} for the host's network, which would reach the queue`, {hint: 'queue workers run pipelines with network: none only; run this one locally'})
        const r = await runPipelineJob(p, {jobs: 1})
        r.result.file = d.file
        rec.ci = r
        line = `${p.name}: ${r.result.status}${r.result.failures.length ? ` (${r.result.failures.map((f) => `${f.job} › ${f.step}: ${f.message}`).join('; ')})` : ''}`
      }
      rec.finishedAt = new Date().toISOString()
      rec.workerMs = Date.now() - t0
      const first = await record(d.run, rec)
      completed++
      log(`${tag} ${line} in ${((Date.now() - t0) / 1000).toFixed(1)} s${again}${first ? '' : '; a result was already recorded, this duplicate is dropped'}`)
      return first ? 'recorded' : 'duplicate'
    } catch (e) {
      if (e instanceof UnrecoverableError) throw e
      const err = e instanceof LabError ? e : null
      const refused = err && ['queue-tampered', 'grading-invalid', 'ci-invalid', 'queue-refused', 'pipeline-invalid'].includes(err.code) ? 'refused' : 'failed'
      const msg = err ? err.message : (e as Error)?.message ?? String(e)
      failed++
      await record(d.run, {...base, finishedAt: new Date().toISOString(), error: `${refused} by worker ${id}: ${msg}`})
      log(`${tag}: ${refused}: ${msg}${again}`)
      throw new UnrecoverableError(msg)
    } finally {
      running.delete(job.id!)
      rmSync(dir, {recursive: true, force: true})
    }
  }

  const attach = (queue: string) => {
    if (workers.has(queue) || stopping) return
    // grading jobs are held `prefetch` per slot and batched; CI jobs take a slot each
    const w = new Worker(queue, (job) => ((job.data as JobData)?.kind === 'grade' ? process1(job) : slot(() => process1(job))), {
      ...bullOptions(redis),
      concurrency: concurrency * prefetch,
      lockDuration,
      stalledInterval: lockDuration,
      maxStalledCount: maxDeliveries - 1,
      removeOnComplete: {count: 0},
      removeOnFail: {age: KEEP_SECONDS},
    })
    w.on('error', (e) => log(`queue: ${explain(opts.addr, e).message}`))
    w.on('failed', (job, err) => {
      // a job lost with its worker too many times fails in whichever worker's stall check saw it
      if (!job || !/stalled more than allowable limit/.test(err?.message ?? '')) return
      const d = job.data as JobData
      if (checkJobData(d).length) return
      const why = `lost with its worker ${maxDeliveries} time${maxDeliveries > 1 ? 's' : ''} (a worker running it died or was killed each time); not tried again`
      record(d.run, {index: d.index, jobId: job.id!, worker: id, attempt: maxDeliveries, finishedAt: new Date().toISOString(), error: why}).catch(() => {})
      log(`job ${d.run}/${d.index}: failed: ${why}`)
    })
    workers.set(queue, w)
    log(`worker ${id}: taking jobs from ${queue}`)
  }

  const discover = async () => {
    const names = await redis.smembers(QUEUES_SET)
    for (const q of [BASE_QUEUE, ...names]) if (canServe(labels, q)) attach(q)
  }
  await discover()
  await heartbeat()
  log(`worker ${id}: ${opts.addr.display}, ${concurrency} at once, labels ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')}${opts.addr.hasPassword ? '' : ' (warning: the queue has no password in its URL)'}`)
  const beat = setInterval(() => {
    heartbeat().catch(() => {})
    discover().catch(() => {})
  }, opts.heartbeatMs ?? 5000)

  let resolveDone!: (v: {completed: number; failed: number}) => void
  const done = new Promise<{completed: number; failed: number}>((r) => (resolveDone = r))
  const finish = async (force: boolean) => {
    clearInterval(beat)
    await Promise.all([...workers.values()].map((w) => w.close(force).catch(() => {})))
    try {
      await redis.multi().del(workerKey(id)).srem(WORKERS_SET, id).exec()
    } catch {
      /* the heartbeat key expires on its own */
    }
    redis.disconnect()
    if (scratch) removeScratch(scratch)
    rmSync(tmp, {recursive: true, force: true})
    log(`worker ${id}: stopped (${completed} done, ${failed} failed)`)
    resolveDone({completed, failed})
  }
  return {
    id,
    done,
    stop() {
      stopping++
      if (stopping === 1) {
        log(`worker ${id}: draining: ${running.size} running job${running.size === 1 ? '' : 's'} will finish, no new ones start (again to hand them back)`)
        heartbeat().catch(() => {})
        finish(false).catch(() => {})
      } else if (stopping === 2) {
        log(`worker ${id}: handing running jobs back to the queue`)
        finish(true).catch(() => {})
      }
    },
  }
}
