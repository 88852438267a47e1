// Grading on an image of lab's store (a toolchain image per spec or per test, as
// Gradescope and Exercism give each assignment): proven from inside the sandboxes. The
// images are made here from the host's static busybox (test/images/run-fixtures.mjs):
// run:v1 has /etc/motd "from the top layer", Env FOO=image and an Entrypoint (echo) that a
// grading command must not go through; run:user (the base layer alone) says USER app.
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'
import {makeRunImages} from '../images/run-fixtures.mjs'

const t = suite('grading: image per spec and per test')
let img

t.before(async () => {
  if (process.getuid() === 0) img = await makeRunImages()
})
t.after(() => {
  if (img) rmSync(img.work, {recursive: true, force: true})
})

function files(dir, map) {
  mkdirSync(dir, {recursive: true})
  for (const [f, text] of Object.entries(map)) writeFileSync(join(dir, f), text)
  return dir
}

async function grade(spec, subs, json = true) {
  const file = join(img.work, `spec-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, spec)
  return lab(['grade', file, ...subs, '--jobs', '2', ...(json ? ['--json'] : [])], {env: img.env, timeout: 120_000})
}

const byName = (sub) => Object.fromEntries(sub.tests.map((x) => [x.name, x]))

rootTest(t, 'the spec\'s image roots the build, the tests and the checkers; a test names its own; runs are root of the sandbox whatever USER says; the report pins the ids', async () => {
  const sub = files(join(img.work, 'sub1'), {'answer.sh': 'echo "$FOO:$(cat /etc/motd)"\n'})
  const spec = `title: on an image
image: run:v1
build: {run: "cat /etc/motd > built.txt && test ! -e /usr/bin/node"}
tests:
  - name: the image's files and env
    points: 2
    run: sh answer.sh
    checks:
      - stdout: {equals: "image:from the top layer"}
      - checker: {command: [sh, -c, "test ! -e /usr/bin/node && grep -q 'top layer' /etc/motd && grep -q image /check/stdout"]}
  - name: the build ran there too
    points: 1
    run: cat built.txt
    checks: [{stdout: {equals: from the top layer}}]
  - name: another image, as root with /work writable
    points: 1
    image: run:user
    run: id -u > me && cat me && test ! -e /etc/remove-me-not && ls /etc/remove-me
    checks: [{stdout: {equals: "0\\n/etc/remove-me"}}]
`
  const r = await grade(spec, [sub])
  assert.is(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  const s = report.submissions[0]
  assert.is(s.status, 'graded', JSON.stringify(s))
  const tests = byName(s)
  assert.is(tests["the image's files and env"].status, 'passed', JSON.stringify(tests["the image's files and env"]))
  assert.is(tests['the build ran there too'].status, 'passed', JSON.stringify(s.build))
  // run:user is the base layer alone: etc/remove-me is there (the top layer of run:v1 deletes it)
  assert.is(tests['another image, as root with /work writable'].status, 'passed', JSON.stringify(tests['another image, as root with /work writable']))
  const ids = report.engine.images
  assert.ok(/^sha256:[0-9a-f]{64}$/.test(ids['run:v1']) && /^sha256:[0-9a-f]{64}$/.test(ids['run:user']), JSON.stringify(report.engine))
  assert.is.not(ids['run:v1'], ids['run:user'])
})

rootTest(t, 'lab doctor --grading looks for each command in the image it runs on', async () => {
  const file = join(img.work, 'doctor.yaml')
  writeFileSync(file, 'title: doctor\nimage: run:v1\ntests:\n  - {name: a, points: 1, run: "busybox true && python3 x.py", checks: [{exitCode: 0}]}\n  - {name: b, points: 1, image: run:user, run: "stat x", checks: [{exitCode: 0}]}\n')
  const r = await lab(['doctor', '--grading', file, '--json'], {env: img.env, timeout: 60_000})
  assert.is(r.code, 1, r.stderr)
  const checks = JSON.parse(r.stdout).checks
  const find = (name, image) => checks.find((c) => c.name === name && c.image === image)
  assert.ok(find('busybox', 'run:v1')?.inSandbox, JSON.stringify(checks))
  // the host has python3; the image does not, and that is what counts
  assert.is(find('python3', 'run:v1')?.inSandbox, null, JSON.stringify(checks))
  assert.is(find('python3', 'run:v1')?.onHost, null)
  assert.ok(find('stat', 'run:user')?.inSandbox, JSON.stringify(checks))
  const text = await lab(['doctor', '--grading', file], {env: img.env, timeout: 60_000})
  assert.match(text.stdout, /FAIL\s+python3\s+missing on the image run:v1 \(used by a\)/)
})

rootTest(t, 'an image the store lacks stops the batch before anything runs, with a one-line error and the way to get it', async () => {
  const sub = files(join(img.work, 'sub2'), {'a.sh': 'echo hi\n'})
  const spec = `title: missing
tests:
  - name: on a missing image
    points: 1
    image: no-such:v1
    run: sh a.sh
    checks: [{stdout: {equals: hi}}]
`
  const r = await grade(spec, [sub], false)
  assert.is(r.code, 1)
  assert.match(r.stderr, /the image of test "on a missing image", no-such:v1, is not in lab's store/)
  assert.match(r.stderr, /lab image pull no-such:v1/)
  assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr)
})

rootTest(t, 'a malformed image reference is refused by the spec\'s schema with its line', async () => {
  const sub = files(join(img.work, 'sub3'), {'a.sh': 'echo hi\n'})
  const r = await grade('title: bad\nimage: "run sh; rm -rf /"\ntests:\n  - {name: x, points: 1, run: "true", checks: [{exitCode: 0}]}\n', [sub], false)
  assert.is.not(r.code, 0)
  assert.match(r.stderr, /:2: \/image: must match pattern/)
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
})

t.run()
