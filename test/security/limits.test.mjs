// The abuse battery for resource limits: hostile programs that try to exhaust memory,
// processes, CPU, output, disk and inodes, or to outlive the sandbox. Each test names the
// attack and the defence, checks the verdict and its evidence, and that nothing of the
// sandbox is left on the host (no process, cgroup, owner record or mount).
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {buildSpec} from '../../dist/sandbox/build-spec.js'
import {cgroupDriver, detectCgroups} from '../../dist/sandbox/cgroups/index.js'
import {runSandbox} from '../../dist/sandbox/run.js'
import {lab, leftoverMounts, processesMatching, rootTest, spawnLab, waitFor} from '../helpers.mjs'

const t = suite('security: resource limits')

/** `lab sandbox run --json FLAGS -- ARGS` → the parsed result. */
async function run(flags, args) {
  const r = await lab(['sandbox', 'run', '--json', ...flags, '--', ...args], {timeout: 60_000})
  let result
  try {
    result = JSON.parse(r.stdout)
  } catch {
    throw new Error(`no JSON result (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr}`)
  }
  return result
}

/** Every trace a sandbox could leave on the host. */
function assertNothingLeft(id, marker) {
  const layout = detectCgroups()
  const parents = layout.mode === 'v2' ? [join(layout.root, 'lab')] : [...new Set(Object.values(layout.v1))].map((h) => join(h, 'lab'))
  for (const p of parents) assert.not.ok(existsSync(join(p, id)), `cgroup ${join(p, id)} is left`)
  assert.not.ok(existsSync(`/run/lab/cgroups/${id}`), 'owner record is left')
  if (marker) assert.equal(processesMatching(marker).map((p) => p.cmd), [], 'processes are left')
  assert.equal(leftoverMounts(), [], 'mounts are left')
}

/** The host still answers promptly while the sandbox misbehaves. */
function hostLatencyMs() {
  const t0 = Date.now()
  execFileSync('true')
  return Date.now() - t0
}

const mark = () => `${3000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e6)}`
const py = (code) => ['python3', '-c', code]

rootTest(t, 'attack: fork bomb · defence: pids.max stops it; verdict pids with the refused forks as evidence', async () => {
  const m = mark()
  const pending = run(['--pids-limit', '64', '--timeout', '10s'], ['sh', '-c', `f(){ f | f & }; f 2>/dev/null; sleep ${m}`.replace(`sleep ${m}`, 'sleep 1.5')])
  await new Promise((r) => setTimeout(r, 700))
  assert.ok(hostLatencyMs() < 1000, 'the host stays responsive during the bomb')
  const r = await pending
  assert.is(r.verdict, 'pids', JSON.stringify(r))
  assert.is(r.evidence.pidsLimit, 64)
  assert.ok(r.evidence.pidsLimitHits > 0)
  assert.ok(r.pidsPeak === null || r.pidsPeak <= 64, `peak ${r.pidsPeak}`)
  assertNothingLeft(r.id)
})

rootTest(t, 'attack: memory bomb on the heap · defence: the memory limit; verdict memory with the OOM kill', async () => {
  const r = await run(['-m', '32m', '--timeout', '20s'], py('a=[]\nwhile True: a.append(bytearray(1<<20))'))
  assert.is(r.verdict, 'memory', JSON.stringify(r))
  assert.ok(r.evidence.oomKills >= 1)
  assert.is(r.evidence.memoryLimitBytes, 32 << 20)
  assert.ok(r.peakMemoryBytes <= 32 << 20, `peak ${r.peakMemoryBytes}`)
  assertNothingLeft(r.id)
})

for (const dir of ['/tmp', '/dev/shm']) {
  rootTest(t, `attack: memory bomb through ${dir} (tmpfs pages) · defence: tmpfs pages count against the memory limit`, async () => {
    const r = await run(['-m', '32m', '--timeout', '20s'], ['sh', '-c', `dd if=/dev/zero of=${dir}/fill bs=1M count=60 2>&1`])
    assert.is(r.verdict, 'memory', JSON.stringify(r))
    assert.ok(r.evidence.oomKills >= 1)
    assertNothingLeft(r.id)
  })
}

rootTest(t, 'attack: use swap to go past -m (the nsjail bypass) · defence: memory+swap is capped at -m unless --memory-swap says otherwise', async () => {
  const spec = await buildSpec({command: py('a=[]\nwhile True: a.append(bytearray(1<<20))'), limits: {memory: '32m'}, timeout: '20s'})
  const driver = cgroupDriver()
  let swapLimit = null
  const r = await runSandbox(spec, {
    stdio: 'pipe',
    onStarted: () => {
      for (const p of driver.open(spec.id).paths) {
        for (const f of ['memory.memsw.limit_in_bytes', 'memory.swap.max', 'memory.swappiness']) {
          if (existsSync(join(p, f))) swapLimit ??= `${f}=${readFileSync(join(p, f), 'utf8').trim()}`
        }
      }
    },
  })
  assert.ok([`memory.memsw.limit_in_bytes=${32 << 20}`, 'memory.swap.max=0', 'memory.swappiness=0'].includes(swapLimit), `swap bound: ${swapLimit}`)
  assert.is(r.verdict, 'memory', 'the allocation beyond -m is killed rather than swapped out')
  assert.is(r.evidence.memorySwapLimitBytes, 32 << 20)
  assertNothingLeft(r.id)
})

