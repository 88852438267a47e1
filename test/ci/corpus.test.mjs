// GitHub Actions workflows as GitHub's hosted runner runs them: each directory of
// test/ci/corpus/ is a repository with workflows and an expect.json naming, per run of
// `lab ci`, the exit code and each job's (and step's) result, outputs, annotations and
// log lines. The steps themselves check their environment from inside the sandbox
// (`test "$PWD" = /tmp`…): a wrong value fails the step, and so the expectation.
import {cpSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'

const CORPUS = fileURLToPath(new URL('./corpus/', import.meta.url))
const t = suite('ci: GitHub Actions corpus')

function check(name, run, r) {
  const where = `${name} ${run.file} ${(run.args ?? []).join(' ')}`
  let json
  try {
    json = JSON.parse(r.stdout)
  } catch {
    assert.unreachable(`${where}: --json printed no JSON:\n${r.stdout}\n${r.stderr}`)
  }
  const summary = JSON.stringify((Array.isArray(json.jobs) ? json.jobs : []).map((j) => ({key: j.key, status: j.status, error: j.error, steps: j.steps.map((s) => `${s.status}${s.reason ? ` (${s.reason})` : ''}`)})), null, 1)
  if (run.exitCode !== undefined) assert.is(r.code, run.exitCode, `${where}: exit code\n${r.stderr}\n${summary}`)
  for (const w of run.warnings ?? []) assert.ok(json.warnings.some((x) => x.includes(w)), `${where}: no warning with "${w}" in ${JSON.stringify(json.warnings)}`)
  if (run.jobKeys) assert.equal(json.jobs.map((j) => j.key).sort(), [...run.jobKeys].sort(), `${where}: job runs`)
  for (const [key, want] of Object.entries(run.jobs ?? {})) {
    assert.ok(Array.isArray(json.jobs), `${where}: no jobs in ${r.stdout.slice(0, 300)}`)
    const job = json.jobs.find((j) => j.key === key)
    assert.ok(job, `${where}: no job run "${key}" in ${json.jobs.map((j) => j.key).join(', ')}`)
    if (want.status) assert.is(job.status, want.status, `${where}: job ${key}\n${summary}`)
    if (want.steps) assert.equal(job.steps.map((s) => s.status), want.steps, `${where}: steps of ${key}\n${summary}`)
    if (want.outputs) assert.equal(job.outputs, want.outputs, `${where}: outputs of ${key}`)
    if (want.reason) assert.ok((job.error ?? '').includes(want.reason), `${where}: why ${key} did not run: ${job.error}`)
    if (want.stepOutputs) for (const [i, o] of Object.entries(want.stepOutputs)) assert.equal(job.steps[i].outputs, o, `${where}: outputs of step ${i} of ${key}`)
    if (want.annotations) {
      const got = job.steps.flatMap((s) => (s.annotations ?? []).map((a) => ({step: s.index, ...a})))
      assert.equal(got, want.annotations, `${where}: annotations of ${key}`)
    }
    for (const l of [want.log ?? []].flat()) {
      const text = readFileSync(job.steps[l.step].log, 'utf8')
      for (const h of l.has ?? []) assert.ok(text.includes(h), `${where}: the log of ${key} step ${l.step} lacks "${h}":\n${text}`)
      for (const h of l.lacks ?? []) assert.not.ok(text.includes(h), `${where}: the log of ${key} step ${l.step} has "${h}":\n${text}`)
    }
  }
  if (run.stdoutHas) for (const h of run.stdoutHas) assert.ok(r.stdout.includes(h), `${where}: stdout lacks "${h}"`)
  if (run.stderrHas) for (const h of run.stderrHas) assert.ok(r.stderr.includes(h), `${where}: stderr lacks "${h}":\n${r.stderr}`)
}

for (const name of readdirSync(CORPUS).sort()) {
  const expect = JSON.parse(readFileSync(join(CORPUS, name, 'expect.json'), 'utf8'))
  rootTest(t, `${name}: ${expect.about ?? 'runs as on GitHub'}`, async () => {
    const repo = mkdtempSync(join(tmpdir(), `labci-${name}-`))
    const state = mkdtempSync(join(tmpdir(), 'labci-state-'))
    try {
      cpSync(join(CORPUS, name), repo, {recursive: true})
      for (const run of expect.runs) {
        const args = ['ci', join(repo, run.file), '--json', '--quiet', ...(run.args ?? []).map((a) => a.replaceAll('$REPO', repo))]
        const env = {...process.env, GITHUB_ACTIONS: '', LAB_STATE_DIR: state, ...(run.env ?? {})}
        const r = await lab(args, {env, cwd: repo, timeout: 90_000})
        check(name, run, r)
      }
    } finally {
      rmSync(repo, {recursive: true, force: true})
      rmSync(state, {recursive: true, force: true})
    }
  })
}

// the example in examples/ci runs as its comments say
rootTest(t, 'examples/ci: the sample GitHub workflow runs, Windows legs skipped, results summarised', async () => {
  const repo = mkdtempSync(join(tmpdir(), 'labci-example-'))
  const state = mkdtempSync(join(tmpdir(), 'labci-state-'))
  try {
    cpSync(fileURLToPath(new URL('../../examples/ci/', import.meta.url)), repo, {recursive: true})
    const r = await lab(['ci', join(repo, '.github/workflows/test.yml'), '--json', '--quiet'], {env: {...process.env, GITHUB_ACTIONS: '', LAB_STATE_DIR: state}, timeout: 90_000})
    check('examples/ci', {file: 'test.yml', exitCode: 0, warnings: ['actions/setup-python@v5'], jobs: {
      'test (os=ubuntu-latest, numbers=1 2 3)': {status: 'success', steps: ['success', 'unsupported', 'success', 'success', 'success', 'success', 'success']},
      'test (os=windows-latest, numbers=40 2)': {status: 'skipped'},
      report: {status: 'success', stepOutputs: {1: {count: '2'}}},
    }}, r)
    const report = JSON.parse(r.stdout).jobs.find((j) => j.key === 'report')
    assert.match(report.steps[1].substeps[0].summary, /## Results\n6\n/)
  } finally {
    rmSync(repo, {recursive: true, force: true})
    rmSync(state, {recursive: true, force: true})
  }
})

t.run()
