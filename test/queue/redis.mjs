// A real redis-server for the queue tests: loopback only, a random port, a password,
// append-only persistence in a private directory (so a restart keeps the queue).
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LAB, sleep} from '../helpers.mjs'

export const hasRedis = spawnSync('redis-server', ['--version']).status === 0

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function ping(port, password) {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', password, 'ping'], {encoding: 'utf8'})
  return r.stdout.trim() === 'PONG'
}

export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'lab-qtest-redis-'))
  const port = await freePort()
  const password = `pw-${Math.random().toString(36).slice(2)}`
  const r = {dir, port, password, url: `redis://:${password}@127.0.0.1:${port}/0`, proc: null}
  r.start = async () => {
    r.proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--protected-mode', 'yes'], {stdio: 'ignore'})
    for (let i = 0; i < 100 && !(await ping(port, password)); i++) await sleep(50)
  }
  r.stop = async () => {
    if (!r.proc || r.proc.exitCode !== null) return
    const gone = new Promise((res) => r.proc.once('exit', res))
    r.proc.kill('SIGTERM')
    await gone
  }
  r.cli = (...args) => spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', password, ...args], {encoding: 'utf8'}).stdout.trim()
  r.destroy = async () => {
    await r.stop()
    rmSync(dir, {recursive: true, force: true})
  }
  await r.start()
  return r
}

/** A `lab worker` process with its own state directory; resolves once it takes jobs. */
export async function startWorker(url, {labels = [], extra = [], env = {}} = {}) {
  const state = mkdtempSync(join(tmpdir(), 'lab-qtest-worker-'))
  const proc = spawn(process.execPath, ['--', LAB, 'worker', '--queue', url, '--concurrency', '1', '--lock-duration', '2s', ...labels.flatMap((l) => ['--label', l]), ...extra], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, LAB_STATE_DIR: state, ...env}})
  const w = {proc, state, out: ''}
  proc.stdout.on('data', (d) => (w.out += d))
  proc.stderr.on('data', (d) => (w.out += d))
  w.exited = new Promise((res) => proc.once('exit', (code, signal) => res({code, signal})))
  const end = Date.now() + 20000
  while (!/taking jobs/.test(w.out) && proc.exitCode === null && Date.now() < end) await sleep(50)
  w.id = (/worker (\S+): taking jobs/.exec(w.out) ?? [])[1]
  w.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
    await w.exited
    rmSync(state, {recursive: true, force: true})
  }
  return w
}

export function readJson(p) {
  return JSON.parse(readFileSync(p, 'utf8'))
}

/** A report without what differs between any two runs (times, resources, the engine's run settings). */
export function normalReport(r) {
  const x = structuredClone(r)
  delete x.gradedAt
  delete x.wallMs
  delete x.engine
  for (const s of x.submissions) {
    delete s.wallMs
    delete s.runMs
    delete s.delivery
    if (s.build) delete s.build.wallMs
    for (const t of s.tests) {
      delete t.wallMs
      delete t.cpuMs
      delete t.peakMemoryBytes
    }
  }
  return x
}
