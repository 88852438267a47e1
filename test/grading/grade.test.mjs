// `lab grade` end to end on the worked example (examples/grading): scores, every report
// format, --out, --format, --json, exit codes, and the one-line errors for bad input.
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, rootTest} from '../helpers.mjs'

const t = suite('grading: lab grade')
const EX = join(ROOT, 'examples', 'grading')
const SUBS = ['correct', 'partial', 'wrong'].map((s) => join(EX, 'submissions', s))
let base
let report

t.before(() => {
  base = mkdtempSync(join(tmpdir(), 'labgrade-cli-'))
})
t.after(() => rmSync(base, {recursive: true, force: true}))

rootTest(t, 'the worked example: correct 10/10, partial 5/10, wrong 0/10; every format written by --out', async () => {
  const out = join(base, 'reports')
  const r = await lab(['grade', join(EX, 'grading.yaml'), ...SUBS, '--out', out, '--jobs', '2', '--json'])
  assert.is(r.code, 0, r.stderr)
  report = JSON.parse(r.stdout)
  assert.equal(
    report.submissions.map((s) => [s.id, s.score, s.maxScore, s.status]),
    [
      ['correct', 10, 10, 'graded'],
      ['partial', 5, 10, 'graded'],
      ['wrong', 0, 10, 'graded'],
    ],
  )
  const partial = report.submissions[1]
  const sorted = partial.tests.find((x) => x.name === 'sorted output')
  assert.is(sorted.checks[0].message, 'the output is not a list of integers', 'the checker ran sandboxed and its first line is the message')
  assert.is(partial.tests.find((x) => x.name === 'mean within 0.001').status, 'passed', 'numeric tolerance')
  // reproducibility: hashes of the spec, the submission and the test files, and the engine's settings
  assert.match(report.spec.sha256, /^[0-9a-f]{64}$/)
  assert.ok(report.spec.files['tests/small.txt'] && report.spec.files['expected/small.txt'] && report.spec.files['check_sorted.py'])
  assert.match(partial.sha256, /^[0-9a-f]{64}$/)
  assert.is(report.engine.seccompProfile, 'strict')
  assert.is(report.engine.network, 'none')
  for (const f of ['report.json', 'junit.xml', 'results.tap', 'gradebook.csv', 'report.html', 'gradescope/partial/results.json', 'exercism/partial/results.json']) assert.ok(existsSync(join(out, f)), f)
})

rootTest(t, 'the same submission graded twice hashes the same and scores the same', async () => {
  const r = await lab(['grade', join(EX, 'grading.yaml'), SUBS[1], '--json'])
  const again = JSON.parse(r.stdout)
  assert.is(again.submissions[0].sha256, report.submissions[1].sha256)
  assert.is(again.submissions[0].score, 5)
  assert.is(again.spec.sha256, report.spec.sha256)
})

rootTest(t, 'Gradescope results.json: score, tests with max_score and visibility', () => {
  const gs = JSON.parse(readFileSync(join(base, 'reports', 'gradescope', 'partial', 'results.json'), 'utf8'))
  assert.is(gs.score, 5)
  assert.is(gs.tests.length, 5)
  const hidden = gs.tests.find((x) => x.name === 'empty input is an error')
  assert.equal([hidden.visibility, hidden.max_score, hidden.score], ['hidden', 1, 0])
  assert.is(gs.tests.find((x) => x.name === 'sorted output').visibility, 'after_due_date')
})

rootTest(t, 'Exercism results.json v3: version 3, fail/pass, only visible tests', () => {
  const ex = JSON.parse(readFileSync(join(base, 'reports', 'exercism', 'partial', 'results.json'), 'utf8'))
  assert.is(ex.version, 3)
  assert.is(ex.status, 'fail')
  assert.equal(ex.tests.map((x) => x.name), ['sum of small numbers', 'negative numbers', 'mean within 0.001'])
  assert.is(ex.tests[1].status, 'fail')
  assert.match(ex.tests[1].message, /expected "sum -8", got "sum 42"/)
  const ok = JSON.parse(readFileSync(join(base, 'reports', 'exercism', 'correct', 'results.json'), 'utf8'))
  assert.is(ok.status, 'pass')
})

