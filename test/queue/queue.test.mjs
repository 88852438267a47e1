// Grading and CI through `lab worker` processes over a real redis-server (loopback, a
// random port, a password): the reports must be those of a local run, and every fault
// the queue promises to survive is caused for real — a worker SIGKILLed mid-job, a
// submitting CLI SIGKILLed, Redis restarted, a job that keeps killing its worker, a
// wrong password, a tampered payload.
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, isRoot, sleep, spawnLab, waitFor} from '../helpers.mjs'
import {hasRedis, normalReport, readJson, startRedis, startWorker} from './redis.mjs'

const t = suite('queue: workers over BullMQ and Redis')
const EX = join(ROOT, 'examples', 'grading')
const SUBS = ['correct', 'partial', 'wrong'].map((s) => join(EX, 'submissions', s))
let redis
let base
const workers = []

// a test that runs a few seconds, so a fault can land while it runs
const SLOW_SPEC = `title: slow
tests:
  - name: slow
    points: 1
    run: sleep 2; echo finished
    limits: {time: 30s}
    checks:
      - stdout: {contains: finished}
`

function slowSpec(name) {
  const dir = join(base, name)
  mkdirSync(join(dir, 'subs', 'alice'), {recursive: true})
  writeFileSync(join(dir, 'grading.yaml'), SLOW_SPEC)
  writeFileSync(join(dir, 'subs', 'alice', 'answer.txt'), 'hello\n')
  return {spec: join(dir, 'grading.yaml'), sub: join(dir, 'subs', 'alice')}
}

const activeIn = (queue) => Number(redis.cli('llen', `lab:bull:${queue}:active`))
/** how many times BullMQ's stall check has handed a run's first job back to the queue */
const stalls = (run, queue) => Number(redis.cli('hget', `lab:bull:${queue}:${JSON.parse(redis.cli('get', `lab:run:${run}`)).items[0].jobId}`, 'stc') || 0)
const runIdOf = (text) => (/\b(q\d{8}-\d{6}-[0-9a-f]{6})\b/.exec(text) ?? [])[1]
const env = (extra = {}) => ({...process.env, LAB_STATE_DIR: join(base, 'cli-state'), ...extra})

function queueTest(name, fn) {
  if (!isRoot) t.skip(`${name} [skipped: needs root to create namespaces as the host's root]`, fn)
  else if (!hasRedis) t.skip(`${name} [skipped: redis-server is not installed: apt-get install redis-server]`, fn)
  else t(name, fn)
}

t.before(async () => {
  base = mkdtempSync(join(tmpdir(), 'lab-qtest-'))
  if (isRoot && hasRedis) redis = await startRedis()
})

t.after(async () => {
  for (const w of workers) await w.stop().catch(() => {})
  await redis?.destroy()
  rmSync(base, {recursive: true, force: true})
})

queueTest('a wrong password: the worker ends at once with one line that says so', async () => {
  const w = await startWorker(redis.url.replace(redis.password, 'not-the-password'))
  const {code} = await w.exited
  rmSync(w.state, {recursive: true, force: true})
  assert.is.not(code, 0)
  assert.match(w.out, /refused the credentials/)
  assert.not.match(w.out, /not-the-password/, 'the password is never printed')
  assert.ok(w.out.trim().split('\n').length <= 2, w.out)
})

queueTest('the worked grading example through three workers: the reports of a local run', async () => {
  for (let i = 0; i < 3; i++) workers.push(await startWorker(redis.url))
  assert.ok(workers.every((w) => w.id), workers.map((w) => w.out).join('\n'))
  const outQ = join(base, 'out-queue')
  const outL = join(base, 'out-local')
  const [q, l] = await Promise.all([
    lab(['grade', join(EX, 'grading.yaml'), ...SUBS, '--queue', redis.url, '--out', outQ], {env: env(), timeout: 120_000}),
    lab(['grade', join(EX, 'grading.yaml'), ...SUBS, '--jobs', '1', '--out', outL], {env: env(), timeout: 120_000}),
  ])
  assert.is(q.code, 0, q.stderr)
  assert.is(l.code, 0, l.stderr)
  assert.equal(normalReport(readJson(join(outQ, 'report.json'))), normalReport(readJson(join(outL, 'report.json'))))
  for (const f of ['gradebook.csv', 'results.tap', 'exercism/partial/results.json', 'exercism/wrong/results.json']) {
    assert.is(readFileSync(join(outQ, f), 'utf8'), readFileSync(join(outL, f), 'utf8'), f)
  }
  // Gradescope's file has the run time in whole seconds: all else is the same
  const gs = (dir) => ({...readJson(join(dir, 'gradescope/correct/results.json')), execution_time: 0})
  assert.equal(gs(outQ), gs(outL))
  assert.match(q.stderr, /graded correct 10\/10 graded worker=/)
  const r = readJson(join(outQ, 'report.json'))
  assert.is(r.engine.queue.payload.files > 0, true)
  // the spec's files travelled once for the three submissions
  const ran = workers.map((w) => (w.out.match(/job q\S+ (correct|partial|wrong):/g) ?? []).length)
  assert.is(ran.reduce((a, b) => a + b, 0), 3, workers.map((w) => w.out).join('\n'))
})

