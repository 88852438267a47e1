#!/usr/bin/env node
// Queue benchmark, against its peer in the same session (a local `lab grade`):
//   1. latency: enqueue → recorded result of one `/bin/true` test through one idle
//      worker, sequentially (LAB_BENCH_QUEUE_ROUNDS, default 40), by a long-lived
//      submitter that keeps its connections (QueueClient; the one-shot CLI's connection
//      set-up is reported beside it); the queue's share is
//      that time minus the worker's own time (taking the job to recording its result):
//      payload upload, enqueue, delivery, the result's way back, the client's connections
//   2. throughput: 400 trivial submissions (LAB_BENCH_SUBMISSIONS) through 2 workers
//      (one sandbox at a time each) vs local `lab grade --jobs 2`, both end to end
//      through the CLI; target ≥ 0.85× of the local rate
// A redis-server is started on loopback with a random port and a password. Needs root.
import {spawn, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {report, ROOT} from './lib.mjs'

const LAB = join(ROOT, 'bin', 'run.js')
const ROUNDS = Number(process.env.LAB_BENCH_QUEUE_ROUNDS ?? 40)
const N = Number(process.env.LAB_BENCH_SUBMISSIONS ?? 400)
if (process.getuid?.() !== 0) {
  console.error('bench/queue.mjs: needs root (sandboxes are created as the host root)')
  process.exit(1)
}
if (spawnSync('redis-server', ['--version']).status !== 0) {
  console.error('bench/queue.mjs: needs redis-server (apt-get install redis-server)')
  process.exit(1)
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port
    s.close(() => res(p))
  })
})
const work = mkdtempSync(join(tmpdir(), 'lab-bench-queue-'))
const password = `pw${Math.random().toString(36).slice(2)}`
const url = `redis://:${password}@127.0.0.1:${port}/0`
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--dir', work, '--save', '', '--appendonly', 'no'], {stdio: 'ignore'})
const workers = []
const startWorker = async () => {
  const state = mkdtempSync(join(work, 'w-'))
  const p = spawn(process.execPath, ['--', LAB, 'worker', '--queue', url, '--concurrency', '1'], {stdio: ['ignore', 'pipe', 'inherit'], env: {...process.env, LAB_STATE_DIR: state}})
  let out = ''
  p.stdout.on('data', (d) => (out += d))
  workers.push(p)
  while (!/taking jobs/.test(out) && p.exitCode === null) await sleep(50)
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

try {
  for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(port), '--no-auth-warning', '-a', password, 'ping'], {encoding: 'utf8'}).stdout.trim() !== 'PONG'; i++) await sleep(50)
  process.env.LAB_STATE_DIR = join(work, 'cli')
  const {loadGradingSpec} = await import(join(ROOT, 'dist', 'grading', 'load.js'))
  const {submitGrade, collect, QueueClient} = await import(join(ROOT, 'dist', 'queue', 'submit.js'))
  const {parseQueueUrl} = await import(join(ROOT, 'dist', 'queue', 'connection.js'))
  const addr = parseQueueUrl(url)

  // --- 1. latency of one /bin/true test through one idle worker
  mkdirSync(join(work, 'true', 'subs', 's'), {recursive: true})
  writeFileSync(join(work, 'true', 'grading.yaml'), 'title: bin-true\ntests:\n  - name: bin-true\n    points: 1\n    run: /bin/true\n    checks:\n      - exitCode: 0\n')
  writeFileSync(join(work, 'true', 'subs', 's', 'x'), 'x\n')
  await startWorker()
  const spec = await loadGradingSpec(join(work, 'true', 'grading.yaml'))
  const total = []
  const queueShare = []
  const oneShotShare = []
  const client = await QueueClient.open(addr)
  try {
    for (let i = 0; i < 2 * ROUNDS + 5; i++) {
      // every other round opens its connections as the one-shot CLI does
      const kept = i % 2 === 0
      const t0 = performance.now()
      const meta = await submitGrade(spec, [join(work, 'true', 'subs', 's')], {addr, client: kept ? client : undefined})
      const {records} = await collect(addr, meta.id, {pollMs: 1000, client: kept ? client : undefined})
      const ms = performance.now() - t0
      if (records[0].grade?.result.score !== 1) throw new Error(`the /bin/true test did not pass: ${JSON.stringify(records[0]).slice(0, 500)}`)
      if (i < 5) continue // warm-up: the worker's caches, V8
      if (kept) {
        total.push(ms)
        queueShare.push(ms - records[0].workerMs)
      } else oneShotShare.push(ms - records[0].workerMs)
    }
  } finally {
    await client.close()
  }

  // --- 2. throughput: N trivial submissions, 2 workers vs local --jobs 2
  const dir = join(work, 'many')
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'grading.yaml'), 'title: many\nlimits: {time: 5s, memory: 64m, pids: 16, output: 64k}\ntests:\n  - name: prints the answer\n    points: 1\n    run: sh main.sh\n    checks:\n      - stdout: {equals: "42"}\n')
  const subs = []
  for (let i = 0; i < N; i++) {
    const d = join(dir, 'subs', `s${String(i).padStart(4, '0')}`)
    mkdirSync(d, {recursive: true})
    writeFileSync(join(d, 'main.sh'), 'echo 42\n')
    subs.push(d)
  }
  await startWorker()
  const timed = (args) => {
    const t0 = performance.now()
    const r = spawnSync(process.execPath, ['--', LAB, 'grade', join(dir, 'grading.yaml'), ...subs, '--format', 'csv', ...args], {encoding: 'utf8', maxBuffer: 64 << 20, env: process.env})
    const s = (performance.now() - t0) / 1000
    if (r.status !== 0) throw new Error(`lab grade ${args.join(' ')} failed: ${r.stderr.slice(0, 1000)}`)
    const full = r.stdout.split('\n').filter((l) => /,graded,1,1,100,/.test(l)).length
    if (full !== N) throw new Error(`lab grade ${args.join(' ')}: ${full} of ${N} submissions got full marks`)
    return s
  }
  const localS = timed(['--jobs', '2'])
  const queueS = timed(['--queue', url])
  const throughput = localS / queueS
  report(
    'queue',
    {'enqueue → result, /bin/true (median)': median(total) / 1000, 'of which the queue (median)': median(queueShare) / 1000, 'the queue, connections opened per run (median)': median(oneShotShare) / 1000, [`local lab grade --jobs 2, ${N} submissions`]: localS, [`2 workers, ${N} submissions`]: queueS},
    [
      {what: 'queue share, ms per job', ratio: median(queueShare), target: 10},
      {what: 'enqueue → result, ms', ratio: median(total)},
      {what: 'queue share with connections opened per run (the CLI), ms', ratio: median(oneShotShare)},
      {what: 'local time / queue time', ratio: throughput},
    ],
    {rounds: ROUNDS, submissions: N, latencyMs: {median: median(total), queueShareMedian: median(queueShare), oneShotQueueShareMedian: median(oneShotShare), all: total}, throughput: {localSeconds: localS, queueSeconds: queueS, ratio: throughput, target: '≥ 0.85'}},
  )
  console.log(`  throughput ratio ${throughput.toFixed(2)}× (target ≥ 0.85: ${throughput >= 0.85 ? 'met' : 'MISSED'})`)
} finally {
  for (const w of workers) w.kill('SIGTERM')
  await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode === null ? w.once('exit', r) : r()))))
  redis.kill('SIGTERM')
  await new Promise((r) => redis.once('exit', r))
  rmSync(work, {recursive: true, force: true})
}
