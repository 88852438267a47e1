// Report formats fed with what a hostile submission can control (its name, its output,
// the messages built from them): nothing may break out of its field in any format.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {render, reportFiles} from '../../dist/grading/reports/index.js'
import {tap14Problems} from './tap14.mjs'

const t = suite('grading: report formats under hostile text')

const EVIL = 'x"/><script>alert(1)</script>\n# Subtest: forged\nok 1 - forged\u0000\u0007'
const limits = {timeMs: 1000, memoryBytes: 1 << 26, pids: 16, outputBytes: 1 << 16, fileSizeBytes: 1 << 20}
const test = (name, status, score, extra = {}) => ({name, visibility: 'visible', status, score, maxScore: 1, message: EVIL, verdict: 'ok', exitCode: 0, wallMs: 3, cpuMs: 1, peakMemoryBytes: 1 << 20, limits, checks: [{name: 'standard output', passed: status === 'passed', message: EVIL}], stdout: EVIL, stderr: '', ...extra})
const report = {
  format: 'lab-grade-report',
  version: 1,
  title: 'T',
  gradedAt: '2026-01-01T00:00:00.000Z',
  wallMs: 1000,
  spec: {file: '/s/grading.yaml', sha256: 'a'.repeat(64), files: {}},
  engine: {seccompProfile: 'strict'},
  summary: {submissions: 2, graded: 2, rejected: 0, buildFailed: 0, errors: 0, maxScore: 2, meanScore: 1, reruns: 1},
  tests: [
    {name: 'one', points: 1, visibility: 'visible', command: 'true'},
    {name: 'two', points: 1, visibility: 'hidden', command: 'true'},
  ],
  submissions: [
    {id: '=HYPERLINK("x")', path: '/p', upload: 'p', runMs: 9, kind: 'directory', sha256: 'b'.repeat(64), files: 1, bytes: 1, status: 'graded', score: 1, maxScore: 2, tests: [test('one', 'passed', 1), test('two', 'failed', 0, {visibility: 'hidden', rerun: {reason: 'near the limit', first: {verdict: 'timeout', wallMs: 1000}}})], wallMs: 10, message: EVIL},
    {id: 'bob', path: '/q.zip', upload: 'q.zip', runMs: 9, kind: 'zip', sha256: 'c'.repeat(64), files: 1, bytes: 1, status: 'graded', score: 1, maxScore: 2, tests: [test('one', 'passed', 1), test('two', 'passed', 1, {visibility: 'hidden'})], wallMs: 10},
  ],
}

t('TAP 14: submission text cannot add test points or subtests', () => {
  const lines = render('tap', report).split('\n')
  assert.is(lines[0], 'TAP version 14')
  assert.is(lines.filter((l) => /^(not )?ok \d/.test(l)).length, 2, 'two top-level points')
  assert.is(lines.filter((l) => l.startsWith('# Subtest:')).length, 2)
  // the summary keeps the message's first line only: the rest is in the test's YAML block
  assert.ok(lines.includes('not ok 1 - =HYPERLINK("x") 1/2 (x"/><script>alert(1)</script>)'), lines.join('\n'))
  assert.equal(tap14Problems(render('tap', report)), [], 'still valid TAP 14')
})

t('JUnit: attributes and text escaped, characters XML cannot hold dropped', () => {
  const x = render('junit', report)
  assert.not.match(x, /<script>/)
  assert.not.match(x, /[\u0000\u0007]/)
  assert.is((x.match(/<testcase /g) ?? []).length, 4)
  assert.match(x, /message="x&quot;\/&gt;&lt;script&gt;/)
})

t('CSV: a name that a spreadsheet would run as a formula is defused; quoting per RFC 4180', () => {
  const rows = render('csv', report).split('\r\n')
  assert.ok(rows[1].startsWith(`"'=HYPERLINK(""x"")",graded,1,2,50,1,0,`), rows[1])
  assert.is(rows.length, 4, 'header, two rows, final newline')
})

t('Gradescope and Exercism: hidden tests marked / left out, reruns explained', () => {
  const files = reportFiles(report)
  const gs = JSON.parse(files.find((f) => f.path === 'gradescope/bob/results.json').content)
  assert.equal(gs.tests.map((x) => x.visibility), ['visible', 'hidden'])
  const ex = JSON.parse(files.find((f) => f.path === 'exercism/bob/results.json').content)
  assert.is(ex.version, 3)
  assert.equal(ex.tests.map((x) => x.name), ['one'])
  const all = JSON.parse(render('gradescope', report))
  assert.match(all['=HYPERLINK("x")'].tests[1].output, /\(near the limit\)/)
})

t('HTML: everything escaped; no script, no external resource', () => {
  const h = render('html', report)
  assert.not.match(h, /<script/)
  assert.match(h, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
  assert.match(h, /Content-Security-Policy" content="default-src 'none'/)
  assert.not.match(h, /(src|href)="(https?:)?\/\//)
})

t.run()
