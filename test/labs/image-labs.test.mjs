// The image labs (ch3-images, ch7-packaging): each walkthrough passes offline on this
// machine and leaves nothing behind (work directory, state directory, the lab's
// registry); every exercise passes with its reference solution (the walkthrough runs
// them) and fails a wrong answer with the hint that says what to fix. The labs' own
// checks look from inside sandboxes on the images the lab made (whiteouts hide, the
// committed entrypoint runs, a pinned tag keeps its version).
import {chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {processesMatching, rootTest} from '../helpers.mjs'
import {loadLab} from '../../dist/labs/load.js'
import {runLab} from '../../dist/labs/runner.js'
import {ensureExerciseDir, makeWalkthroughDir} from '../../dist/labs/workdir.js'

const t = suite('labs: the image labs')

/** Wrong answers: the check that must fail, and a word its hint must contain. */
const WRONG = {
  'ch3-images': [
    {file: '01-tag.cmd', answer: 'lab image tag course/busybox:1.0 course/busybox:latest', check: 'course/busybox:stable is listed', hint: 'lab image tag course/busybox:1.0 course/busybox:stable'},
    {file: '02-pull.cmd', answer: 'lab image pull course/busybox:1.0', check: 'your pull fetched the image the push stored (the same digest)', hint: '$REGISTRY/course/busybox:1.0', error: /on docker\.io, and a lab reaches no registry off this machine/},
    {file: '02-pull.cmd', answer: 'lab image pull $REGISTRY/course/busybox:2.0', check: 'your pull fetched the image the push stored (the same digest)', hint: '$REGISTRY/course/busybox:1.0'},
    {file: '03-save.cmd', answer: 'lab image save -o other.tar course/busybox:1.0', check: 'busybox.tar was written', hint: '-o busybox.tar'},
    {file: '05-change.cmd', answer: `lab sandbox run --name changer --read-only=false --image course/busybox:1.0 -- sh -c 'echo version 2 > /etc/motd2'`, check: 'diff shows /etc/motd changed (C)', hint: 'change the existing file /etc/motd'},
  ],
  'ch7-packaging': [
    {file: '01-commit.cmd', answer: 'lab sandbox commit installer course/hello:1.0', check: 'the image\'s history has your message', hint: '-m "Added hello"'},
    {file: '02-delete.cmd', answer: 'lab sandbox run --name tweak-d --image course/base:1.0 -- rm /etc/motd', check: 'your sandbox ran', hint: '--read-only=false'},
    {file: '03-entrypoint.cmd', answer: `lab sandbox commit --change 'CMD ["/bin/sh", "/opt/hello/run.sh"]' configured course/hello:1.1`, check: 'the image records the entrypoint', hint: 'ENTRYPOINT'},
    {file: '04-export.cmd', answer: 'lab image export -o hello-fs.tar course/base:1.0', check: 'the flat image has the base\'s files and the sandbox\'s changes', hint: 'lab sandbox export'},
    {file: '05-latest.cmd', answer: 'lab image tag course/hello:1.0 course/hello:latest', check: 'latest and 2.0 are one image', hint: 'lab image tag course/hello:2.0 course/hello:latest'},
  ],
}

function ownStateDirs() {
  return readdirSync('/tmp').filter((n) => n.startsWith('lab-st-')).filter((n) => {
    try {
      return readFileSync(join('/tmp', n, 'owner'), 'utf8').split(' ')[0] === String(process.pid)
    } catch {
      return false
    }
  })
}

/** Registries running now (pids), so a test sees only the one its lab started. */
const registries = () => processesMatching('docker-registry').filter((p) => p.cmd.startsWith('docker-registry')).map((p) => p.pid)

async function exerciseRun(l, step, answer) {
  const parent = mkdtempSync(join(tmpdir(), 'labimg-'))
  chmodSync(parent, 0o711)
  const dir = join(parent, 'work')
  ensureExerciseDir(l, dir)
  if (answer !== undefined) writeFileSync(join(dir, step.exercise.file), answer)
  try {
    return await runLab(l, {mode: 'exercise', workDir: dir, removeWorkDir: false, steps: [step]})
  } finally {
    rmSync(parent, {recursive: true, force: true})
  }
}

for (const id of ['ch3-images', 'ch7-packaging']) {
  rootTest(t, `${id}: the walkthrough (every exercise with its reference solution) passes and leaves nothing behind`, async () => {
    const l = await loadLab(id)
    const work = makeWalkthroughDir(l)
    const registriesBefore = registries()
    const o = await runLab(l, {mode: 'walkthrough', workDir: work, removeWorkDir: true})
    const notPassed = o.steps.filter((s) => s.status !== 'passed')
    assert.equal(notPassed.map((s) => `${s.id}: ${s.status} ${s.reason ?? ''}`), [], JSON.stringify(notPassed, null, 1))
    assert.is(o.counts.passed, l.steps.length)
    for (const s of l.steps.filter((x) => x.exercise)) assert.ok(o.steps.find((x) => x.id === s.id).checks.length > 0, `${s.id} has checks`)
    assert.equal(ownStateDirs(), [], 'the private state (images, sandboxes, registry data) is removed')
    assert.ok(!readdirSync(tmpdir()).some((n) => work.endsWith(n)), 'the work directory is removed')
    assert.equal(registries().filter((p) => !registriesBefore.includes(p)), [], 'the lab\'s registry has ended')
  })

  rootTest(t, `${id}: an exercise without an answer fails and says what to write`, async () => {
    const l = await loadLab(id)
    const step = l.steps.find((s) => s.exercise)
    const o = await exerciseRun(l, step, undefined)
    assert.is(o.status, 'failed')
    assert.ok(o.steps[0].actions.some((a) => a.error && /does not exist/.test(a.error) && /write your `lab …` command/.test(a.hint)), JSON.stringify(o.steps[0].actions))
    assert.ok(o.steps[0].checks.some((c) => !c.passed && c.hint))
  })

  for (const w of WRONG[id]) {
    rootTest(t, `${id}: a wrong ${w.file} (${w.answer.split(' ').slice(1, 4).join(' ')}…) fails "${w.check}"${w.hint ? ' with its hint' : ''}`, async () => {
      const l = await loadLab(id)
      const step = l.steps.find((s) => s.exercise?.file === w.file)
      const o = await exerciseRun(l, step, w.answer + '\n')
      assert.is(o.status, 'failed')
      const c = o.steps[0].checks.find((x) => x.name === w.check)
      assert.ok(c, `no check named ${w.check}`)
      assert.is(c.passed, false, JSON.stringify(o.steps[0], null, 1))
      if (w.hint) assert.ok(c.hint?.includes(w.hint), c.hint)
      if (w.error) assert.ok(o.steps[0].actions.some((a) => w.error.test(a.error ?? '')), JSON.stringify(o.steps[0].actions))
    })
  }
}

t.run()
