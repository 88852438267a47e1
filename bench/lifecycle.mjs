#!/usr/bin/env node
// Lifecycle benchmark: supervisor memory per running detached sandbox (target ≤ 2 MiB
// RSS) and the restart back-off schedule as measured from the supervisor's own events.
// Needs root. Writes bench/results/lifecycle.json.
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const LAB = join(root, 'bin', 'run.js')
const state = mkdtempSync(join(tmpdir(), 'lab-bench-lc-'))
const env = {...process.env, LAB_STATE_DIR: state}
const lab = (...args) => execFileSync(process.execPath, ['--', LAB, ...args], {env, encoding: 'utf8'}).trim()
const kib = (pid, field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const N = Number(process.env.LAB_BENCH_SANDBOXES ?? 10)
const result = {date: new Date().toISOString(), sandboxes: N}
try {
  // --- supervisor RSS per running sandbox
  const ids = []
  for (let i = 0; i < N; i++) ids.push(lab('sandbox', 'run', '-d', '--', 'sleep', '600'))
  await sleep(500)
  const sup = ids.map((id) => JSON.parse(lab('sandbox', 'inspect', '--json', id))[0].State.SupervisorPid)
  const rss = sup.map((p) => kib(p, 'VmRSS'))
  // private memory (what one more sandbox really costs): RSS minus the shared pages of libc
  const priv = sup.map((p) => {
    const r = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8')
    return ['Private_Clean', 'Private_Dirty'].reduce((s, f) => s + Number(new RegExp(`^${f}:\\s+(\\d+)`, 'm').exec(r)?.[1] ?? 0), 0)
  })
  result.supervisorRssKiB = {max: Math.max(...rss), mean: Math.round(rss.reduce((a, b) => a + b, 0) / rss.length), samples: rss}
  result.supervisorPrivateKiB = {max: Math.max(...priv), mean: Math.round(priv.reduce((a, b) => a + b, 0) / priv.length)}
  result.rssTargetKiB = 2048
  result.rssWithinTarget = result.supervisorRssKiB.max <= 2048
  lab('sandbox', 'rm', '-f', ...ids)

  // --- restart back-off: on-failure:6, a program that fails at once
  const id = lab('sandbox', 'run', '-d', '--restart', 'on-failure:6', '--', 'sh', '-c', 'exit 1')
  for (let i = 0; i < 200; i++) {
    if (JSON.parse(lab('sandbox', 'inspect', '--json', id))[0].State.Status === 'exited') break
    await sleep(100)
  }
  const events = readFileSync(join(state, 'run', 'sandboxes', id, 'events'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const delays = []
  let lastExit = null
  for (const e of events) {
    if (e.event === 'exit') lastExit = e.at
    if (e.event === 'started' && e.at !== undefined && lastExit !== null) delays.push(e.at - lastExit)
  }
  result.restartBackoffMs = {expected: [100, 200, 400, 800, 1600, 3200], measured: delays}
  lab('sandbox', 'rm', '-f', id)
} finally {
  try {
    lab('system', 'prune', '-f', '--volumes')
  } catch {}
  rmSync(state, {recursive: true, force: true})
}
mkdirSync(join(root, 'bench', 'results'), {recursive: true})
writeFileSync(join(root, 'bench', 'results', 'lifecycle.json'), JSON.stringify(result, null, 2) + '\n')
console.log(JSON.stringify(result, null, 2))
