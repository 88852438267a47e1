#!/usr/bin/env node
// Grading benchmark: N trivial submissions (default 200; LAB_BENCH_SUBMISSIONS) graded end
// to end by `lab grade` — unpack, a fresh sandbox per test (strict seccomp, no network,
// remapped ids, cgroup limits), checks, every report — against running the very same
// tests without any sandbox (a copy of the submission, `sh -c`, the same comparisons)
// with the same parallelism. Needs root. Writes bench/results/grading.json.
import {spawn, spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, cpus, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const LAB = join(root, 'bin', 'run.js')
const N = Number(process.env.LAB_BENCH_SUBMISSIONS ?? 200)
const JOBS = availableParallelism()

if (process.getuid?.() !== 0) {
  console.error('bench/grading.mjs: needs root (sandboxes are created as the host root)')
  process.exit(1)
}

// two tests per submission: what an autograder for a first exercise looks like
const TESTS = [
  {name: 'prints the answer', run: 'sh main.sh', expect: '42'},
  {name: 'doubles its input', run: 'sh main.sh double', input: '21\n', expect: '42'},
]
const SPEC = `title: bench
limits: {time: 5s, memory: 64m, pids: 16, output: 64k}
tests:
${TESTS.map((t) => `  - name: ${t.name}\n    points: 1\n    run: ${t.run}\n${t.input ? `    stdin: ${JSON.stringify(t.input)}\n` : ''}    checks:\n      - stdout: {equals: "${t.expect}"}\n      - exitCode: 0`).join('\n')}
`
const GOOD = 'if [ "$1" = double ]; then read n; echo $((n * 2)); else echo 42; fi\n'
const BAD = 'if [ "$1" = double ]; then read n; echo $((n + 2)); else echo 42; fi\n'

const work = mkdtempSync(join(tmpdir(), 'lab-bench-grade-'))
const result = {date: new Date().toISOString(), cpus: cpus().length, cpuModel: cpus()[0]?.model, jobs: JOBS, submissions: N, testsPerSubmission: TESTS.length}
try {
  writeFileSync(join(work, 'grading.yaml'), SPEC)
  const subs = []
  for (let i = 0; i < N; i++) {
    const d = join(work, 'subs', `s${String(i).padStart(4, '0')}`)
    mkdirSync(d, {recursive: true})
    writeFileSync(join(d, 'main.sh'), i % 4 === 3 ? BAD : GOOD)
    subs.push(d)
  }

  // --- sandboxed, end to end through the CLI (process start included), reports written
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['--', LAB, 'grade', join(work, 'grading.yaml'), ...subs, '--json', '--out', join(work, 'reports'), '--jobs', String(JOBS)], {encoding: 'utf8', maxBuffer: 256 << 20})
  const labMs = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`lab grade failed (${r.status}): ${r.stderr.slice(0, 2000)}`)
  const report = JSON.parse(r.stdout)
  const expected = subs.length * 2 - Math.floor((N + 1) / 4)
  const total = report.submissions.reduce((s, x) => s + x.score, 0)
  if (total !== expected) throw new Error(`scores are wrong: ${total} points, expected ${expected}`)

  // --- the same tests with no sandbox: copy, sh -c, compare; the same parallelism
  const runOne = (dir, t) =>
    new Promise((resolve, reject) => {
      const c = spawn('sh', ['-c', t.run], {cwd: dir, stdio: ['pipe', 'pipe', 'pipe']})
      let out = ''
      c.stdout.on('data', (b) => (out += b))
      c.stderr.resume()
      c.on('error', reject)
      c.on('close', (code) => resolve(code === 0 && out.trim() === t.expect ? 1 : 0))
      c.stdin.on('error', () => {}) // a test that does not read its input
      c.stdin.end(t.input ?? '')
    })
  const u0 = process.hrtime.bigint()
  const queue = subs.flatMap((s, i) => TESTS.map((t, j) => ({s, t, dir: join(work, 'plain', `${i}-${j}`)})))
  let points = 0
  await Promise.all(
    Array.from({length: JOBS}, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        cpSync(job.s, job.dir, {recursive: true})
        const got = await runOne(job.dir, job.t) // awaited first: `points += await` would lose updates
        points += got
        rmSync(job.dir, {recursive: true, force: true})
      }
    }),
  )
  const plainMs = Number(process.hrtime.bigint() - u0) / 1e6
  if (points !== expected) throw new Error(`unsandboxed scores are wrong: ${points}`)

  const runs = N * TESTS.length
  const tests = report.submissions.flatMap((s) => s.tests)
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length
  Object.assign(result, {
    lab: {
      wallMs: Math.round(labMs),
      gradingMs: report.wallMs,
      submissionsPerSecond: Math.round((N / (labMs / 1000)) * 10) / 10,
      runsPerSecond: Math.round((runs / (labMs / 1000)) * 10) / 10,
      meanTestWallMs: Math.round(mean(tests.map((x) => x.wallMs)) * 10) / 10,
      reruns: report.summary.reruns,
    },
    unsandboxed: {wallMs: Math.round(plainMs), submissionsPerSecond: Math.round((N / (plainMs / 1000)) * 10) / 10},
    overhead: {
      ratio: Math.round((labMs / plainMs) * 100) / 100,
      perRunMs: Math.round(((labMs - plainMs) * JOBS) / runs * 10) / 10,
      note: 'per-run overhead = (lab wall − unsandboxed wall) × jobs / runs: the extra core time one sandboxed test costs',
    },
  })
  mkdirSync(join(root, 'bench', 'results'), {recursive: true})
  writeFileSync(join(root, 'bench', 'results', 'grading.json'), JSON.stringify(result, null, 2) + '\n')
  console.log(`grading: ${N} submissions × ${TESTS.length} tests on ${JOBS} jobs: lab ${result.lab.wallMs} ms (${result.lab.submissionsPerSecond} submissions/s), unsandboxed ${result.unsandboxed.wallMs} ms; overhead ×${result.overhead.ratio}, ~${result.overhead.perRunMs} ms of core time per sandboxed test`)
} finally {
  rmSync(work, {recursive: true, force: true})
}