const SPIN = 'import threading,hashlib\nb=bytes(1<<20)\ndef s():\n    while True: hashlib.sha256(b).digest()\nfor i in range(8): threading.Thread(target=s,daemon=True).start()\nthreading.Event().wait()'

rootTest(t, 'attack: spin the CPU on 8 threads · defence: --cpus caps the quota; --cpu-time ends the run with verdict cpu-time', async () => {
  const [capped, timed] = await Promise.all([run(['--cpus', '0.5', '--timeout', '1s'], py(SPIN)), run(['--cpu-time', '300ms', '--timeout', '20s'], py(SPIN))])
  assert.is(capped.verdict, 'timeout')
  const used = capped.cpu.userMs + capped.cpu.systemMs
  assert.ok(used < 0.75 * capped.wallMs, `--cpus 0.5 used ${used} ms of CPU in ${capped.wallMs} ms`)
  assert.is(timed.verdict, 'cpu-time', JSON.stringify(timed))
  assert.is(timed.evidence.cpuTimeLimitMs, 300)
  const t2 = timed.cpu.userMs + timed.cpu.systemMs
  // ended long before the 20 s wall limit could (8 threads on 2 cores: up to 40 s of CPU);
  // the bound is loose because the checks run late on a loaded machine
  assert.ok(t2 >= 300 && t2 < 4000, `cpu time ${t2} ms`)
  assertNothingLeft(capped.id)
  assertNothingLeft(timed.id)
})

rootTest(t, 'attack: sleep, pause() or SIGSTOP itself to hold the slot · defence: the wall clock still ends it (verdict timeout)', async () => {
  const scripts = [['sleep', '100'], py('import signal; signal.pause()'), ['sh', '-c', 'sh -c "kill -STOP \\$\\$"; echo unreachable']]
  const results = await Promise.all(scripts.map((s) => run(['--timeout', '300ms'], s)))
  for (const r of results) {
    assert.is(r.verdict, 'timeout', JSON.stringify(r))
    assert.is(r.exitCode, 137)
    assert.ok(r.wallMs < 2000, `ended after ${r.wallMs} ms`)
    assert.is(r.evidence.timeoutMs, 300)
    assertNothingLeft(r.id)
  }
})

rootTest(t, 'attack: flood stdout and stderr with yes · defence: --output-limit cuts it and ends the run, in --json and terminal mode', async () => {
  const r = await run(['--output-limit', '4096'], ['sh', '-c', 'yes & yes >&2; wait'])
  assert.is(r.verdict, 'output-limit', JSON.stringify({...r, stdout: r.stdout.length, stderr: r.stderr.length}))
  assert.ok(r.stdout.length + r.stderr.length <= 4096)
  assert.match(r.stdout + r.stderr, /^(y\n)+y?$/, 'what was kept is the program\'s output, cut')
  assert.is(r.evidence.outputLimitBytes, 4096)
  assertNothingLeft(r.id)
  for (const script of ['yes', 'yes >&2']) {
    const term = await lab(['sandbox', 'run', '--output-limit', '65536', '--', 'sh', '-c', script])
    assert.is(term.code, 137)
    assert.ok(term.stdout.length + term.stderr.length <= 65536 + 200, `${term.stdout.length} + ${term.stderr.length} bytes reached the terminal`)
    assert.match(term.stderr, /output was cut at --output-limit 65536 bytes/)
  }
})

rootTest(t, 'attack: write a huge file · defence: RLIMIT_FSIZE; verdict file-size with SIGXFSZ as evidence', async () => {
  const viaShell = await run(['--ulimit', 'fsize=1048576'], ['sh', '-c', 'dd if=/dev/zero of=/tmp/big bs=1M count=8 2>/dev/null'])
  assert.is(viaShell.verdict, 'file-size', JSON.stringify(viaShell))
  assert.is(viaShell.evidence.fileSizeLimitBytes, 1048576)
  const direct = await run(['--init', '--ulimit', 'fsize=1048576'], ['dd', 'if=/dev/zero', 'of=/tmp/big', 'bs=1M', 'count=8'])
  assert.is(direct.verdict, 'file-size')
  assert.is(direct.signal, 'SIGXFSZ')
  assertNothingLeft(viaShell.id)
  assertNothingLeft(direct.id)
})

