// Joined IPC and PID namespaces under the default user remapping: a joiner shares the
// owning user namespace (and id range) of the sandbox it joins, sees its System V
// segments, its /dev/shm and its processes, and nothing of the host's. Each test proves
// it from inside the sandboxes, with a real segment and real files.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest, waitFor} from '../helpers.mjs'
import {idPool, POOL_LOCK_DIR, RANGE_SIZE} from '../../dist/sandbox/userns.js'

const t = suite('joins')
const STATE = mkdtempSync(join(tmpdir(), 'lab-joins-'))
const env = {...process.env, LAB_STATE_DIR: STATE}
const S = (args, opts = {}) => lab(['sandbox', ...args], {env, ...opts})
const inspect = async (name, fmt) => (await S(['inspect', '-f', fmt, name])).stdout.trim()

// System V shared memory through libc (python3 has no module for it): KEY's segment,
// created with TEXT, or read and printed.
const SHM = `import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
key, text = int(sys.argv[1], 16), sys.argv[2] if len(sys.argv) > 2 else None
shmid = libc.shmget(key, 4096, 0o1644 if text else 0)
if shmid < 0: print('no segment', ctypes.get_errno()); sys.exit(3)
addr = libc.shmat(shmid, None, 0 if text else 0o10000)
if text: ctypes.memmove(addr, text.encode() + b'\\0', len(text) + 1)
else: print(ctypes.string_at(addr).decode())
`
const hostPid = process.pid

