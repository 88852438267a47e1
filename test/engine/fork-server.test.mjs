// The fork server (lab-helper serve) that batches use: many sandboxes at once over one
// socket, each with its own output, input and verdict; and nothing survives lab's death.
import {spawn} from 'node:child_process'
import {writeFileSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {processesMatching, ROOT, rootTest, waitFor} from '../helpers.mjs'

const {buildSpec} = await import(join(ROOT, 'dist/sandbox/build-spec.js'))
const {runSandbox} = await import(join(ROOT, 'dist/sandbox/run.js'))

const t = suite('engine: fork server')

rootTest(t, '24 concurrent sandboxes keep their own output, input and verdict apart', async () => {
  const runs = Array.from({length: 24}, async (_, i) => {
    const script = `i=0; while [ $i -lt 300 ]; do echo "sandbox ${i} line $i"; i=$((i+1)); done; echo "err ${i}" >&2; cat; exit ${i % 4}`
    const spec = await buildSpec({command: ['sh', '-c', script]})
    return runSandbox(spec, {stdio: 'pipe', input: `input ${i}\n`})
  })
  const results = await Promise.all(runs)
  results.forEach((r, i) => {
    const lines = r.stdout.trim().split('\n')
    assert.is(lines.length, 301, `sandbox ${i}: ${lines.length} lines`)
    assert.ok(lines.slice(0, 300).every((l, n) => l === `sandbox ${i} line ${n}`), `sandbox ${i} output is its own and in order`)
    assert.is(lines[300], `input ${i}`)
    assert.is(r.stderr, `err ${i}\n`)
    assert.is(r.exitCode, i % 4)
    assert.is(r.verdict, i % 4 === 0 ? 'ok' : 'nonzero-exit')
  })
})

rootTest(t, 'runs that start while others are in flight get their input (staggered arrivals)', async () => {
  const runs = Array.from({length: 30}, async (_, i) => {
    await new Promise((r) => setTimeout(r, (i % 10) * 7))
    const spec = await buildSpec({command: ['sh', '-c', 'read n; echo "got $n"'], timeout: '20s'})
    return runSandbox(spec, {stdio: 'pipe', input: `${i}\n`})
  })
  const results = await Promise.all(runs)
  results.forEach((r, i) => {
    assert.is(r.verdict, 'ok', `run ${i}: ${r.verdict}`)
    assert.is(r.stdout, `got ${i}\n`)
  })
})

rootTest(t, 'SIGKILL of the lab process ends every sandbox it started through the server', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labsrv-'))
  const mark = `3${process.pid}`
  const script = join(dir, 'batch.mjs')
  writeFileSync(script, `
    const {buildSpec} = await import(${JSON.stringify(join(ROOT, 'dist/sandbox/build-spec.js'))})
    const {runSandbox} = await import(${JSON.stringify(join(ROOT, 'dist/sandbox/run.js'))})
    await Promise.all([1, 2, 3].map(async () => runSandbox(await buildSpec({command: ['sleep', '${mark}']}), {stdio: 'pipe'})))
  `)
  const ownServers = new Set(processesMatching('lab-helper serve').map((p) => p.pid)) // this test process's own
  const child = spawn(process.execPath, [script], {stdio: 'ignore'})
  const sleepers = () => processesMatching(`sleep ${mark}`).filter((p) => p.cmd.startsWith('sleep '))
  try {
    assert.ok(await waitFor(() => sleepers().length === 3, 8000), 'three sandboxes run')
    child.kill('SIGKILL')
    const servers = () => processesMatching('lab-helper serve').filter((p) => p.cmd.startsWith(join(ROOT, 'dist')) && !ownServers.has(p.pid))
    assert.ok(await waitFor(() => sleepers().length === 0 && servers().length === 0, 5000), `left: ${JSON.stringify([...sleepers(), ...servers()])}`)
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, {recursive: true})
  }
})

rootTest(t, 'an output limit cuts one sandbox and leaves its neighbours whole', async () => {
  const flood = runSandbox(await buildSpec({command: ['yes'], limits: {outputLimit: '8k'}}), {stdio: 'pipe'})
  const calm = runSandbox(await buildSpec({command: ['sh', '-c', 'sleep 0.2; echo calm']}), {stdio: 'pipe'})
  const [f, c] = await Promise.all([flood, calm])
  assert.is(f.verdict, 'output-limit')
  assert.ok(f.stdout.length <= 8192)
  assert.is(c.stdout, 'calm\n')
  assert.is(c.verdict, 'ok')
})

t.run()
