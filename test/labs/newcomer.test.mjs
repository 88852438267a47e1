// A student's first hour, as root on a fresh checkout: the same correct answers pass
// every time, `lab reset` really starts over, `lab check` works from inside the work
// directory, and `lab new`'s next steps run as printed.
import {chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, rootTest} from '../helpers.mjs'

const t = suite('labs: what a newcomer trips over')
const cwd = mkdtempSync(join(tmpdir(), 'lab-newcomer-'))
chmodSync(cwd, 0o711)
const env = {...process.env, LAB_STATE_DIR: join(cwd, 'state')}
const work = join(cwd, 'lab-work', 'ch4-volumes')
t.after(() => rmSync(cwd, {recursive: true, force: true}))

const done = async () => JSON.parse((await lab(['list', '--json'], {cwd, env})).stdout).labs.find((x) => x.id === 'ch4-volumes').exercisesDone

rootTest(t, 'lab check ch4-volumes twice with the same correct answers passes twice; what the sandboxes wrote belongs to one unprivileged owner', async () => {
  const first = await lab(['check', 'ch4-volumes'], {cwd, env})
  assert.is(first.code, 1, 'no answers yet')
  cpSync(join(ROOT, 'labs', 'ch4-volumes', 'solution'), work, {recursive: true})
  for (const run of ['first', 'second', 'third']) {
    const r = await lab(['check', 'ch4-volumes', '--json'], {cwd, env})
    assert.is(r.code, 0, `${run} run: ${r.stdout}`)
    assert.is(JSON.parse(r.stdout).counts.passed, 3)
  }
  // one owner, run after run: the writable directories' (lab's volume user), never root
  const owners = new Set(['docs', 'docs/from-sandbox.txt', 'docs/visits.log', 'logs/logA'].map((f) => statSync(join(work, f)).uid))
  assert.equal([...owners], [999_999_999])
  assert.is(await done(), 3)
})

rootTest(t, 'lab check from inside the work directory (or below it) uses that directory, not a new lab-work inside it', async () => {
  for (const sub of ['', 'docs']) {
    const r = await lab(['check', 'ch4-volumes', '--json'], {cwd: join(work, sub), env})
    assert.is(r.code, 0, r.stdout)
    assert.is(JSON.parse(r.stdout).workDir, work)
    assert.not.ok(existsSync(join(work, sub, 'lab-work')), `a nested lab-work in ${sub || 'the work directory'}`)
  }
  const shown = JSON.parse((await lab(['show', 'ch4-volumes', '--json'], {cwd: join(work, 'logs'), env})).stdout)
  assert.is(shown.workDir, work)
})

rootTest(t, 'lab reset restores the starting files: what sandboxes wrote is gone, the answers stay, progress starts over — and the answers pass again', async () => {
  const r = await lab(['reset', 'ch4-volumes'], {cwd, env})
  assert.is(r.code, 0, r.stderr)
  assert.equal(readdirSync(join(work, 'docs')).sort(), ['index.html'])
  assert.equal(readdirSync(join(work, 'logs')), [])
  assert.ok(existsSync(join(work, '01-bind.cmd')), 'answers are kept')
  assert.is(await done(), 0)
  const again = await lab(['check', 'ch4-volumes'], {cwd, env})
  assert.is(again.code, 0, again.stdout)
  assert.is(await done(), 3)
})

rootTest(t, 'lab new my-lab: the next steps it prints (validate, run) work as printed, from where it was run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-new-'))
  chmodSync(dir, 0o711)
  try {
    const r = await lab(['new', 'my-lab'], {cwd: dir, env})
    assert.is(r.code, 0, r.stderr)
    const steps = [...r.stdout.matchAll(/`(lab [^`]+)`/g)].map((m) => m[1].split(' ').slice(1))
    assert.equal(steps.map((s) => s[0]), ['validate', 'run'])
    for (const args of steps) {
      const s = await lab(args, {cwd: dir, env})
      assert.is(s.code, 0, `${args.join(' ')}: ${s.stdout}${s.stderr}`)
    }
    // the bare id finds ./my-lab too
    assert.is((await lab(['validate', 'my-lab'], {cwd: dir, env})).code, 0)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

t.run()
