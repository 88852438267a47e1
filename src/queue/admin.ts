/** `lab queue status|ls|retry|cancel`: what operators see and do, as data. */
import {Queue} from 'bullmq'
import type {Redis} from 'ioredis'

import {LabError} from '../errors.js'
import {bullOptions, connect, type QueueAddress} from './connection.js'
import type {ItemRecord, RunMeta} from './job.js'
import {cancelKey, eventsChannel, KEEP_SECONDS, QUEUES_SET, BASE_QUEUE, resultsKey, runKey, RUNS_ZSET, workerKey, WORKERS_SET} from './keys.js'
import {loadRun} from './submit.js'

async function withRedis<T>(addr: QueueAddress, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = await connect(addr, {retry: false, name: 'lab-queue'})
  try {
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

export interface WorkerInfo {
  id: string
  host: string
  pid: number
  labels: Record<string, string>
  concurrency: number
  queues: string[]
  running: Array<{run: string; index: number; since: number}>
  completed: number
  failed: number
  draining: boolean
  at: string
}

export interface QueueStatus {
  queue: string
  workers: WorkerInfo[]
  queues: Array<{name: string; waiting: number; active: number; delayed: number; failed: number}>
  runs: number
}

export async function queueStatus(addr: QueueAddress): Promise<QueueStatus> {
  return withRedis(addr, async (redis) => {
    const ids = await redis.smembers(WORKERS_SET)
    const workers: WorkerInfo[] = []
    for (const id of ids.sort()) {
      const raw = await redis.get(workerKey(id))
      // no heartbeat for three periods: the worker is gone
      if (!raw) await redis.srem(WORKERS_SET, id)
      else workers.push(JSON.parse(raw) as WorkerInfo)
    }
    const names = [...new Set([BASE_QUEUE, ...(await redis.smembers(QUEUES_SET))])].sort()
    const queues = []
    for (const name of names) {
      const q = new Queue(name, bullOptions(redis))
      try {
        const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed')
        queues.push({name, waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0})
      } finally {
        await q.close()
      }
    }
    return {queue: addr.display, workers, queues, runs: await redis.zcard(RUNS_ZSET)}
  })
}

export interface RunSummary {
  id: string
  kind: string
  created: string
  queue: string
  total: number
  done: number
  failed: number
  status: 'running' | 'complete' | 'cancelled'
}

export async function listRuns(addr: QueueAddress, limit = 50): Promise<RunSummary[]> {
  return withRedis(addr, async (redis) => {
    const ids = await redis.zrevrange(RUNS_ZSET, 0, limit - 1)
    const out: RunSummary[] = []
    for (const id of ids) {
      const raw = await redis.get(runKey(id))
      if (!raw) {
        await redis.zrem(RUNS_ZSET, id)
        continue
      }
      const meta = JSON.parse(raw) as RunMeta
      const recs = Object.values(await redis.hgetall(resultsKey(id))).map((v) => JSON.parse(v) as ItemRecord)
      const failed = recs.filter((r) => r.error).length
      const cancelled = (await redis.exists(cancelKey(id))) === 1
      out.push({id, kind: meta.kind, created: meta.created, queue: meta.queue, total: meta.items.length, done: recs.length - failed, failed, status: recs.length >= meta.items.length ? 'complete' : cancelled ? 'cancelled' : 'running'})
    }
    return out
  })
}

/** Runs the failed items of a run again: their records are removed and their jobs retried. */
export async function retryRun(addr: QueueAddress, run: string): Promise<{run: string; retried: string[]; skipped: string[]}> {
  return withRedis(addr, async (redis) => {
    const meta = await loadRun(redis, run)
    const q = new Queue(meta.queue, bullOptions(redis))
    const retried: string[] = []
    const skipped: string[] = []
    try {
      await redis.del(cancelKey(run))
      for (const it of meta.items) {
        const raw = await redis.hget(resultsKey(run), String(it.index))
        const rec = raw ? (JSON.parse(raw) as ItemRecord) : null
        if (!rec?.error) continue
        const job = it.jobId ? await q.getJob(it.jobId) : null
        if (!job || (await job.getState()) !== 'failed') {
          skipped.push(`${it.id}: ${rec.error.startsWith('rejected: ') ? 'rejected before it was sent (fix it and submit again)' : rec.error.startsWith('cancelled') ? 'cancelled, and its job removed (submit it again)' : 'its job is gone from the queue (submit it again)'}`)
          continue
        }
        await redis.hdel(resultsKey(run), String(it.index))
        await job.retry('failed')
        retried.push(it.id)
      }
    } finally {
      await q.close()
    }
    return {run, retried, skipped}
  })
}

/** Stops a run: jobs not started yet are removed and recorded as cancelled; running ones finish. */
export async function cancelRun(addr: QueueAddress, run: string): Promise<{run: string; cancelled: number; running: number}> {
  return withRedis(addr, async (redis) => {
    const meta = await loadRun(redis, run)
    await redis.set(cancelKey(run), '1', 'EX', KEEP_SECONDS)
    const q = new Queue(meta.queue, bullOptions(redis))
    let cancelled = 0
    let running = 0
    try {
      for (const it of meta.items) {
        if (!it.jobId || (await redis.hexists(resultsKey(run), String(it.index)))) continue
        const job = await q.getJob(it.jobId)
        const state = job ? await job.getState() : 'unknown'
        if (state === 'active') {
          running++
          continue
        }
        if (job && state !== 'failed' && state !== 'completed') await job.remove().catch(() => {})
        const rec: ItemRecord = {index: it.index, jobId: it.jobId, worker: 'operator', attempt: 0, finishedAt: new Date().toISOString(), error: 'cancelled before it ran'}
        if (await redis.hsetnx(resultsKey(run), String(it.index), JSON.stringify(rec))) cancelled++
        await redis.publish(eventsChannel(run), JSON.stringify({type: 'done', index: it.index, worker: 'operator'}))
      }
    } finally {
      await q.close()
    }
    return {run, cancelled, running}
  })
}

export function needRun(run: string | undefined): string {
  if (!run) throw new LabError('usage', 'no run given', {hint: '`lab queue ls` lists the runs'})
  return run
}