queueTest('a CI pipeline through the workers: the same jobs, steps and verdicts as a local run; ci logs RUN', async () => {
  const pipeline = join(ROOT, 'examples', 'ci', '.lab', 'ci.yml')
  const q = await lab(['ci', pipeline, '--queue', redis.url, '--json'], {env: env(), timeout: 180_000})
  const l = await lab(['ci', pipeline, '--json', '--jobs', '1'], {env: env(), timeout: 180_000})
  assert.is(q.code, 0, q.stderr)
  assert.is(l.code, 0, l.stderr)
  const shape = (r) => ({status: r.status, exitCode: r.exitCode, failures: r.failures, jobs: r.jobs.map((j) => ({key: j.key, status: j.status, steps: j.steps.map((s) => [s.name, s.status, s.verdict, s.exitCode])}))})
  const rq = JSON.parse(q.stdout)
  assert.equal(shape(rq), shape(JSON.parse(l.stdout)))
  const logs = await lab(['ci', 'logs', rq.runId, '--queue', redis.url, '--job', 'test'], {env: env()})
  assert.is(logs.code, 0, logs.stderr)
  assert.match(logs.stdout, /\[test-numbers-40-2[^\]]*\] .*42/, 'the step output of a matrix job, as a local run logs it')
})

queueTest('a worker SIGKILLed mid-job: another takes the job over after the stall check, and the report says it was retried', async () => {
  for (const w of workers.splice(0)) await w.stop()
  const {spec, sub} = slowSpec('kill')
  const first = await startWorker(redis.url, {labels: ['fault=kill']})
  const sent = await lab(['grade', spec, sub, '--queue', redis.url, '--require', 'fault=kill', '--detach'], {env: env()})
  assert.is(sent.code, 0, sent.stderr)
  const run = runIdOf(sent.stdout)
  assert.ok(run, sent.stdout)
  assert.ok(await waitFor(() => activeIn('runs@fault=kill') === 1, 20000), 'the job started')
  first.proc.kill('SIGKILL')
  await first.exited
  const second = await startWorker(redis.url, {labels: ['fault=kill']})
  workers.push(second)
  const r = await lab(['grade', '--attach', run, '--queue', redis.url, '--json'], {env: env(), timeout: 60_000})
  assert.is(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout).submissions[0]
  assert.is(s.score, 1, JSON.stringify(s))
  assert.is(s.delivery.retried, true)
  assert.is(s.delivery.attempt, 2)
  assert.match(second.out, /delivery 2: a worker running it before was lost/)
  rmSync(first.state, {recursive: true, force: true})
})

