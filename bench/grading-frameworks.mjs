#!/usr/bin/env node
// Framework-mode grading benchmark: 30 submissions (LAB_BENCH_SUBMISSIONS) of a 26-test
// pytest exercise graded three ways, one after the other in one run, with the same parallelism:
//   framework  — `lab grade` with one pytest group: one sandbox and one pytest per submission
//   per-test   — `lab grade` with 26 plain tests, each running pytest on one test: 26 sandboxes
//                and 26 interpreters per submission (what a spec had to do before)
//   unsandboxed — python3 -m pytest on a copy of each submission, no sandbox at all
// Goals (issue 24): framework ≥ 10× faster than per-test, within 1.5× of unsandboxed.
// Needs root and python3-pytest. Writes bench/results/grading-frameworks.json.
import {spawn, spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, cpus, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const LAB = join(root, 'bin', 'run.js')
const N = Number(process.env.LAB_BENCH_SUBMISSIONS ?? 30)
const TESTS = 26
const JOBS = availableParallelism()

if (process.getuid?.() !== 0) {
  console.error('bench/grading-frameworks.mjs: needs root (sandboxes are created as the host root)')
  process.exit(1)
}
if (spawnSync('/usr/bin/python3', ['-c', 'import pytest']).status !== 0) {
  console.error('bench/grading-frameworks.mjs: needs pytest for the system python3 (apt-get install -y python3-pytest)')
  process.exit(1)
}

// test_k checks calc.f(k) == k * k + 1; a "partial" submission gets every fifth one wrong
const TEST_FILE = `from calc import f\n\n${Array.from({length: TESTS}, (_, k) => `def test_value_${k}():\n    assert f(${k}) == ${k * k + 1}\n`).join('\n')}`
const GOOD = 'def f(x):\n    return x * x + 1\n'
const PARTIAL = 'def f(x):\n    return x * x + (0 if x % 5 == 0 else 1)\n'

const work = mkdtempSync(join(tmpdir(), 'lab-bench-fw-'))
const result = {date: new Date().toISOString(), cpus: cpus().length, cpuModel: cpus()[0]?.model, jobs: JOBS, submissions: N, testsPerSubmission: TESTS}
const labGrade = (spec, subs) => {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['--', LAB, 'grade', spec, ...subs, '--json', '--jobs', String(JOBS)], {encoding: 'utf8', maxBuffer: 256 << 20})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`lab grade failed (${r.status}): ${r.stderr.slice(0, 2000)}`)
  return {ms, report: JSON.parse(r.stdout)}
}
try {
  const fw = join(work, 'framework')
  mkdirSync(join(fw, 'reference'), {recursive: true})
  writeFileSync(join(fw, 'test_calc.py'), TEST_FILE)
  writeFileSync(join(fw, 'reference', 'calc.py'), GOOD)
  writeFileSync(join(fw, 'grading.yaml'), 'title: calc\ntests:\n  - name: calc\n    framework: pytest\n    files: [test_calc.py]\n    reference: reference\n')
  const per = join(work, 'per-test')
  mkdirSync(per)
  writeFileSync(join(per, 'test_calc.py'), TEST_FILE)
  writeFileSync(
    join(per, 'grading.yaml'),
    `title: calc\nfiles: [test_calc.py]\ntests:\n${Array.from({length: TESTS}, (_, k) => `  - name: value ${k}\n    points: 1\n    run: cp /grader/test_calc.py . && python3 -m pytest -q -p no:cacheprovider test_calc.py::test_value_${k}\n    checks: [{exitCode: 0}]`).join('\n')}\n`,
  )
  const subs = []
  for (let i = 0; i < N; i++) {
    const d = join(work, 'subs', `s${String(i).padStart(3, '0')}`)
    mkdirSync(d, {recursive: true})
    writeFileSync(join(d, 'calc.py'), i % 3 === 2 ? PARTIAL : GOOD)
    subs.push(d)
  }
  const expected = subs.reduce((s, _d, i) => s + (i % 3 === 2 ? TESTS - Math.ceil(TESTS / 5) : TESTS), 0)

  const a = labGrade(join(fw, 'grading.yaml'), subs)
  const scoreA = a.report.submissions.reduce((s, x) => s + x.score, 0)
  if (scoreA !== expected) throw new Error(`framework mode scored ${scoreA}, expected ${expected}`)
  const b = labGrade(join(per, 'grading.yaml'), subs)
  const scoreB = b.report.submissions.reduce((s, x) => s + x.score, 0)
  if (scoreB !== expected) throw new Error(`per-test mode scored ${scoreB}, expected ${expected}`)

  // unsandboxed: the same test file next to a copy of each submission, one pytest each
  const pytestOnce = (dir) =>
    new Promise((resolve, reject) => {
      const c = spawn('/usr/bin/python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test_calc.py'], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']})
      let out = ''
      c.stdout.on('data', (x) => (out += x))
      c.stderr.resume()
      c.on('error', reject)
      c.on('close', () => resolve(Number(/(\d+) passed/.exec(out)?.[1] ?? 0)))
    })
  const u0 = process.hrtime.bigint()
  const queue = subs.map((s, i) => ({s, dir: join(work, 'plain', String(i))}))
  let points = 0
  await Promise.all(
    Array.from({length: JOBS}, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        cpSync(job.s, job.dir, {recursive: true})
        cpSync(join(fw, 'test_calc.py'), join(job.dir, 'test_calc.py'))
        const got = await pytestOnce(job.dir)
        points += got
        rmSync(job.dir, {recursive: true, force: true})
      }
    }),
  )
  const plainMs = Number(process.hrtime.bigint() - u0) / 1e6
  if (points !== expected) throw new Error(`unsandboxed pytest scored ${points}, expected ${expected}`)

  Object.assign(result, {
    framework: {wallMs: Math.round(a.ms), sandboxesPerSubmission: 1},
    perTest: {wallMs: Math.round(b.ms), sandboxesPerSubmission: TESTS},
    unsandboxed: {wallMs: Math.round(plainMs)},
    ratios: {
      perTestOverFramework: Math.round((b.ms / a.ms) * 10) / 10,
      frameworkOverUnsandboxed: Math.round((a.ms / plainMs) * 100) / 100,
      goals: 'perTestOverFramework ≥ 10, frameworkOverUnsandboxed ≤ 1.5',
      note: 'lab wall times include the CLI start and, in framework mode, one run of the reference that lists the tests',
    },
  })
  mkdirSync(join(root, 'bench', 'results'), {recursive: true})
  writeFileSync(join(root, 'bench', 'results', 'grading-frameworks.json'), JSON.stringify(result, null, 2) + '\n')
  console.log(`grading frameworks: ${N} submissions × ${TESTS} pytest tests on ${JOBS} jobs: framework ${result.framework.wallMs} ms, one sandbox per test ${result.perTest.wallMs} ms (×${result.ratios.perTestOverFramework}), unsandboxed pytest ${result.unsandboxed.wallMs} ms (framework ×${result.ratios.frameworkOverUnsandboxed})`)
} finally {
  rmSync(work, {recursive: true, force: true})
}