rootTest(t, 'attack: exhaust inodes in /tmp with empty files · defence: every inode is charged to the sandbox\'s memory limit', async () => {
  const r = await run(['-m', '32m', '--timeout', '30s'], py('i=0\nwhile True:\n    open("/tmp/f%d" % i, "w").close(); i += 1'))
  assert.is(r.verdict, 'memory', JSON.stringify(r))
  assert.ok(hostLatencyMs() < 1000)
  assertNothingLeft(r.id)
})

rootTest(t, 'attack: a double-forked daemon that ignores SIGTERM and HUP · defence: it dies with the sandbox', async () => {
  const m = mark()
  const r = await run([], ['sh', '-c', `(setsid sh -c 'trap "" TERM HUP; sleep ${m}' >/dev/null 2>&1 &); sleep 0.2; echo parent-exits`])
  assert.is(r.verdict, 'ok')
  assert.match(r.stdout, /parent-exits/)
  await waitFor(() => processesMatching(`sleep ${m}`).length === 0, 2000)
  assertNothingLeft(r.id, `sleep ${m}`)
})

rootTest(t, 'attack: kill -9 -1 inside · defence: it reaches only the sandbox\'s own processes', async () => {
  const m = mark()
  const host = spawn('sleep', [m], {stdio: 'ignore'})
  try {
    const r = await run([], ['sh', '-c', `sleep ${m} & kill -9 -1; wait; echo still-here`])
    assert.is(r.verdict, 'ok', JSON.stringify(r))
    assert.match(r.stdout, /still-here/)
    assert.is(host.exitCode, null, 'the host process with the same command line is alive')
    assert.is(processesMatching(`sleep ${m}`).length, 1, 'only the host one remains')
    assertNothingLeft(r.id)
  } finally {
    host.kill('SIGKILL')
  }
})

rootTest(t, 'two sandboxes at once each keep their own limits', async () => {
  const bomb = py('a=[]\nfor i in range(48): a.append(bytearray(1<<20))\nprint("allocated")')
  const [small, big] = await Promise.all([run(['-m', '32m'], bomb), run(['-m', '96m'], bomb)])
  assert.is(small.verdict, 'memory', JSON.stringify(small))
  assert.is(big.verdict, 'ok', JSON.stringify(big))
  assert.match(big.stdout, /allocated/)
  const [p1, p2] = await Promise.all([
    run(['--pids-limit', '8'], ['sh', '-c', 'for i in $(seq 20); do sleep 1 & done 2>/dev/null; wait']),
    run(['--pids-limit', '40'], ['sh', '-c', 'for i in $(seq 20); do sleep 0.2 & done; wait']),
  ])
  assert.is(p1.verdict, 'pids')
  assert.is(p2.verdict, 'ok', JSON.stringify(p2))
  for (const r of [small, big, p1, p2]) assertNothingLeft(r.id)
})

rootTest(t, 'when the CLI is killed mid-run, the sandbox dies and the next run sweeps its cgroup', async () => {
  const m = mark()
  const child = spawnLab(['sandbox', 'run', '--json', '--', 'sleep', m])
  const layout = detectCgroups()
  const parent = layout.mode === 'v2' ? join(layout.root, 'lab') : join(layout.v1.pids, 'lab')
  assert.ok(await waitFor(() => processesMatching(`sleep ${m}`).length > 0, 5000), 'the sandbox started')
  child.kill('SIGKILL')
  assert.ok(await waitFor(() => processesMatching(`sleep ${m}`).length === 0, 5000), 'the sandbox died with its caller')
  const r = await run([], ['true'])
  assert.is(r.verdict, 'ok')
  const {readdirSync} = await import('node:fs')
  // no parent group at all is fine too: it is removed with the last group in it
  const groups = existsSync(parent) ? readdirSync(parent) : []
  const left = groups.filter((n) => /^[0-9a-f]{64}$/.test(n)).filter((id) => {
    try {
      const [pid] = readFileSync(`/run/lab/cgroups/${id}`, 'utf8').split(' ')
      return !existsSync(`/proc/${pid}`)
    } catch {
      return true
    }
  })
  assert.equal(left, [], 'no group of a dead owner is left')
})

for (const [args, re] of [
  [['-m', '12qb'], /invalid size "12qb" for --memory/],
  [['-m', '-5'], /invalid size "-5" for --memory/],
  [['--cpus', '0'], /invalid --cpus "0"/],
  [['--pids-limit', '-2'], /invalid --pids-limit "-2"/],
  [['-m', '64m', '--memory-swap', '32m'], /--memory-swap 32m is below --memory 64m/],
  [['--cpu-time', 'forever'], /invalid duration "forever" for --cpu-time/],
  [['--output-limit', '-1'], /invalid size "-1" for --output-limit/],
]) {
  t(`bad limit ${args.join(' ')} → one-line error, exit 125`, async () => {
    const r = await lab(['sandbox', 'run', ...args, '--', 'true'])
    assert.is(r.code, 125, r.stderr)
    assert.match(r.stderr, re)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  })
}

t.run()
