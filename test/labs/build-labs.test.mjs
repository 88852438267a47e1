// The build labs (ch8-dockerfile, build-smart): each walkthrough passes offline on this
// machine (every exercise with its reference solution) and leaves no work or state
// directory behind; a wrong answer per exercise fails the check that says what is wrong,
// with the hint that says how to fix it. The labs' own checks look from inside sandboxes
// on the images the builds made (the user and working directory a program runs with,
// what COPY --from left out, the cache lines a rebuild prints).
import {chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {rootTest} from '../helpers.mjs'
import {loadLab} from '../../dist/labs/load.js'
import {lastGoodIn} from '../../dist/labs/render.js'
import {runLab} from '../../dist/labs/runner.js'
import {ensureExerciseDir, makeWalkthroughDir} from '../../dist/labs/workdir.js'

const t = suite('labs: the build labs')

const fixture = (id, file) => readFileSync(join('labs', id, 'fixtures', file), 'utf8')
const solution = (id, file) => readFileSync(join('labs', id, 'solution', file), 'utf8')

/** Wrong answers: the file, its text, the check that must fail and a word its hint must contain. */
const WRONG = {
  'ch8-dockerfile': [
    {file: '01-build.cmd', answer: 'lab build -t course/hello:1.0 primer', check: 'course/hello:1.0 and course/hello:latest are the image course/hello:auto is', hint: '-t course/hello:latest'},
    {file: '01-build.cmd', answer: 'lab build -t course/hello:1.0 -t course/hello:latest --network host primer', error: /--network host is not available in labs/},
    // the program and its argument both in CMD: a command at run time replaces the program
    {file: 'mailer/Dockerfile', answer: () => fixture('ch8-dockerfile', 'mailer/Dockerfile') + 'USER example:example\nCMD ["/app/mailer.sh", "/var/log/mailer.log"]\n', check: 'a command given at run time replaces only the argument', hint: 'ENTRYPOINT ["/app/mailer.sh"]'},
    {file: 'mailer/Dockerfile', answer: () => solution('ch8-dockerfile', 'mailer/Dockerfile').replace('USER example:example\n', ''), check: 'the config records the user', hint: 'USER example'},
    {file: 'downstream/Dockerfile', answer: 'FROM course/busybox:1.0\nCMD ["cat", "/srv/app/message.txt"]\n', check: 'the triggers ran right after your FROM', hint: 'FROM course/onbuild-base:1.0'},
    {file: 'web/entrypoint.sh', answer: () => fixture('ch8-dockerfile', 'web/entrypoint.sh'), check: 'without WEB_HOST the sandbox stops with exit code 1', hint: '[ -z "$WEB_HOST" ]'},
    {file: 'web/entrypoint.sh', answer: '#!/bin/sh\nif [ -z "$WEB_HOST" ]; then echo >&2 "set WEB_HOST"; exit 1; fi\n"$@"\n', check: 'with WEB_HOST the command runs, and exec made it PID 1', hint: 'exec "$@"'},
  ],
  'build-smart': [
    {file: 'tool/Dockerfile', answer: () => fixture('build-smart', 'tool/Dockerfile'), check: 'neither the toolchain nor the sources are in the slim image', hint: 'a second FROM course/busybox:1.0'},
    {file: 'app/Dockerfile', answer: () => fixture('build-smart', 'app/Dockerfile'), check: 'after the change to src/main.sh, the install step comes from the cache', hint: 'COPY deps.txt /app/ before the RUN'},
    {file: 'broken/Dockerfile', answer: () => fixture('build-smart', 'broken/Dockerfile'), check: 'your Dockerfile builds', hint: 'conf/app.conf'},
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

async function exerciseRun(l, step, answer) {
  const parent = mkdtempSync(join(tmpdir(), 'labbuild-'))
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

t('{{lastGood}} is the image a failed build names as its last good step, and nothing else', () => {
  const stderr = 'lab: step 4/5 (Dockerfile line 4) RUN cp a b: returned a non-zero code: 1 (its output is above; run the last good image to debug: lab sandbox run 3f1e2d4c5b6a -- sh)\n'
  assert.is(lastGoodIn(stderr), '3f1e2d4c5b6a')
  assert.throws(() => lastGoodIn('Successfully built 3f1e2d4c5b6a\n'), /no last good image/)
  // only the twelve hex digits are taken, never what follows them
  assert.is(lastGoodIn('run the last good image to debug: lab sandbox run 3f1e2d4c5b6a; rm -rf / -- sh'), '3f1e2d4c5b6a')
  assert.throws(() => lastGoodIn('run the last good image to debug: lab sandbox run ../../etc -- sh'), /no last good image/)
})

t('a lab whose command gives RUN steps the host network is refused when it is loaded', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'labbuild-def-')), 'net')
  try {
    mkdirSync(dir)
    writeFileSync(join(dir, 'lab.yaml'), 'id: net\ntitle: Net\nchapter: "0"\nsource: test\nestimatedMinutes: 1\nsteps:\n  - id: s\n    title: S\n    actions:\n      - command: build --network host -t x:1 .\n        as: b\n    checks:\n      - name: built\n        of: b\n        exitCode: 0\n')
    let err
    try {
      await loadLab(dir)
    } catch (e) {
      err = e
    }
    assert.ok(err, 'the lab loaded')
    assert.match(String(err.message), /--network host is not available in labs/)
  } finally {
    rmSync(join(dir, '..'), {recursive: true, force: true})
  }
})

for (const id of ['ch8-dockerfile', 'build-smart']) {
  rootTest(t, `${id}: the walkthrough (every exercise with its reference solution) passes and leaves nothing behind`, async () => {
    const l = await loadLab(id)
    const work = makeWalkthroughDir(l)
    const o = await runLab(l, {mode: 'walkthrough', workDir: work, removeWorkDir: true})
    const notPassed = o.steps.filter((s) => s.status !== 'passed')
    assert.equal(notPassed.map((s) => `${s.id}: ${s.status} ${s.reason ?? ''}`), [], JSON.stringify(notPassed, null, 1))
    assert.is(o.counts.passed, l.steps.length)
    for (const s of l.steps) assert.ok(s.exercise, `${s.id} is an exercise`)
    for (const s of o.steps) assert.ok(s.checks.length > 0 && s.checks.every((c) => c.passed), `${s.id} has checks, all passed`)
    assert.equal(ownStateDirs(), [], 'the private state (images, build cache, sandboxes) is removed')
    assert.ok(!readdirSync(tmpdir()).some((n) => work.endsWith(n)), 'the work directory is removed')
  })

  for (const w of WRONG[id]) {
    const text = typeof w.answer === 'function' ? w.answer() : w.answer
    const what = w.check ? `fails "${w.check}" with its hint` : `is refused (${w.error.source})`
    rootTest(t, `${id}: a wrong ${w.file} ${what}`, async () => {
      const l = await loadLab(id)
      const step = l.steps.find((s) => s.exercise?.file === w.file)
      const o = await exerciseRun(l, step, text.endsWith('\n') ? text : text + '\n')
      assert.is(o.status, 'failed')
      if (w.error) assert.ok(o.steps[0].actions.some((a) => w.error.test(a.error ?? '')), JSON.stringify(o.steps[0].actions, null, 1))
      if (w.check) {
        const c = o.steps[0].checks.find((x) => x.name === w.check)
        assert.ok(c, `no check named ${w.check}`)
        assert.is(c.passed, false, JSON.stringify(o.steps[0], null, 1))
        assert.ok(c.hint?.includes(w.hint), c.hint)
      }
    })
  }
}

t.run()
