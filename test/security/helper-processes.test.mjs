// lab's own processes on the host: the fork server, the helper of an exec and its CLI,
// a supervisor that restarts its sandbox over and over or outlives its caller. Each test
// names the attack (or accident) and the defence, and checks the host's process table,
// cgroups and the helpers' open files: nothing may stay behind, pile up or be held.
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {ROOT, lab, leftoverMounts, processesMatching, rootTest, sleep, spawnLab, waitFor} from '../helpers.mjs'

const t = suite('security: lab\'s own processes')
// A short path: a detached sandbox's control socket lives under it (108-byte limit).
const STATE = mkdtempSync('/tmp/lab-hk-')
const env = {...process.env, LAB_STATE_DIR: STATE}
const S = (args, opts = {}) => lab(['sandbox', ...args], {env, ...opts})

// Other test files run in parallel: follow only our own programs, marked by a number
// no one else uses.
const mark = (n) => `${n}${process.pid}`
const running = (m) => processesMatching(`sleep ${m}`).filter((p) => p.cmd.startsWith('sleep '))
const ppid = (pid) => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
const alive = (pid) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
// The sandbox's group id, from its membership (v1 "N:pids:/lab/ID", v2 "0::/lab/ID").
const groupOf = (pid) => /\/lab\/([0-9a-f]{64})/.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1]
const groupDirs = (id) => ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))].map((h) => join(h, 'lab', id))

t.after(async () => {
  const ids = (await S(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
  if (ids.length) await S(['rm', '-f', ...ids])
  rmSync(STATE, {recursive: true, force: true})
})

rootTest(t, 'attack: the fork server (lab-helper serve) is killed with SIGKILL mid-batch · defence: each helper sees its socket close, kills its sandbox and removes its groups; the batch reports an engine error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-hk-'))
  const m = mark(5)
  const script = join(dir, 'batch.mjs')
  writeFileSync(script, `
    const {buildSpec} = await import(${JSON.stringify(join(ROOT, 'dist/sandbox/build-spec.js'))})
    const {runSandbox} = await import(${JSON.stringify(join(ROOT, 'dist/sandbox/run.js'))})
    const rs = await Promise.all([1, 2, 3].map(async () => runSandbox(await buildSpec({command: ['sleep', '${m}']}), {stdio: 'pipe'})))
    console.log(JSON.stringify(rs.map((r) => [r.verdict, r.exitCode])))
  `)
  const batch = spawn(process.execPath, [script], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  batch.stdout.on('data', (d) => (out += d))
  const ended = new Promise((r) => batch.on('close', r))
  try {
    assert.ok(await waitFor(() => running(m).length === 3, 15_000), 'three sandboxes run')
    const pids = running(m).map((p) => p.pid)
    const groups = pids.map(groupOf)
    assert.ok(groups.every(Boolean), 'each sandbox is in a group of its own')
    // the sandboxes' parents are the per-sandbox helpers; theirs is the server
    const server = ppid(ppid(pids[0]))
    assert.match(readFileSync(`/proc/${server}/cmdline`, 'utf8'), /lab-helper\0serve/)
    process.kill(server, 'SIGKILL')
    assert.ok(await waitFor(() => running(m).length === 0, 5000), 'every sandbox died with the server')
    assert.ok(await waitFor(() => groups.every((g) => groupDirs(g).every((d) => !existsSync(d))), 5000), 'no group of theirs is left')
    for (const g of groups) assert.is(existsSync(`/run/lab/cgroups/${g}`), false, 'nor an ownership record')
    assert.is(await ended, 0)
    assert.equal(JSON.parse(out), [['engine-error', 125], ['engine-error', 125], ['engine-error', 125]])
    assert.equal(leftoverMounts(), [])
  } finally {
    batch.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  }
})

