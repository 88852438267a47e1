// The sandbox lifecycle: detached sandboxes, states and transitions, logs, exec, volumes,
// joined namespaces, restart policies and crash safety. Each test proves its point from
// inside the sandbox or from the host's process table, in a temporary state directory.
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, processesMatching, rootTest, sleep, waitFor} from '../helpers.mjs'

const t = suite('lifecycle')
const STATE = mkdtempSync(join(tmpdir(), 'lab-lc-'))
const env = {...process.env, LAB_STATE_DIR: STATE}
const L = (args, opts = {}) => lab(args, {env, ...opts})
const S = (args, opts) => L(['sandbox', ...args], opts)
const inspect = async (name, fmt) => (await S(['inspect', '-f', fmt, name])).stdout.trim()
const supervisors = () => processesMatching('lab-helper run').filter((p) => !p.cmd.includes('strace'))

t.after(async () => {
  const ids = (await S(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
  if (ids.length) await S(['rm', '-f', '-v', ...ids])
  await L(['system', 'prune', '-f', '--volumes'])
  rmSync(STATE, {recursive: true, force: true})
})

rootTest(t, 'run -d prints the id; ps, logs, inspect --format, stop (grace then SIGKILL), start, rm', async () => {
  const r = await S(['run', '-d', '--name', 'lc-basic', '--', 'sh', '-c', 'echo out; echo err >&2; exec sleep 300'])
  assert.is(r.code, 0, r.stderr)
  const id = r.stdout.trim()
  assert.match(id, /^[0-9a-f]{64}$/)
  assert.match((await S(['ps'])).stdout, /lc-basic/)
  assert.is((await S(['ps', '-q'])).stdout.includes(id.slice(0, 12)), true)
  await waitFor(async () => (await S(['logs', 'lc-basic'])).stdout.includes('out'))
  const logs = await S(['logs', '-t', 'lc-basic'])
  assert.match(logs.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z out$/m)
  assert.match(logs.stderr, /Z err$/m)
  assert.is(await inspect('lc-basic', '{{.State.Status}} {{.Name}}'), 'running lc-basic')
  // the short id and a unique prefix work as well as the name
  assert.is(await inspect(id.slice(0, 12), '{{.Id}}'), id)
  const rmRunning = await S(['rm', 'lc-basic'])
  assert.is(rmRunning.code, 125)
  assert.match(rmRunning.stderr, /^lab: cannot remove sandbox lc-basic: it is running \(.*rm -f/)
  // sleep as PID 1 has no SIGTERM handler: stop must fall back to SIGKILL after -t
  const t0 = Date.now()
  assert.is((await S(['stop', '-t', '1', 'lc-basic'])).code, 0)
  assert.ok(Date.now() - t0 >= 900, 'stop waited for the grace period')
  assert.is(await inspect('lc-basic', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137')
  assert.match((await S(['ps', '-a', '--filter', 'status=exited'])).stdout, /Exited \(137\)/)
  assert.is((await S(['start', 'lc-basic'])).code, 0)
  assert.is(await inspect('lc-basic', '{{.State.Status}}'), 'running')
  assert.is((await S(['kill', '-s', 'TERM', 'lc-basic'])).code, 0, 'TERM is delivered (and ignored by sleep)')
  assert.is((await S(['kill', 'lc-basic'])).code, 0)
  assert.is((await S(['wait', 'lc-basic'])).stdout.trim(), '137')
  assert.is((await S(['rm', 'lc-basic'])).code, 0)
  assert.is((await S(['inspect', 'lc-basic'])).code, 125)
})

rootTest(t, 'create → start → pause (freezer) → unpause → rename → exit code through wait', async () => {
  const c = await S(['create', '--name', 'lc-states', '--', 'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done'])
  assert.is(c.code, 0, c.stderr)
  assert.is(await inspect('lc-states', '{{.State.Status}}'), 'created')
  assert.is((await S(['start', 'lc-states'])).code, 0)
  assert.is((await S(['pause', 'lc-states'])).code, 0)
  assert.is(await inspect('lc-states', '{{.State.Status}}'), 'paused')
  const pid = Number(await inspect('lc-states', '{{.State.Pid}}'))
  // frozen: the task state of PID 1 in the freezer is not running
  const exec = await S(['exec', 'lc-states', 'true'])
  assert.is(exec.code, 125)
  assert.match(exec.stderr, /paused.*unpause/)
  assert.is((await S(['unpause', 'lc-states'])).code, 0)
  assert.is(await inspect('lc-states', '{{.State.Status}}'), 'running')
  assert.ok(pid > 0)
  assert.is((await S(['rename', 'lc-states', 'lc-renamed'])).code, 0)
  assert.is((await S(['inspect', 'lc-states'])).code, 125)
  assert.is((await S(['stop', 'lc-renamed'])).code, 0)
  assert.is((await S(['wait', 'lc-renamed'])).stdout.trim(), '7', 'the trap ran: SIGTERM came first')
  assert.is((await S(['rm', 'lc-renamed'])).code, 0)
})

rootTest(t, 'exec joins the running sandbox with its hardening: no capabilities, no_new_privs, its pid namespace and root', async () => {
  assert.is((await S(['run', '-d', '--name', 'lc-exec', '--', 'sh', '-c', 'echo marker > /tmp/m; exec sleep 300'])).code, 0)
  await sleep(200)
  const r = await S(['exec', 'lc-exec', 'sh', '-c', 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; cat /tmp/m; cat /proc/1/cmdline | tr "\\0" " "; echo; ls /home 2>&1; true'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /CapEff:\s+0000000000000000/)
  assert.match(r.stdout, /CapBnd:\s+0000000000000000/)
  assert.match(r.stdout, /NoNewPrivs:\s+1/)
  assert.match(r.stdout, /\nmarker\n/, 'sees the sandbox\'s own /tmp')
  assert.match(r.stdout, /sleep 300/, 'PID 1 is the sandbox\'s program')
  assert.match(r.stdout, /No such file/, 'the host\'s /home is not there')
  assert.is((await S(['exec', 'lc-exec', 'sh', '-c', 'exit 5'])).code, 5)
  assert.is((await S(['exec', 'lc-exec', 'no-such-program'])).code, 127)
  const top = await S(['top', 'lc-exec'])
  assert.match(top.stdout, /sleep 300/)
  const stats = await S(['stats', '--no-stream', '--json', 'lc-exec'])
  const row = JSON.parse(stats.stdout)[0]
  assert.is(row.name, 'lc-exec')
  assert.ok(row.pids >= 1 && row.memoryBytes > 0)
  await S(['rm', '-f', 'lc-exec'])
})

rootTest(t, 'two sandboxes share a named volume: the writer writes, the reader (--volumes-from :ro) reads and cannot write', async () => {
  assert.is((await S(['run', '-d', '--name', 'lc-writer', '-v', 'lc-data:/data', '--', 'sh', '-c', 'echo hello-volume > /data/f; exec sleep 300'])).code, 0)
  await waitFor(async () => (await L(['volume', 'inspect', '-f', '{{.mountpoint}}', 'lc-data'])).code === 0)
  const reader = await S(['run', '--volumes-from', 'lc-writer:ro', '--', 'sh', '-c', 'cat /data/f; echo x > /data/g; echo rc=$?'])
  assert.match(reader.stdout, /hello-volume/)
  assert.match(reader.stderr + reader.stdout, /Read-only file system/)
  assert.match(reader.stdout, /rc=[12]/)
  const inUse = await L(['volume', 'rm', 'lc-data'])
  assert.is(inUse.code, 125)
  assert.match(inUse.stderr, /^lab: volume "lc-data" is in use by lc-writer/)
  await S(['rm', '-f', 'lc-writer'])
  // the volume survives rm (without -v) and is there for the next sandbox
  const again = await S(['run', '-v', 'lc-data:/d:ro', '--', 'cat', '/d/f'])
  assert.match(again.stdout, /hello-volume/)
  assert.is((await L(['volume', 'rm', 'lc-data'])).code, 0)
  assert.match((await L(['volume', 'ls', '-q'])).stdout, /^(?!.*lc-data)/s)
})

rootTest(t, 'anonymous volumes are removed with rm -v', async () => {
  assert.is((await S(['run', '-d', '--name', 'lc-anon', '-v', '/scratch', '--', 'sleep', '300'])).code, 0)
  const vols = JSON.parse((await L(['volume', 'ls', '--json'])).stdout).filter((v) => v.usedBy.includes('lc-anon'))
  assert.is(vols.length, 1)
  assert.ok(vols[0].anonymous)
  await S(['rm', '-f', '-v', 'lc-anon'])
  assert.is((await L(['volume', 'inspect', vols[0].name])).code, 125)
})

rootTest(t, 'joined network: a server in one sandbox, a client in another over 127.0.0.1; joining a stopped one is refused', async () => {
  assert.is((await S(['run', '-d', '--name', 'lc-srv', '--', 'python3', '-m', 'http.server', '--bind', '127.0.0.1', '8765'])).code, 0)
  const probe = "import urllib.request,time\nfor i in range(50):\n  try:\n    print(urllib.request.urlopen('http://127.0.0.1:8765/').status); break\n  except Exception: time.sleep(0.1)"
  const ok = await S(['run', '--network', 'sandbox:lc-srv', '--', 'python3', '-c', probe])
  assert.is(ok.stdout.trim(), '200', ok.stderr)
  const alone = await S(['run', '--', 'python3', '-c', "import urllib.request\ntry: urllib.request.urlopen('http://127.0.0.1:8765/', timeout=2)\nexcept Exception as e: print('refused', e)"])
  assert.match(alone.stdout, /refused/, 'without the join the server is not reachable')
  await S(['stop', '-t', '0', 'lc-srv'])
  const late = await S(['run', '-d', '--network', 'sandbox:lc-srv', '--', 'true'])
  assert.is(late.code, 125)
  assert.match(late.stderr, /^lab: cannot join sandbox lc-srv \(--network\): it is exited \(start it first/)
  assert.is(late.stderr.trim().split('\n').length, 1)
  await S(['rm', 'lc-srv'])
})

rootTest(t, 'bad input: unknown sandbox, ambiguous short id, invalid name, name conflict naming the holder → one line, exit 125', async () => {
  const unknown = await S(['stop', 'no-such-thing'])
  assert.is(unknown.code, 125)
  assert.is(unknown.stderr, 'lab: no such sandbox: no-such-thing (see `lab sandbox ps -a` for the sandboxes there are)\n')
  const bad = await S(['run', '-d', '--name', '../evil', '--', 'true'])
  assert.is(bad.code, 125)
  assert.match(bad.stderr, /^lab: invalid name "\.\.\/evil"/)
  assert.is((await S(['create', '--name', 'lc-dup', '--', 'true'])).code, 0)
  const holder = (await inspect('lc-dup', '{{.Id}}')).slice(0, 12)
  const dup = await S(['create', '--name', 'lc-dup', '--', 'true'])
  assert.is(dup.code, 125)
  assert.is(dup.stderr.trim().split('\n').length, 1)
  assert.match(dup.stderr, new RegExp(`already in use by sandbox ${holder}`))
  // 16 ids: some pair shares its first hex digit, so that prefix is ambiguous
  const ids = []
  for (let i = 0; i < 16; i++) ids.push((await S(['create', '--', 'true'])).stdout.trim())
  const byFirst = new Map()
  for (const id of [...ids, holder]) byFirst.set(id[0], (byFirst.get(id[0]) ?? 0) + 1)
  const prefix = [...byFirst].find(([, n]) => n > 1)[0]
  const amb = await S(['inspect', prefix])
  assert.is(amb.code, 125)
  assert.match(amb.stderr, /^lab: "[0-9a-f]" matches \d+ sandboxes .*give more digits/)
  const fmt = await S(['inspect', '-f', '{{.No.Such}}', 'lc-dup'])
  assert.is(fmt.code, 125)
  assert.match(fmt.stderr, /^lab: --format:/)
  await S(['rm', 'lc-dup', ...ids])
})

rootTest(t, 'an exited sandbox keeps no cgroup: the supervisor removes it and keeps the final counters (an OOM kill) in its status', async () => {
  const r = await S(['run', '-d', '--name', 'lc-oom', '--memory', '24m', '--memory-swap', '24m', '--', 'python3', '-c', 'a = []\nwhile True: a.append(bytearray(b"x") * (1 << 20))'])
  assert.is(r.code, 0, r.stderr)
  const id = r.stdout.trim()
  await waitFor(async () => (await inspect('lc-oom', '{{.State.Status}}')) === 'exited', 20_000)
  assert.is(await inspect('lc-oom', '{{.State.ExitCode}}'), '137')
  // no other lab command that could sweep ran since: the supervisor removed them itself
  const dirs = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))].map((h) => join(h, 'lab', id))
  for (const d of dirs) assert.not.ok(existsSync(d), `${d} is gone`)
  assert.not.ok(existsSync(`/run/lab/cgroups/${id}`), 'and its ownership record')
  const {Lifecycle} = await import('../../dist/sandbox/lifecycle.js')
  const lc = new Lifecycle({stateDir: STATE})
  const stats = await lc.cgroupStats(lc.store.get('lc-oom'))
  assert.ok(stats && stats.oomKills >= 1, `the kernel's OOM kill is still known: ${JSON.stringify(stats)}`)
  assert.ok(stats.memoryPeakBytes > 16 << 20, `peak ${stats.memoryPeakBytes}`)
  // a new start makes new groups
  assert.is((await S(['start', 'lc-oom'])).code, 0)
  await waitFor(async () => (await inspect('lc-oom', '{{.State.Status}}')) === 'exited', 20_000)
  await S(['rm', 'lc-oom'])
})

rootTest(t, 'restart on-failure:2 restarts twice with back-off, then stays exited; a manual stop is never restarted', async () => {
  const t0 = Date.now()
  assert.is((await S(['run', '-d', '--name', 'lc-flaky', '--restart', 'on-failure:2', '--', 'sh', '-c', 'echo run; exit 3'])).code, 0)
  await waitFor(async () => (await inspect('lc-flaky', '{{.State.Status}} {{.RestartCount}}')) === 'exited 2', 10_000)
  assert.is(await inspect('lc-flaky', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}'), 'exited 2 3')
  // back-off of 100 ms then 200 ms: at least 300 ms in all (generous upper bound)
  const took = Date.now() - t0
  assert.ok(took >= 300 && took < 10_000, `took ${took} ms`)
  assert.is((await S(['logs', 'lc-flaky'])).stdout, 'run\nrun\nrun\n')
  assert.is((await S(['run', '-d', '--name', 'lc-always', '--restart', 'always', '--', 'sleep', '300'])).code, 0)
  assert.is((await S(['stop', '-t', '0', 'lc-always'])).code, 0)
  await sleep(500)
  assert.is(await inspect('lc-always', '{{.State.Status}} {{.RestartCount}}'), 'exited 0')
  const both = await S(['run', '-d', '--rm', '--restart', 'always', '--', 'true'])
  assert.is(both.code, 125)
  await S(['rm', 'lc-flaky', 'lc-always'])
})

rootTest(t, 'crash safety: kill -9 of the supervisor ends the sandbox, the next command reports it, prune leaves nothing', async () => {
  assert.is((await S(['run', '-d', '--name', 'lc-crash', '--', 'sleep', '300'])).code, 0)
  const sup = Number(await inspect('lc-crash', '{{.State.SupervisorPid}}'))
  const pid = Number(await inspect('lc-crash', '{{.State.Pid}}'))
  assert.ok(sup > 0 && pid > 0)
  process.kill(sup, 'SIGKILL')
  assert.ok(await waitFor(() => !existsSync(`/proc/${pid}`), 5000), 'the sandbox died with its supervisor')
  assert.is(await inspect('lc-crash', '{{.State.Status}} {{.State.KilledBy}}'), 'exited supervisor-died')
  assert.is((await S(['rm', 'lc-crash'])).code, 0)
  // kill -9 of the CLI while it starts a detached sandbox: whatever it left is pruned
  const {spawnLab} = await import('../helpers.mjs')
  const cli = spawnLab(['sandbox', 'run', '-d', '--name', 'lc-cli-killed', '--', 'sleep', '300'], {env})
  // listened for at once: a fast start can finish before the kill
  const closed = new Promise((r) => cli.on('close', r))
  await sleep(80)
  cli.kill('SIGKILL')
  await closed
  // killed before or after its supervisor started: either no record or a running sandbox
  await sleep(1000)
  await S(['rm', '-f', 'lc-cli-killed'])
  const pr = await L(['system', 'prune', '-f', '--json'])
  assert.is(pr.code, 0, pr.stderr)
  assert.is(supervisors().filter((p) => readFileSafe(`/proc/${p.pid}/environ`).includes(STATE)).length, 0)
  assert.is(readdirSync(join(STATE, 'run', 'sandboxes')).length, 0)
})

rootTest(t, '50 concurrent run -d get 50 distinct generated names and ids, and the state stays readable', async () => {
  const runs = await Promise.all(Array.from({length: 50}, () => S(['run', '-d', '--', 'sleep', '300'], {timeout: 120_000})))
  for (const r of runs) assert.is(r.code, 0, r.stderr)
  const ids = new Set(runs.map((r) => r.stdout.trim()))
  assert.is(ids.size, 50)
  const ps = JSON.parse((await S(['ps', '--json'])).stdout)
  const names = new Set(ps.filter((s) => ids.has(s.id)).map((s) => s.name))
  assert.is(names.size, 50)
  for (const n of names) assert.match(n, /^[a-z]+_[a-z]+\d*$/)
  const rm = await S(['rm', '-f', ...ids], {timeout: 120_000})
  assert.is(rm.code, 0, rm.stderr)
})

function readFileSafe(p) {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}

rootTest(t, 'a named foreground run is kept after it exits, as Docker keeps it; --rm or no name leaves nothing', async () => {
  const w = await S(['run', '--name', 'lc-kept', '-v', 'lc-keptvol:/data', '--', 'sh', '-c', 'echo kept > /data/f; echo said; exit 4'])
  assert.is(w.code, 4, w.stderr)
  assert.is(w.stdout, 'said\n')
  assert.is(await inspect('lc-kept', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 4')
  assert.is((await S(['logs', 'lc-kept'])).stdout, 'said\n')
  // its volumes serve --volumes-from after it ended (the volume-container pattern)
  const r = await S(['run', '--rm', '--volumes-from', 'lc-kept:ro', '--', 'cat', '/data/f'])
  assert.is(r.stdout, 'kept\n', r.stderr)
  assert.is((await S(['run', '--name', 'lc-kept', '--', 'true'])).code, 125, 'the name stays taken')
  assert.is((await S(['run', '--rm', '--name', 'lc-gone', '--', 'true'])).code, 0)
  assert.not.match((await S(['ps', '-a'])).stdout, /lc-gone/)
  assert.is((await S(['rm', 'lc-kept'])).code, 0)
})

t.run()
