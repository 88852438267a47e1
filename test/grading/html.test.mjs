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

function dumpDom(file, profile) {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${file}`]
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

t.run()