rootTest(t, 'attack: the CLI of `sandbox exec`, then the helper of another, is killed with SIGKILL · defence: the exec\'d program never stays behind in the sandbox, which runs on', async () => {
  assert.is((await S(['run', '-d', '--name', 'hk-target', '--', 'sleep', mark(6)])).code, 0)
  // the CLI dies: its helper sees the control socket close and kills the program
  const cli = spawnLab(['sandbox', 'exec', 'hk-target', '--', 'sleep', mark(7)], {env})
  assert.ok(await waitFor(() => running(mark(7)).length === 1, 15_000), 'the exec\'d program runs')
  const helper = ppid(running(mark(7))[0].pid)
  cli.kill('SIGKILL')
  assert.ok(await waitFor(() => running(mark(7)).length === 0 && !alive(helper), 5000), 'program and helper are gone')
  // the helper dies: the program's parent-death signal ends it; the CLI says so
  const cli2 = spawnLab(['sandbox', 'exec', 'hk-target', '--', 'sleep', mark(8)], {env})
  const code = new Promise((r) => cli2.on('close', r))
  assert.ok(await waitFor(() => running(mark(8)).length === 1, 15_000), 'the second exec\'d program runs')
  process.kill(ppid(running(mark(8))[0].pid), 'SIGKILL')
  assert.ok(await waitFor(() => running(mark(8)).length === 0, 5000), 'the program died with its helper')
  assert.is(await code, 125)
  // the sandbox itself was never touched
  assert.is(running(mark(6)).length, 1, 'the sandbox runs on')
  assert.is((await S(['exec', 'hk-target', 'true'])).code, 0)
  assert.is((await S(['rm', '-f', 'hk-target'])).code, 0)
})

rootTest(t, 'attack: a program that fails at once, restarted again and again, to exhaust its supervisor · defence: every start closes what it opened (the supervisor\'s open files do not grow)', async () => {
  // a terminal too: each start then also makes a pty and a socket pair to pass it on
  const r = await S(['run', '-d', '-t', '--name', 'hk-restart', '--restart', 'on-failure:5', '--', 'sh', '-c', 'sleep 0.5; exit 3'])
  assert.is(r.code, 0, r.stderr)
  const id = r.stdout.trim()
  const status = join(STATE, 'run', 'sandboxes', id, 'status.json')
  const sup = JSON.parse(readFileSync(status, 'utf8')).supervisorPid
  assert.ok(sup > 0)
  // open files in each back-off pause, by restart count (the same point of each cycle);
  // the fewest seen in a pause, as a sample at its very edge may catch a start at work
  const seen = new Map()
  await waitFor(() => {
    let s
    try {
      s = JSON.parse(readFileSync(status, 'utf8'))
    } catch {
      return false // replaced at this instant
    }
    if (s.state === 'restarting' && alive(sup)) {
      try {
        const n = readdirSync(`/proc/${sup}/fd`).length
        seen.set(s.restartCount, Math.min(n, seen.get(s.restartCount) ?? n))
      } catch {}
    }
    return s.state === 'exited'
  }, 20_000, 10)
  assert.is(JSON.parse(readFileSync(status, 'utf8')).restartCount, 5, 'five restarts, then it stays down')
  const counts = [...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])
  assert.ok(counts.length >= 3, `open files seen in ${counts.length} pauses`)
  assert.is(Math.max(...counts), Math.min(...counts), `open files per pause: ${counts.join(', ')}`)
  await sleep(100)
  assert.is(alive(sup), false, 'the supervisor ended with its sandbox')
  assert.is((await S(['rm', 'hk-restart'])).code, 0)
})

rootTest(t, 'attack: a detached sandbox holds on to its caller\'s files (a pipe the caller waits on, a lock) for as long as it runs · defence: the helper closes every fd it was not given (0-2 and its control socket)', async () => {
  // Node marks only its low fds close-on-exec: fd 17, past a gap, reaches the helper
  const stdio = ['ignore', 'pipe', 'pipe', ...Array(14).fill('ignore'), 'pipe']
  const cli = spawn(process.execPath, ['--', join(ROOT, 'bin', 'run.js'), 'sandbox', 'run', '-d', '--name', 'hk-fds', '--', 'sleep', mark(9)], {stdio, env})
  let out = ''
  cli.stdout.on('data', (d) => (out += d))
  const extra = cli.stdio[17]
  extra.on('error', () => {}) // a reset is its end too
  const closed = new Promise((r) => extra.on('close', () => r(true)))
  extra.resume()
  try {
    // 'exit', not 'close': close waits for every stdio stream, the extra one included
    assert.is(await new Promise((r) => cli.on('exit', r)), 0)
    assert.ok(await waitFor(() => running(mark(9)).length === 1, 5000), 'the sandbox runs on')
    assert.match(out, /^[0-9a-f]{64}\n$/)
    // the CLI is gone: only the supervisor (or its sandbox) could still hold the other end
    assert.is(await Promise.race([closed, sleep(5000).then(() => false)]), true, 'the caller\'s pipe saw its end while the sandbox runs')
    assert.is(running(mark(9)).length, 1)
  } finally {
    extra.destroy()
    assert.is((await S(['rm', '-f', 'hk-fds'])).code, 0)
  }
})

t.run()
