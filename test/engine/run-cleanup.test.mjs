// After any run — normal, failed, killed, or when the CLI itself dies — nothing of the
// sandbox remains on the host: no process, no mount, no cgroup, no temp dir.
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {tmpdir} from 'node:os'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, leftoverMounts, processesMatching, rootTest, sh, sleep, spawnLab, waitFor} from '../helpers.mjs'

const t = suite('engine: nothing outlives a run')

// Other test files run in parallel: follow only our own processes (marked by a unique
// sleep duration) and their helper (the sandbox's parent on the host).
const sleepers = () => processesMatching(`sleep 1${process.pid}`).filter((p) => p.cmd.startsWith('sleep '))
const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
// The sandbox's group id, from its membership (v1 "N:pids:/lab/ID", v2 "0::/lab/ID").
const groupOf = (pid) => /\/lab\/([0-9a-f]{64})/.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1]
// Where that group would be in any hierarchy (v1: one per controller; v2: the root).
const groupDirs = (id) => ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))].map((h) => join(h, 'lab', id))
const ppid = (pid) => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])

rootTest(t, 'normal and failing runs leave no process, mount or temp file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labtmp-'))
  const env = {...process.env, TMPDIR: dir}
  assert.is((await sh('exit 0', [], {env})).code, 0)
  assert.is((await sh('exit 7', [], {env})).code, 7)
  assert.is((await lab(['sandbox', 'run', '--init', '--', 'sh', '-c', 'kill -SEGV $$'], {env})).code, 128 + 11)
  assert.is((await lab(['sandbox', 'run', '--', '/no/such/program'], {env})).code, 127)
  assert.is((await lab(['sandbox', 'run', '--', '/etc/passwd'], {env})).code, 126)
  assert.is((await lab(['sandbox', 'run', '--read-only=false', '--', 'sh', '-c', 'echo x > /usr/new'], {env})).code, 0)
  assert.equal(leftoverMounts(), [])
  assert.equal(readdirSync(dir), [], 'no temp file left')
  rmSync(dir, {recursive: true})
})

rootTest(t, 'a background process that outlives PID 1 is killed with the sandbox', async () => {
  const r = await sh(`(setsid sleep 1${process.pid} &) ; sleep 0.2; echo started`)
  assert.match(r.stdout, /started/)
  assert.is(await waitFor(() => sleepers().length === 0, 3000), true, 'the daemonised sleep is gone')
})

rootTest(t, 'SIGKILL of the CLI ends the sandbox (the helper sees its caller vanish)', async () => {
  await waitFor(() => sleepers().length === 0, 10_000) // none of an earlier test's is counted
  const child = spawnLab(['sandbox', 'run', '--', 'sleep', `1${process.pid}`])
  if (!(await waitFor(() => sleepers().length === 1, 20_000))) child.kill('SIGKILL')
  assert.is(sleepers().length, 1, 'the sandbox started')
  const helper = ppid(sleepers()[0].pid)
  const id = groupOf(sleepers()[0].pid)
  assert.ok(id, 'the sandbox is in its own group')
  child.kill('SIGKILL')
  assert.ok(await waitFor(() => sleepers().length === 0 && !alive(helper), 5000), 'sandbox and helper are gone')
  assert.equal(leftoverMounts(), [])
  // nobody is left to collect the result: the helper removed the group itself
  assert.equal(groupDirs(id).filter((d) => existsSync(d)), [], 'no cgroup of the run is left')
  assert.is(existsSync(`/run/lab/cgroups/${id}`), false, 'nor its ownership record')
})

rootTest(t, 'SIGKILL of the helper ends the sandbox (parent-death signal) and the CLI reports an engine error', async () => {
  await waitFor(() => sleepers().length === 0, 10_000) // none of an earlier test's is counted
  const child = spawnLab(['sandbox', 'run', '--', 'sleep', `1${process.pid}`])
  if (!(await waitFor(() => sleepers().length === 1, 20_000))) child.kill('SIGKILL')
  assert.is(sleepers().length, 1, 'the sandbox started')
  const code = new Promise((r) => child.on('close', r))
  process.kill(ppid(sleepers()[0].pid), 'SIGKILL')
  assert.is(await code, 125)
  assert.ok(await waitFor(() => sleepers().length === 0, 5000), 'the sandbox died with its helper')
})

/** Runs fn with a CLI whose sandbox sleeps; the CLI and its sandbox are gone afterwards even
 * when fn fails, so one failure cannot make the next test count a stranger's sleeper. */
async function withSleeper(flags, fn) {
  await waitFor(() => sleepers().length === 0, 10_000) // none of an earlier test's is counted
  const child = spawnLab(['sandbox', 'run', ...flags, '--', 'sleep', `1${process.pid}`])
  const code = new Promise((r) => child.on('close', r))
  try {
    // a start on a loaded machine (a parallel test file) can take seconds: wait, not guess
    assert.ok(await waitFor(() => sleepers().length === 1, 20_000), 'the sandbox started')
    await fn(child, code)
  } finally {
    child.kill('SIGKILL')
    await waitFor(() => sleepers().length === 0, 10_000)
  }
}

rootTest(t, 'SIGTERM to the CLI stops the sandbox: forwarded, then SIGKILL after the grace period for a PID 1 that ignores it', async () => {
  await withSleeper([], async (child, code) => {
    child.kill('SIGTERM')
    await sleep(300)
    assert.is(sleepers().length, 1, 'sleep as PID 1 has no handler: SIGTERM alone does not end it (as in Docker)')
    child.kill('SIGTERM') // a second SIGTERM does not wait for the grace period
    assert.is(await code, 137)
    assert.ok(await waitFor(() => sleepers().length === 0, 3000))
  })
})

rootTest(t, 'with --init, SIGTERM reaches the program (not PID 1) and ends it at once', async () => {
  await withSleeper(['--init'], async (child, code) => {
    child.kill('SIGTERM')
    assert.is(await code, 128 + 15)
    assert.is(sleepers().length, 0)
  })
})

rootTest(t, '--timeout ends a sleeping, a stopped and a signal-ignoring program', async () => {
  for (const script of ['sleep 30', 'sh -c "kill -STOP \\$\\$"; echo resumed', 'trap "" TERM INT; while :; do :; done']) {
    const r = await lab(['sandbox', 'run', '--json', '--timeout', '300ms', '--', 'sh', '-c', script])
    const j = JSON.parse(r.stdout)
    assert.is(j.verdict, 'timeout', script)
    assert.is(r.code, 137)
    assert.is(j.exitCode, 137)
  }
})

rootTest(t, 'orphans become zombies of a PID 1 that does not reap; the --init reaper collects them', async () => {
  // Each child forks a grandchild and exits; the orphaned grandchildren are re-parented
  // to PID 1. Python as PID 1 never waits for them; the init does.
  const py = [
    'import os, time, glob',
    'for i in range(3):',
    '    pid = os.fork()',
    '    if pid == 0:',
    '        if os.fork() == 0: os._exit(0)',
    '        os._exit(0)',
    '    os.waitpid(pid, 0)',
    'time.sleep(0.3)',
    "print(sum(1 for f in glob.glob('/proc/[0-9]*/status') if 'State:\\tZ' in open(f).read()))",
  ].join('\n')
  const bare = await lab(['sandbox', 'run', '--', 'python3', '-c', py])
  assert.is(bare.stdout.trim(), '3', bare.stderr)
  const withInit = await lab(['sandbox', 'run', '--init', '--', 'python3', '-c', py])
  assert.is(withInit.stdout.trim(), '0', withInit.stderr)
})

t.run()