queueTest('the submitting CLI SIGKILLed: the run goes on and --attach collects every result once', async () => {
  const {spec, sub} = slowSpec('cli')
  const cli = spawnLab(['grade', spec, sub, join(EX, 'submissions', 'correct'), '--queue', redis.url, '--require', 'fault=kill'], {env: env()})
  let err = ''
  cli.stderr.on('data', (d) => (err += d))
  assert.ok(await waitFor(() => runIdOf(err), 20000), err)
  cli.kill('SIGKILL')
  const run = runIdOf(err)
  const r = await lab(['grade', '--attach', run, '--queue', redis.url, '--format', 'csv'], {env: env(), timeout: 90_000})
  assert.is(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.is(lines.length, 3, r.stdout)
  assert.match(lines[1], /^alice,graded,1,1,100,/)
  assert.match(lines[2], /^correct,graded,1,1,100,/, 'graded against the slow spec too')
  const again = await lab(['queue', 'ls', '--queue', redis.url, '--json'], {env: env()})
  const mine = JSON.parse(again.stdout).find((x) => x.id === run)
  assert.equal([mine.total, mine.done, mine.failed, mine.status], [2, 2, 0, 'complete'], 'each result recorded once')
})

queueTest('Redis restarted mid-run (append-only persistence): the run continues and completes', async () => {
  const {spec, sub} = slowSpec('restart')
  const sent = await lab(['grade', spec, sub, '--queue', redis.url, '--require', 'fault=kill', '--detach'], {env: env()})
  const run = runIdOf(sent.stdout)
  assert.ok(await waitFor(() => activeIn('runs@fault=kill') === 1, 20000), 'the job started')
  await redis.stop()
  await sleep(500)
  await redis.start()
  const r = await lab(['grade', '--attach', run, '--queue', redis.url, '--json'], {env: env(), timeout: 90_000})
  assert.is(r.code, 0, r.stderr)
  assert.is(JSON.parse(r.stdout).submissions[0].score, 1)
})

queueTest('a job that kills its worker every time fails with that reason after --max-deliveries, and the batch ends', async () => {
  for (const w of workers.splice(0)) await w.stop()
  const {spec, sub} = slowSpec('poison')
  const opts = {labels: ['fault=poison'], extra: ['--max-deliveries', '2']}
  const sent = await lab(['grade', spec, sub, '--queue', redis.url, '--require', 'fault=poison', '--detach'], {env: env()})
  const run = runIdOf(sent.stdout)
  for (let i = 0; i < 2; i++) {
    const w = await startWorker(redis.url, opts)
    // delivery i+1 has started once the job was handed back i times and is active again
    assert.ok(await waitFor(() => stalls(run, 'runs@fault=poison') === i && activeIn('runs@fault=poison') === 1, 30000, 100), `delivery ${i + 1} started`)
    w.proc.kill('SIGKILL')
    await w.exited
    rmSync(w.state, {recursive: true, force: true})
  }
  const last = await startWorker(redis.url, opts)
  workers.push(last)
  const r = await lab(['grade', '--attach', run, '--queue', redis.url, '--json'], {env: env(), timeout: 60_000})
  assert.is(r.code, 1, 'grading failed for that submission')
  const s = JSON.parse(r.stdout).submissions[0]
  assert.is(s.status, 'error')
  assert.match(s.message, /lost with its worker 2 times/)
  assert.match(r.stderr, /grading failed for 1 submission/)
})

queueTest('a tampered payload: the worker re-hashes it, refuses the job, and says why', async () => {
  const {spec, sub} = slowSpec('tamper')
  // no worker serves fault=tamper yet: the payload can be changed before anyone reads it
  const sent = await lab(['grade', spec, sub, '--queue', redis.url, '--require', 'fault=tamper', '--detach'], {env: env()})
  const run = runIdOf(sent.stdout)
  const meta = JSON.parse(redis.cli('get', `lab:run:${run}`))
  const data = JSON.parse(redis.cli('hget', `lab:bull:runs@fault=tamper:${meta.items[0].jobId}`, 'data'))
  assert.is(redis.cli('set', `lab:blob:${data.submission}`, '{"format":"lab-payload","version":1,"entries":[],"bytes":0}'), 'OK')
  const w = await startWorker(redis.url, {labels: ['fault=tamper']})
  workers.push(w)
  const r = await lab(['grade', '--attach', run, '--queue', redis.url, '--json'], {env: env(), timeout: 60_000})
  const s = JSON.parse(r.stdout).submissions[0]
  assert.is(s.status, 'error')
  assert.match(s.message, /refused by worker .*has the hash/)
  assert.match(w.out, /refused: blob [0-9a-f]{12}… has the hash/)
})

queueTest('queue status and ls: workers by heartbeat, runs with their progress, as JSON', async () => {
  const st = await lab(['queue', 'status', '--queue', redis.url, '--json'], {env: env()})
  assert.is(st.code, 0, st.stderr)
  const s = JSON.parse(st.stdout)
  assert.ok(s.workers.length >= 1)
  assert.ok(s.workers.every((w) => w.labels.arch && w.labels.cgroup))
  assert.ok(s.queues.some((q) => q.name === 'runs'))
  const ls = await lab(['queue', 'ls', '--queue', redis.url], {env: env()})
  assert.match(ls.stdout, /^q\d{8}-\d{6}-[0-9a-f]{6}\tgrade\tcomplete\t/m)
  const bad = await lab(['grade', '--attach', 'nope', '--queue', redis.url], {env: env()})
  assert.is(bad.code, 125)
  assert.match(bad.stderr, /^lab: "nope" is not a queue run id \(/)
})

t.run()
