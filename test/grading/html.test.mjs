// The teacher's HTML report, opened in a real headless browser (Debian's chromium):
// the gradebook is in the DOM as rendered, and what a submission printed (markup,
// scripts) stays text. Without chromium the test is skipped with the install command.
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, rootTest} from '../helpers.mjs'

const t = suite('grading: the HTML report in a browser')
const EX = join(ROOT, 'examples', 'grading')
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

// prints markup meant to run in the teacher's browser
const XSS_C = `#include <stdio.h>
int main(void) {
  puts("</pre><script>document.body.dataset.pwned = 'script'</script><img src=x onerror=\\"document.body.dataset.pwned = 'img'\\">");
  return 0;
}
`

function dumpDom(file, profile, extra = []) {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, ...extra, '--dump-dom', `file://${file}`]
  return new Promise((resolve, reject) =>
    execFile(CHROMIUM, args, {encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20}, (err, stdout, stderr) => (err ? reject(new Error(`chromium: ${err.message} ${stderr.slice(0, 500)}`)) : resolve(stdout))),
  )
}

let base
t.before(() => {
  base = mkdtempSync(join(tmpdir(), 'labgrade-html-'))
})
t.after(() => rmSync(base, {recursive: true, force: true}))

const name = 'the report renders the gradebook and keeps submission output inert'
if (!CHROMIUM) {
  t.skip(`${name} [skipped: no chromium; install it with: apt-get install -y chromium]`, () => {})
} else {
  rootTest(t, name, async () => {
    const xss = join(base, 'xss')
    mkdirSync(xss)
    writeFileSync(join(xss, 'sum.c'), XSS_C)
    const file = join(base, 'report.html')
    const r = await lab(['grade', join(EX, 'grading.yaml'), join(EX, 'submissions', 'correct'), join(EX, 'submissions', 'partial'), xss, '--format', 'html'])
    assert.is(r.code, 0, r.stderr)
    writeFileSync(file, r.stdout)
    const dom = await dumpDom(file, join(base, 'profile'))
    // the gradebook as the browser built it
    const rows = [...dom.matchAll(/<tr data-submission="([^"]+)" data-score="([^"]+)"/g)].map((m) => [m[1], m[2]])
    assert.equal(rows, [
      ['correct', '10'],
      ['partial', '5'],
      ['xss', '0'],
    ])
    assert.match(dom, /<title>Lab 3: sum, mean and sort — grading report<\/title>/)
    assert.match(dom, /<tr class="test" data-test="negative numbers" data-status="failed">/)
    assert.match(dom, /<span class="tag">hidden<\/span>/)
    // nothing the submission printed ran or became markup
    assert.not.match(dom, /data-pwned/)
    assert.not.match(dom, /<script/)
    assert.not.match(dom, /<img/)
    assert.match(dom, /&lt;script&gt;document\.body\.dataset\.pwned/)
  })
}

// A course's worth: 30 tests × 200 students, some whose tests could not load them
function bigReport() {
  const limits = {timeMs: 1000, memoryBytes: 1 << 26, pids: 16, outputBytes: 1 << 16, fileSizeBytes: 1 << 20}
  const names = Array.from({length: 30}, (_, i) => `BobTest.test_a_rather_long_test_name_${i}`)
  const submissions = Array.from({length: 200}, (_, k) => {
    const load = k % 17 === 3
    const tests = names.map((n, j) => {
      const status = load ? 'error' : (k + j) % 5 === 0 ? 'failed' : 'passed'
      return {name: n, visibility: 'visible', status, score: status === 'passed' ? 1 : 0, maxScore: 1, message: status, verdict: load ? 'load-error' : 'ok', exitCode: 0, wallMs: 1, cpuMs: 1, peakMemoryBytes: 1, limits, checks: [], stdout: '', stderr: ''}
    })
    const score = tests.reduce((a, x) => a + x.score, 0)
    return {id: `student-with-a-long-name-${k}`, path: `/s/${k}.zip`, upload: `${k}.zip`, kind: 'zip', sha256: 'a'.repeat(64), files: 1, bytes: 1, status: load ? 'load-failed' : 'graded', ...(load ? {message: 'SyntaxError'} : {}), score, maxScore: 30, tests, wallMs: 1, runMs: 1}
  })
  return {format: 'lab-grade-report', version: 1, title: 'thirty tests', gradedAt: '2026-01-01T00:00:00.000Z', wallMs: 1, spec: {file: '/s', sha256: 'b'.repeat(64), files: {}}, engine: {}, summary: {submissions: 200, graded: 188, rejected: 0, buildFailed: 0, loadFailed: 12, errors: 0, maxScore: 30, meanScore: 24, reruns: 0}, tests: names.map((n) => ({name: n, points: 1, visibility: 'visible', command: 'pytest'})), submissions}
}

const big = '30 tests × 200 students fit a 1280×800 screen: no sideways scrolling, sticky headers, load errors distinct'
if (!CHROMIUM) t.skip(`${big} [skipped: no chromium; install it with: apt-get install -y chromium]`, () => {})
else {
  t(big, async () => {
    const {render} = await import('../../dist/grading/reports/index.js')
    const html = render('html', bigReport())
    // a copy for measuring only: the report itself forbids scripts (CSP), this copy adds one
    const probe = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('</body>', `<script>
      const box = document.querySelector('.gridbox'), head = document.querySelector('#gradebook thead th.t:last-child')
      box.scrollTop = 2000
      const r = {sideways: box.scrollWidth - box.clientWidth, lastHeaderRight: Math.round(head.getBoundingClientRect().right), headerTop: Math.round(head.getBoundingClientRect().top - box.getBoundingClientRect().top), boxBottom: Math.round(box.getBoundingClientRect().bottom), errorCells: document.querySelectorAll('td.cell.error').length, loadBadges: document.querySelectorAll('.badge.load-failed').length}
      document.title = 'MEASURED ' + JSON.stringify(r)
    </script></body>`)
    const file = join(base, 'big.html')
    writeFileSync(file, probe)
    const dom = await dumpDom(file, join(base, 'profile-big'), ['--window-size=1280,800', '--hide-scrollbars'])
    const m = JSON.parse(/<title>MEASURED (.*?)<\/title>/.exec(dom)?.[1].replace(/&quot;/g, '"') ?? 'null')
    assert.ok(m, 'the measurement ran')
    assert.ok(m.sideways <= 0, `the gradebook scrolls sideways by ${m.sideways} px at 1280 px`)
    assert.ok(m.lastHeaderRight <= 1280, `test 30's column ends at ${m.lastHeaderRight} px`)
    assert.ok(m.headerTop >= 0 && m.headerTop <= 2, `the header stays at the top of the scrolled box (${m.headerTop} px)`)
    assert.ok(m.boxBottom <= 800, `the gradebook's box ends at ${m.boxBottom} px, within the screen`)
    assert.is(m.errorCells, 12 * 30, 'each test of a submission that did not load shows E')
    assert.ok(m.loadBadges >= 12)
  })
}

t.run()
