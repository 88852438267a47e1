// The run request: typed numbers and Docker's flag texts give the same spec; argv is one
// front end that builds the request; which runs need a supervisor; flag combinations that
// cannot do what they say are refused with the fix.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'
import {buildSpec} from '../../dist/sandbox/build-spec.js'
import {parseRunArgv, requestFromArgv} from '../../dist/sandbox/argv.js'
import {needsSupervisor} from '../../dist/sandbox/request.js'
import {validateSpec} from '../../dist/sandbox/validate.js'
import {gradingRequest, resolveLimits, TEST_DEFAULTS} from '../../dist/grading/harness.js'

const t = suite('engine: the run request')

t('typed numbers and flag texts give the same limits and timeout', async () => {
  const typed = await buildSpec({command: ['true'], timeout: 1500, limits: {memory: 64 * 1024 * 1024, pidsLimit: 50, cpus: 1, cpuTime: 2000, outputLimit: 4096}})
  const text = await buildSpec({command: ['true'], timeout: '1.5s', limits: {memory: '64m', pidsLimit: '50', cpus: '1', cpuTime: '2s', outputLimit: '4k'}})
  assert.equal(typed.limits, text.limits)
  assert.is(typed.timeoutMs, 1500)
  assert.equal(typed.process.rlimits, text.process.rlimits)
})

t('grading builds the request with typed numbers, none turned back into text to be parsed again', async () => {
  const limits = resolveLimits(TEST_DEFAULTS, {time: '3s', memory: '128m', pids: 20})
  const req = gradingRequest({command: ['true'], workdir: '/', mounts: [], limits})
  assert.is(req.timeout, 3000)
  for (const k of ['memory', 'memorySwap', 'pidsLimit', 'outputLimit', 'cpuTime']) assert.is(typeof req.limits[k], 'number', k)
  const spec = await buildSpec(req)
  assert.is(spec.limits.memoryBytes, 128 * 1024 * 1024)
  assert.is(spec.limits.pids, 20)
  assert.is(spec.timeoutMs, 3000)
})

t('a typed number is checked as its text would be: one line naming the flag', async () => {
  for (const [req, re] of [
    [{limits: {memory: 1024}}, /--memory/],
    [{limits: {outputLimit: 1.5}}, /--output-limit/],
    [{timeout: -1}, /--timeout/],
    [{limits: {cpuTime: 0}}, /--cpu-time/],
  ]) {
    try {
      await buildSpec({command: ['true'], ...req})
      assert.unreachable(JSON.stringify(req))
    } catch (e) {
      assert.match(e.message, re)
      assert.ok(e.hint, 'the error says how to fix it')
    }
  }
})

t('argv is one front end: the request it builds, and which runs need the supervisor', () => {
  const req = (argv) => requestFromArgv(parseRunArgv(argv), {})
  assert.is(needsSupervisor(req(['--', 'true'])), false)
  assert.is(needsSupervisor(req(['-v', '/tmp:/x', '--', 'true'])), false, 'a host directory needs no supervisor')
  assert.is(needsSupervisor(req(['-v', 'data:/x', '--', 'true'])), true, 'a managed volume does')
  assert.is(needsSupervisor(req(['-v', '/anon', '--', 'true'])), true, 'an anonymous volume does')
  assert.is(needsSupervisor(req(['--network', 'sandbox:web', '--', 'true'])), true)
  assert.is(needsSupervisor(req(['--volumes-from', 'web', '--', 'true'])), true)
  assert.is(needsSupervisor(req(['-d', '--', 'true'])), true)
  const named = req(['--name', 'keepme', '--', 'true'])
  assert.is(named.keep, true, 'a named foreground run is kept, as Docker keeps it')
  assert.is(req(['--name', 'x', '--rm', '--', 'true']).keep, undefined)
  const r = req(['-m', '64m', '--cpu-time', '1s', '-e', 'A=1', '-d', '-i', '--restart', 'on-failure:2', '--', 'sh', '-c', 'x'])
  assert.equal(r.command, ['sh', '-c', 'x'])
  assert.is(r.limits.memory, '64m')
  assert.is(r.detach, true)
  assert.is(r.interactive, true)
  assert.is(r.restart, 'on-failure:2')
  assert.equal(r.callerEnv, {})
})

t('--cap-add NET_RAW with --network host under remapping is refused by a named check, with the fix', async () => {
  const spec = await buildSpec({command: ['true'], capAdd: ['NET_RAW'], network: 'host'})
  try {
    await validateSpec(spec)
    assert.unreachable('refused')
  } catch (e) {
    assert.is(e.code, 'spec-capability-reaches-namespace')
    assert.match(e.message, /--cap-add NET_RAW cannot work with --network host under user remapping/)
    assert.match(e.hint, /--userns=host/)
  }
  await validateSpec(await buildSpec({command: ['true'], capAdd: ['NET_RAW']})) // its own network: fine
  await validateSpec(await buildSpec({command: ['true'], capAdd: ['CHOWN'], network: 'host'})) // not a network capability
})

rootTest(t, 'the CLI refuses it in one line and exit 125; --userns=host runs it', async () => {
  const r = await lab(['sandbox', 'run', '--cap-add', 'net_admin', '--network', 'host', '--', 'true'])
  assert.is(r.code, 125)
  assert.match(r.stderr, /^lab: --cap-add NET_ADMIN cannot work with --network host .*--userns=host/)
  assert.is(r.stderr.trim().split('\n').length, 1)
  const ok = await lab(['sandbox', 'run', '--userns=host', '--cap-add', 'NET_RAW', '--network', 'host', '--', 'sh', '-c', 'grep CapEff /proc/self/status'])
  assert.is(ok.code, 0, ok.stderr)
  assert.match(ok.stdout, /CapEff:\s+0000000000002000/, 'NET_RAW (bit 13) is in force')
})

rootTest(t, 'the bundled run path (bin/fast-start.cjs) and the modules give the same run, result and errors', async () => {
  const {load} = await import('../../bin/fast-start.cjs')
  assert.ok(load(), 'the build made a bundle no older than the compiled TypeScript')
  const modules = {env: {...process.env, LAB_NO_FAST_START: '1'}}
  const script = 'grep -E "^(NoNewPrivs|CapEff)" /proc/self/status; echo out; echo err >&2; exit 3'
  const a = await lab(['sandbox', 'run', '--json', '--pids-limit', '20', '--', 'sh', '-c', script])
  const b = await lab(['sandbox', 'run', '--json', '--pids-limit', '20', '--', 'sh', '-c', script], modules)
  assert.is(a.code, 3)
  assert.is(b.code, 3)
  const [ja, jb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)]
  assert.equal(Object.keys(ja).sort(), Object.keys(jb).sort())
  for (const k of ['exitCode', 'verdict', 'stdout', 'stderr']) assert.equal(ja[k], jb[k], k)
  assert.match(ja.stdout, /^CapEff:\s+0+\nNoNewPrivs:\s+1\nout\n$/)
  // a schema-checked input error is worded the same way (the bundle loads its validator itself)
  const bad = ['sandbox', 'run', '--security-opt', 'seccomp=/nonexistent.json', '--', 'true']
  const [ea, eb] = [await lab(bad), await lab(bad, modules)]
  assert.is(ea.code, 125)
  assert.is(ea.stderr, eb.stderr)
})

t.run()
