// The README's command blocks — "Set up and run", "A short tour", "Seccomp profiles",
// "Course labs" — run line by line, as written, with `lab` on PATH the way `npm link`
// puts it there, in a fresh directory holding what the lines say they need.
import {execFileSync, spawn} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {LAB, ROOT, rootTest} from '../helpers.mjs'

const t = suite('README: every line runs as written')
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** The lines of the sh blocks of a README section, without their trailing comments. */
export function sectionLines(title) {
  const at = readme.indexOf(`\n## ${title}\n`)
  assert.ok(at >= 0, `README has a section "${title}"`)
  const body = readme.slice(at + 1).split(/\n## /)[0]
  const lines = []
  for (const block of body.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1].split('\n')) {
      if (!raw.trim()) continue
      // a comment starts after two spaces and a "#"; quotes in the tour hold no "  # "
      const line = raw.split(/\s{2,}#\s/)[0].trim()
      lines.push({line, comment: raw.slice(line.length).replace(/^\s*#\s*/, '')})
    }
  }
  return lines
}

const base = mkdtempSync(join(tmpdir(), 'lab-readme-'))
chmodSync(base, 0o711) // the sandbox's (remapped) root passes through to the binds
const home = join(base, 'here')
const bin = join(base, 'bin')
const state = join(base, 'state')
mkdirSync(home, {mode: 0o755})
mkdirSync(bin)
// what `npm link` does: a `lab` on PATH that is bin/run.js
symlinkSync(LAB, join(bin, 'lab'))
const env = {...process.env, PATH: `${bin}:${process.env.PATH}`, LAB_STATE_DIR: state}
t.after(() => rmSync(base, {recursive: true, force: true}))

// what the tour's lines say they need, in "a directory with …"
mkdirSync(join(home, 'data'), {mode: 0o755})
writeFileSync(join(home, 'data', 'notes.txt'), 'hello\n')
writeFileSync(join(home, 'Makefile'), 'all:\n\t@echo made in $$(pwd)\n')
writeFileSync(join(home, 'a.c'), '#include <stdio.h>\nint main(void) { puts("a.out ran"); return 0; }\n')
execFileSync('cc', ['-o', join(home, 'a.out'), join(home, 'a.c')])
writeFileSync(join(home, 'server'), '#!/bin/sh\necho "serving as PID $$"\n', {mode: 0o755})
writeFileSync(join(home, 'app.py'), 'import json, os\nprint(json.dumps(sorted(os.listdir("/src"))))\n')
writeFileSync(join(home, 'my.json'), readFileSync(join(ROOT, 'profiles', 'default.json')))
for (const f of ['data', 'Makefile', 'a.out', 'server', 'app.py', 'my.json', 'a.c']) chmodSync(join(home, f), f === 'Makefile' || f === 'my.json' || f === 'a.c' || f === 'app.py' ? 0o644 : 0o755)

function sh(line) {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', line], {cwd: home, env, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, out, err})
    })
  })
}

/** what each line printed, for the checks of what the tour shows */
const ran = new Map()

/** The exit code a line's own comment promises ("exit 137"), else 0. */
const expected = (comment) => Number(/\bexit (\d+)/.exec(comment)?.[1] ?? 0)

rootTest(t, 'Set up and run: `npm link` is part of the set-up, and the next line uses lab from PATH', async () => {
  const lines = sectionLines('Set up and run')
  assert.ok(lines.some((l) => /npm ci && npm link/.test(l.line)), 'the set-up puts lab on PATH')
  // npm ci and npm link are what this test's environment stands for; the rest runs
  for (const {line, comment} of lines.filter((l) => !/^npm /.test(l.line))) {
    const r = await sh(line)
    assert.is(r.code, expected(comment), `${line}\n${r.out}${r.err}`)
  }
})

for (const section of ['A short tour', 'Seccomp profiles', 'Course labs']) {
  rootTest(t, `${section}: every line runs as written and ends as its comment says`, async () => {
    const lines = sectionLines(section)
    assert.ok(lines.length >= 5)
    for (const {line, comment} of lines) {
      assert.match(line, /^lab /, 'a line starts with lab, on PATH')
      assert.not.match(line, /\[[^\]]*\]|<[A-Z]+>|\bNAME\b/, `${line}: a placeholder cannot run as written`)
      const r = await sh(line)
      ran.set(line, r)
      assert.is(r.code, expected(comment), `${line}\n${r.out}${r.err}`)
      if (/--json/.test(line)) assert.ok(JSON.parse(r.out).verdict, line)
    }
  })
}

rootTest(t, 'the tour shows what it says: the bound files, make and a.out ran in the bound directory, the init, the recorded profile', async () => {
  const out = (cmd) => {
    const line = sectionLines('A short tour').map((l) => l.line).find((l) => l.endsWith(`-- ${cmd}`))
    assert.ok(ran.has(line), `${cmd} ran`)
    return ran.get(line).out
  }
  assert.match(out('ls -l'), /notes\.txt/)
  assert.match(JSON.parse(out('./a.out')).stdout, /a\.out ran/)
  assert.match(out('make'), /made in \/src/)
  assert.match(out('./server'), /serving as PID [2-9]/, 'the init is PID 1, the server is not')
  const rec = JSON.parse(readFileSync(join(home, 'app.json'), 'utf8'))
  assert.ok(rec.syscalls.length > 0, 'profile record wrote a profile')
})

t.run()