t.after(async () => {
  const ids = (await S(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
  if (ids.length) await S(['rm', '-f', ...ids])
  rmSync(STATE, {recursive: true, force: true})
})

rootTest(t, 'remapped --ipc sandbox:NAME: the joiner sees its System V segment and /dev/shm, on the same id range; a private one sees neither', async () => {
  const p = await S(['run', '-d', '--name', 'jn-p', '--', 'sh', '-c', `echo from-p > /dev/shm/note; python3 -c "$0" 1ab5c0de shared-by-p && exec sleep 300`, SHM])
  assert.is(p.code, 0, p.stderr)
  assert.ok(await waitFor(async () => (await S(['exec', 'jn-p', 'ls', '/dev/shm'])).stdout.includes('note')), 'the producer is ready')
  const c = await S(['run', '--ipc', 'sandbox:jn-p', '--', 'sh', '-c', `python3 -c "$0" 1ab5c0de; cat /dev/shm/note; echo made-by-c > /dev/shm/back; grep -c mqueue /proc/mounts; cat /proc/self/uid_map`, SHM])
  assert.is(c.code, 0, c.stderr)
  const [seg, note, mq, map] = c.stdout.trim().split('\n')
  assert.is(seg, 'shared-by-p', 'the segment p wrote is read through the shared IPC namespace')
  assert.is(note, 'from-p', "p's /dev/shm is the joiner's")
  assert.is(mq, '1', 'an mqueue of the shared IPC namespace is mounted')
  const pid = await inspect('jn-p', '{{.State.Pid}}')
  assert.is(map.trim().split(/\s+/).join(' '), readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), 'the joiner runs on p\'s id range')
  assert.not.match(map, /^\s*0\s+0\s/, 'root inside is not host root')
  assert.is((await S(['exec', 'jn-p', 'cat', '/dev/shm/back'])).stdout, 'made-by-c\n', 'and p sees what the joiner wrote')
  const alone = await S(['run', '--', 'sh', '-c', `python3 -c "$0" 1ab5c0de; ls /dev/shm`, SHM])
  assert.match(alone.stdout, /^no segment/, 'a sandbox of its own has its own IPC namespace')
  assert.not.match(alone.stdout, /note/)
})

rootTest(t, 'remapped --pid sandbox:NAME: the joiner lists p\'s processes and no host process', async () => {
  const c = await S(['run', '--pid', 'sandbox:jn-p', '--', 'sh', '-c', 'for d in /proc/[0-9]*; do printf "%s %s\\n" "${d#/proc/}" "$(tr "\\0" " " < $d/cmdline)"; done'])
  assert.is(c.code, 0, c.stderr)
  const procs = c.stdout.trim().split('\n')
  assert.ok(procs.some((l) => /^1 sleep 300/.test(l)), `p's program is PID 1 of the shared namespace: ${c.stdout}`)
  assert.ok(procs.length < 10, 'only the sandboxes\' few processes')
  assert.not.ok(procs.some((l) => l.includes('node') || l.startsWith(`${hostPid} `)), 'no host process is visible')
  // and p sees the joiner's processes too: one PID namespace
  const d = await S(['run', '-d', '--name', 'jn-c', '--pid', 'sandbox:jn-p', '--', 'sleep', '301'])
  assert.is(d.code, 0, d.stderr)
  assert.ok(await waitFor(async () => (await S(['exec', 'jn-p', 'ps', '-eo', 'args'])).stdout.includes('sleep 301')), 'p sees the joiner\'s sleep')
  await S(['rm', '-f', 'jn-c'])
})

rootTest(t, 'the shared id range stays taken while a joiner runs on it, even after the sandbox it joined is gone', async () => {
  assert.is((await S(['run', '-d', '--name', 'jn-r1', '--', 'sleep', '300'])).code, 0)
  const c = await S(['run', '-d', '--name', 'jn-r2', '--ipc', 'sandbox:jn-r1', '--', 'sleep', '300'])
  assert.is(c.code, 0, c.stderr)
  const base = Number(readFileSync(`/proc/${await inspect('jn-r1', '{{.State.Pid}}')}/uid_map`, 'utf8').trim().split(/\s+/)[1])
  await S(['rm', '-f', 'jn-r1'])
  // a new sandbox claims a range by locking its slot exclusively: that must fail now
  const slot = `${POOL_LOCK_DIR}/${(base - idPool().base) / RANGE_SIZE}`
  const probe = `import fcntl\nf = open('${slot}', 'r+')\ntry:\n  fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('claimable')\nexcept BlockingIOError: print('held')`
  assert.is(execFileSync('python3', ['-c', probe], {encoding: 'utf8'}).trim(), 'held')
  await S(['rm', '-f', 'jn-r2'])
  assert.is(execFileSync('python3', ['-c', probe], {encoding: 'utf8'}).trim(), 'claimable', 'and free once the joiner is gone')
})

rootTest(t, '--ipc host as root: the remapped sandbox sees a host System V segment; a private one does not', async () => {
  const key = (0x5ab00000 + (process.pid & 0xffff)).toString(16)
  execFileSync('python3', ['-c', SHM, key, 'made-on-host'])
  try {
    const c = await S(['run', '--ipc', 'host', '--', 'python3', '-c', SHM, key])
    assert.is(c.code, 0, c.stderr)
    assert.is(c.stdout.trim(), 'made-on-host')
    const alone = await S(['run', '--', 'python3', '-c', SHM, key])
    assert.match(alone.stdout, /^no segment/)
  } finally {
    execFileSync('ipcrm', ['-M', '0x' + key])
  }
})

rootTest(t, 'bad joins: a stopped sandbox, and --userns=host with a remapped one → one line, exit 125', async () => {
  const conflict = await S(['run', '--userns=host', '--ipc', 'sandbox:jn-p', '--', 'true'])
  assert.is(conflict.code, 125)
  assert.match(conflict.stderr, /^lab: cannot join sandbox jn-p \(--ipc\) with --userns=host: .*\(leave out --userns=host/)
  assert.is(conflict.stderr.trim().split('\n').length, 1)
  await S(['stop', '-t', '0', 'jn-p'])
  for (const flag of ['--ipc', '--pid']) {
    const late = await S(['run', flag, 'sandbox:jn-p', '--', 'true'])
    assert.is(late.code, 125)
    assert.match(late.stderr, new RegExp(`^lab: cannot join sandbox jn-p \\(${flag}\\): it is exited \\(start it first`))
    assert.is(late.stderr.trim().split('\n').length, 1)
  }
  await S(['rm', '-f', 'jn-p'])
})

t.run()
