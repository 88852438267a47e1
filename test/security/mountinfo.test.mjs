// Information leaks inside sandboxes: /proc/self/mountinfo names the source of every
// mount, so a bind of lab's scratch directory (a CI job's workspace copy, RUNNER_TEMP, a
// graded submission's copy, the grader's files) or an overlay layer in lab's state
// directory told the sandbox where lab keeps its files on the host. Defence: those
// directories are mounted as overlay layers named on the sandbox's own scratch root,
// and the /etc overlay's layer is named relatively ("."). Checked from inside.
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'

const t = suite('security: mountinfo inside sandboxes')
let base, state

t.before.each(() => {
  base = mkdtempSync(join(tmpdir(), 'lab-mountinfo-'))
  state = mkdtempSync(join(tmpdir(), 'lab-mountinfo-state-'))
})
t.after.each(() => {
  rmSync(base, {recursive: true, force: true})
  rmSync(state, {recursive: true, force: true})
})

/** Every host path of lab's that the mount table must not show. */
function assertNoHostPath(mountinfo, what) {
  assert.ok(mountinfo.split('\n').length > 5, `${what}: no mount table read:\n${mountinfo}`)
  for (const needle of [tmpdir() + '/lab-', base, state, '/run/lab', '/var/lib/lab', '/oldroot']) {
    const line = mountinfo.split('\n').find((l) => l.includes(needle))
    assert.not.ok(line, `${what}: ${needle} shows in /proc/self/mountinfo: ${line}`)
  }
}

rootTest(t, 'attack: a CI step reads /proc/self/mountinfo for the host path of its workspace copy, RUNNER_TEMP and a read-only cache — defence: hidden binds', async () => {
  const repo = join(base, 'repo')
  mkdirSync(join(repo, '.lab'), {recursive: true})
  writeFileSync(join(repo, '.lab/ci.yml'), `
jobs:
  peek:
    cache: {key: tools, paths: [tools], mode: read-only}
    steps:
      - run: (mkdir -p tools && echo t > tools/t) 2>/dev/null || true; cat /proc/self/mountinfo
      - run: echo kept > f && mkdir d && mv d d2 && echo x > "$RUNNER_TEMP/t"
      - run: cat f && test -d d2 && cat "$RUNNER_TEMP/t"
`)
  // twice: the second run binds the saved cache read-only over tools/
  await lab(['ci', join(repo, '.lab/ci.yml'), '--json'], {env: {...process.env, GITHUB_ACTIONS: '', LAB_STATE_DIR: state}, timeout: 60_000})
  const r = await lab(['ci', join(repo, '.lab/ci.yml'), '--json'], {env: {...process.env, GITHUB_ACTIONS: '', LAB_STATE_DIR: state}, timeout: 60_000})
  assert.is(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout).jobs[0]
  const mi = readFileSync(j.steps[0].log, 'utf8').split('\n').map((l) => l.slice(l.indexOf('\t') + 1)).join('\n')
  assert.match(mi, / \/workspace /)
  assert.match(mi, / \/workspace\/tools ro,/)
  assertNoHostPath(mi, 'ci step')
  // the workspace still behaves as a directory shared by the job's steps
  assert.match(readFileSync(j.steps[2].log, 'utf8'), /kept[\s\S]*x/)
})

rootTest(t, 'attack: a graded submission reads /proc/self/mountinfo for its copy\'s and the grader\'s host paths — defence: hidden binds', async () => {
  const spec = join(base, 'grading.yaml')
  writeFileSync(join(base, 'data.txt'), 'grader data\n')
  writeFileSync(spec, `title: mountinfo
files: [data.txt]
tests:
  - name: peek
    points: 1
    run: cat /proc/self/mountinfo; cat /grader/data.txt; echo out > out.txt
    checks:
      - file: {path: out.txt, equals: "out"}
`)
  mkdirSync(join(base, 'sub'))
  writeFileSync(join(base, 'sub', 'main.sh'), 'true\n')
  const r = await lab(['grade', spec, join(base, 'sub'), '--json'], {env: {...process.env, LAB_STATE_DIR: state}, timeout: 60_000})
  assert.is(r.code, 0, r.stderr)
  const test = JSON.parse(r.stdout).submissions[0].tests[0]
  assert.is(test.status, 'passed', test.message)
  assert.match(test.stdout, 'grader data')
  assertNoHostPath(test.stdout, 'graded test')
})

t.run()