rootTest(t, 'JUnit XML, TAP 14 and the CSV gradebook', () => {
  const x = readFileSync(join(base, 'reports', 'junit.xml'), 'utf8')
  assert.match(x, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="Lab 3: sum, mean and sort" tests="15" failures="8" errors="0"/)
  assert.is((x.match(/<testcase /g) ?? []).length, 15)
  assert.is((x.match(/<failure /g) ?? []).length, 8)
  const tap = readFileSync(join(base, 'reports', 'results.tap'), 'utf8').split('\n')
  assert.equal(tap.slice(0, 4), ['TAP version 14', '1..3', '# Subtest: correct', '    1..5'])
  assert.ok(tap.includes('ok 1 - correct 10/10'))
  assert.ok(tap.includes('not ok 2 - partial 5/10'))
  assert.ok(tap.includes('    not ok 2 - negative numbers'))
  const csv = readFileSync(join(base, 'reports', 'gradebook.csv'), 'utf8').split('\r\n')
  assert.is(csv[0], 'submission,status,score,max_score,percent,sum of small numbers,negative numbers,mean within 0.001,sorted output,empty input is an error,upload,sha256,message')
  assert.match(csv[2], /^partial,graded,5,10,50,3,0,2,0,0,partial,[0-9a-f]{64},$/)
})

rootTest(t, '--format prints one format to stdout; progress goes to stderr as plain lines', async () => {
  const r = await lab(['grade', join(EX, 'grading.yaml'), SUBS[0], '--format', 'tap'])
  assert.is(r.code, 0)
  assert.match(r.stdout, /^TAP version 14\n1\.\.1\n/)
  assert.match(r.stderr, /^graded correct 10\/10 graded$/m)
})

t('bad input: a spec with errors, --format with --json, no submission → one line, exit 125, nothing graded', async () => {
  const bad = join(base, 'bad.yaml')
  writeFileSync(bad, 'title: x\ntests:\n  - name: a\n    points: -1\n    run: true\n    checks: [{exitCode: 0}]\n')
  let r = await lab(['grade', bad, SUBS[0]])
  assert.is(r.code, 125)
  assert.match(r.stderr, /^lab: bad\.yaml:4: \/tests\/0\/points: .*\(fix the grading spec; its schema is schemas\/grading\.schema\.json\)\n$/)
  r = await lab(['grade', join(EX, 'grading.yaml'), SUBS[0], '--format', 'csv', '--json'])
  assert.is(r.code, 125)
  assert.match(r.stdout + r.stderr, /--format and --json both print to stdout/)
  r = await lab(['grade', join(EX, 'grading.yaml')])
  assert.is(r.code, 125)
  r = await lab(['grade', join(base, 'nowhere.yaml'), SUBS[0]])
  assert.is(r.code, 125)
  assert.match(r.stderr, /no grading spec there/)
})

rootTest(t, 'a missing submission or one without the required file is a per-submission error; the batch goes on, exit 0', async () => {
  const empty = join(base, 'empty')
  mkdirSync(empty)
  writeFileSync(join(empty, 'README'), 'forgot the code\n')
  const r = await lab(['grade', join(EX, 'grading.yaml'), join(base, 'ghost.zip'), empty, SUBS[0], '--json'])
  assert.is(r.code, 0, r.stderr)
  const rep = JSON.parse(r.stdout)
  assert.equal(
    rep.submissions.map((s) => [s.id, s.status, s.score]),
    [
      ['ghost', 'rejected', 0],
      ['empty', 'rejected', 0],
      ['correct', 'graded', 10],
    ],
  )
  assert.match(rep.submissions[0].message, /does not exist/)
  assert.match(rep.submissions[1].message, /required file missing: sum\.c/)
})

rootTest(t, 'standard input: stdin and stdinFile reach the program, each test sees only its own input', async () => {
  const d = join(base, 'stdin-spec')
  mkdirSync(d)
  writeFileSync(join(d, 'in.txt'), '5 6\n')
  writeFileSync(
    join(d, 'grading.yaml'),
    'title: stdin\ntests:\n' +
      '  - {name: inline, points: 1, run: "read a b; echo $((a * b))", stdin: "6 7\\n", checks: [{stdout: {equals: "42"}}]}\n' +
      '  - {name: from file, points: 1, run: "read a b; echo $((a * b)); ls /grader-input", stdinFile: in.txt, checks: [{stdout: {equals: "30\\nstdin"}}]}\n' +
      '  - {name: none, points: 1, run: "cat; echo end; ls /grader-input 2>&1 | grep -c stdin", checks: [{stdout: {equals: "end\\n0"}}]}\n',
  )
  const sub = join(base, 'stdin-sub')
  mkdirSync(sub)
  const r = await lab(['grade', join(d, 'grading.yaml'), sub, '--json'])
  assert.is(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout).submissions[0]
  assert.equal(s.tests.map((x) => [x.name, x.status, x.message]), [
    ['inline', 'passed', 'all checks passed'],
    ['from file', 'passed', 'all checks passed'],
    ['none', 'passed', 'all checks passed'],
  ])
})

t.run()
