// What students upload and what a teacher's machine has: a zip of the folder they worked
// in, a file in the wrong place, and tools the sandbox cannot see (lab doctor --grading).
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, rootTest} from '../helpers.mjs'
import {makeZip} from './archives.mjs'

const t = suite('grading: uploads and the sandbox\'s environment')
const BOB = join(ROOT, 'test', 'grading', 'corpus', 'pytest-bob')
let base

t.before(() => {
  base = mkdtempSync(join(tmpdir(), 'labgrade-ingest-'))
  chmodSync(base, 0o755)
})
t.after(() => rmSync(base, {recursive: true, force: true}))

rootTest(t, 'a zip of one folder is graded as that folder; a misplaced file says where it was; reports name the upload', async () => {
  const ref = readFileSync(join(BOB, 'reference', 'bob.py'))
  writeFileSync(join(base, 'folder.zip'), makeZip([{name: 'my-solution/bob.py', body: ref}, {name: '__MACOSX/my-solution/._bob.py', body: 'x'}]))
  writeFileSync(join(base, 'misplaced.zip'), makeZip([{name: 'README.md', body: 'hi'}, {name: 'src/deep/bob.py', body: ref}]))
  const out = join(base, 'out')
  const r = await lab(['grade', BOB, join(base, 'folder.zip'), join(base, 'misplaced.zip'), '--json', '--out', out], {timeout: 120_000})
  assert.is(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  const folder = report.submissions.find((s) => s.id === 'folder')
  assert.is(folder.status, 'graded')
  assert.is(folder.score, 7)
  assert.is(folder.unwrapped, 'my-solution')
  assert.is(folder.upload, 'folder.zip')
  const mis = report.submissions.find((s) => s.id === 'misplaced')
  assert.is(mis.status, 'rejected')
  assert.match(mis.message, /required file missing: bob\.py \(found at src\/deep\/bob\.py: it must be at bob\.py\)/)
  assert.match(readFileSync(join(out, 'gradebook.csv'), 'utf8'), /,misplaced\.zip,/)
  assert.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /<property name="upload" value="folder\.zip"\/>/)
  const ex = JSON.parse(readFileSync(join(out, 'exercism', 'misplaced', 'results.json'), 'utf8'))
  assert.is(ex.status, 'error')
  assert.match(ex.message, /^misplaced\.zip: required file missing/)
})

rootTest(t, 'lab doctor --grading: a command found only on the host (a user\'s own bin) is missing in the sandbox, and it says so', async () => {
  const bin = join(base, 'userbin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'mygrader'), '#!/bin/sh\necho graded\n', {mode: 0o755})
  const spec = join(base, 'doctor.yaml')
  writeFileSync(spec, 'title: d\nbuild: {run: "gcc -o prog prog.c"}\ntests:\n  - {name: a, points: 1, run: "FOO=1 exec mygrader < /dev/null | sort; ./prog", checks: [{exitCode: 0}]}\n  - {name: py, framework: pytest, files: [t.py], scores: [{name: test_x, points: 1}]}\n')
  writeFileSync(join(base, 't.py'), 'def test_x():\n    pass\n')
  const r = await lab(['doctor', '--grading', spec], {env: {...process.env, PATH: `${bin}:${process.env.PATH}`}})
  assert.is(r.code, 1, r.stdout + r.stderr)
  assert.match(r.stdout, /FAIL  mygrader\s+missing inside the sandbox \(used by a\)/)
  assert.match(r.stdout, new RegExp(`found on the host at ${bin}/mygrader, outside the system directories the sandbox sees`))
  for (const ok of ['gcc', 'sort', 'python3', 'python module pytest']) assert.match(r.stdout, new RegExp(`^ok +${ok} `, 'm'))
  assert.not.match(r.stdout, /FOO|exec |\.\/prog/, 'assignments, exec and the program built in /work are not commands to look for')
  const j = await lab(['doctor', '--grading', spec, '--json'], {env: {...process.env, PATH: `${bin}:${process.env.PATH}`}})
  const report = JSON.parse(j.stdout)
  assert.is(report.ok, false)
  assert.equal(report.checks.filter((c) => !c.inSandbox).map((c) => c.name), ['mygrader'])
})

t.run()
