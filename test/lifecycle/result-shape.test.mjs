// One run, one result: a run under a supervisor (a managed volume in the foreground, or
// -d then `wait`) gets the same SandboxResult and the same limit verdicts as a plain
// foreground run, judged from inside the sandbox's own cgroup counters; and a lab step
// that uses a managed volume reports an OOM kill as `memory`.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'

const t = suite('lifecycle: one result shape')
const STATE = mkdtempSync(join(tmpdir(), 'lab-shape-'))
const env = {...process.env, LAB_STATE_DIR: STATE}
const S = (args, opts = {}) => lab(['sandbox', ...args], {env, timeout: 60_000, ...opts})

t.after(async () => {
  const ids = (await S(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
  if (ids.length) await S(['rm', '-f', '-v', ...ids])
  await lab(['system', 'prune', '--volumes'], {env})
  rmSync(STATE, {recursive: true, force: true})
})

// Each case: the flags that set the limit, and a program that runs into it.
const CASES = {
  memory: {flags: ['-m', '16m'], script: 'x=a; while :; do x=$x$x; done'},
  pids: {flags: ['--pids-limit', '8'], script: 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3 & done; wait'},
  'cpu-time': {flags: ['--cpu-time', '300ms'], script: 'while :; do :; done'},
  timeout: {flags: ['--timeout', '300ms'], script: 'sleep 30'},
  'output-limit': {flags: ['--output-limit', '2k'], script: 'while :; do echo 0123456789abcdef; done'},
}

const SHAPE = ['id', 'name', 'verdict', 'exitCode', 'signal', 'timedOut', 'wallMs', 'cpu', 'peakMemoryBytes', 'pidsPeak', 'evidence', 'seccompProfile', 'userns']

function json(r) {
  assert.ok(r.stdout.trim().startsWith('{') || r.stdout.trim().startsWith('['), `JSON expected, got ${r.stdout.slice(0, 200)} / ${r.stderr}`)
  return JSON.parse(r.stdout)
}

function assertShape(res, verdict, how) {
  for (const k of SHAPE) assert.ok(k in res, `${how}: result has ${k}`)
  assert.is(res.verdict, verdict, `${how}: ${JSON.stringify(res.evidence)}`)
  assert.type(res.cpu.userMs, 'number')
  assert.ok(res.wallMs >= 0)
  assert.ok(Object.keys(res.evidence).length > 0, `${how}: the verdict shows its evidence`)
}

for (const [verdict, c] of Object.entries(CASES)) {
  rootTest(t, `${verdict}: foreground, foreground with a managed volume, and -d then wait give the same verdict and shape`, async () => {
    const fg = json(await S(['run', '--json', ...c.flags, '--', 'sh', '-c', c.script]))
    assertShape(fg, verdict, 'foreground')

    // a managed volume takes the run through the supervisor; the program proves it ran there
    const vol = `shape-${verdict}`
    const sup = json(await S(['run', '--json', ...c.flags, '-v', `${vol}:/v`, '--', 'sh', '-c', `echo inside > /v/mark; ${c.script}`]))
    assertShape(sup, verdict, 'supervised')
    assert.is(sup.exitCode, fg.exitCode)
    assert.is(sup.signal, fg.signal)
    assert.equal(Object.keys(sup.evidence).sort(), Object.keys(fg.evidence).sort(), 'the same evidence fields')
    const mark = await S(['run', '--rm', '-v', `${vol}:/v:ro`, '--', 'cat', '/v/mark'])
    assert.is(mark.stdout, 'inside\n', 'the supervised run wrote through its volume')

    const name = `shape-d-${verdict}`
    const d = await S(['run', '-d', '--name', name, ...c.flags, '--', 'sh', '-c', c.script])
    assert.is(d.code, 0, d.stderr)
    const [waited] = json(await S(['wait', '--json', name]))
    assertShape(waited, verdict, '-d then wait')
    assert.is(waited.exitCode, fg.exitCode)
    assert.is(waited.name, name)
    assert.is((await S(['rm', name])).code, 0)
  })
}

rootTest(t, 'a supervised run\'s result carries its output, its exit code and the sandbox\'s id range', async () => {
  const r = json(await S(['run', '--json', '-v', 'shape-out:/v', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']))
  assert.is(r.verdict, 'nonzero-exit')
  assert.is(r.exitCode, 3)
  assert.is(r.stdout, 'out\n')
  assert.is(r.stderr, 'err\n')
  assert.type(r.userns?.hostUidBase, 'number')
  assert.ok(r.userns.hostUidBase > 0, 'root inside is an unprivileged host id')
  // nothing is kept of a nameless foreground run
  assert.is((await S(['ps', '-aq'])).stdout.trim(), '')
})

rootTest(t, 'a program that cannot run: exec-failed and 127 with the same hint, foreground or supervised', async () => {
  const fg = json(await S(['run', '--json', '--', 'no-such-program']))
  const sup = json(await S(['run', '--json', '-v', 'shape-exec:/v', '--', 'no-such-program']))
  for (const r of [fg, sup]) {
    assert.is(r.verdict, 'exec-failed')
    assert.is(r.exitCode, 127)
    assert.match(r.error.hint, /does not exist in the sandbox/)
  }
  const plain = await S(['run', '-v', 'shape-exec:/v', '--', 'no-such-program'])
  assert.is(plain.code, 127)
  assert.match(plain.stderr, /cannot run the program: No such file or directory \(the program does not exist/)
  assert.not.match(plain.stderr, /userns=host/, 'no warning about host ids it does not use')
})

rootTest(t, 'a lab step that uses a managed volume reports an OOM kill as memory', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lab-shape-lab-')), 'oomvol')
  mkdirSync(join(dir, 'steps'), {recursive: true})
  writeFileSync(join(dir, 'steps', 'one.md'), 'Fill memory with a volume mounted.\n')
  writeFileSync(join(dir, 'lab.yaml'), `id: oomvol
title: OOM with a managed volume
chapter: "6"
source: test
estimatedMinutes: 1
steps:
  - id: one
    title: One
    read: steps/one.md
    actions:
      - volumeCreate: data
      - run: -m 16m -v data:/data -- sh -c 'echo start > /data/log; x=a; while :; do x=$x$x; done'
        as: big
    checks:
      - name: the memory verdict
        of: big
        verdict: memory
      - name: the kernel killed it (128+9)
        of: big
        exitCode: 137
`)
  try {
    const r = await lab(['run', dir, '--json'], {env, timeout: 60_000})
    assert.is(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.is(out.status, 'passed', JSON.stringify(out.steps, null, 1).slice(0, 3000))
    assert.equal(out.counts, {passed: 1, failed: 0, unavailable: 0, skipped: 0})
    const run = out.steps[0].actions.find((a) => a.as === 'big')
    assert.is(run.verdict, 'memory')
    assert.is(run.exitCode, 137)
  } finally {
    rmSync(join(dir, '..'), {recursive: true, force: true})
  }
})

t.run()
