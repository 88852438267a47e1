// The escape and abuse battery for the engine core. Every test names the attack and
// the defence it expects, and proves it from inside the sandbox.
import {createServer} from 'node:net'
import {openSync, closeSync, writeFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest, sh, spawnLab} from '../helpers.mjs'

const t = suite('security: engine core')

rootTest(t, 'attack: use inherited privileges · defence: every capability set is empty and no_new_privs is set', async () => {
  const r = await sh('grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)" /proc/self/status')
  assert.is(r.code, 0, r.stderr)
  for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.match(r.stdout, new RegExp(`${k}:\\s+0000000000000000`))
  assert.match(r.stdout, /NoNewPrivs:\s+1/)
})

rootTest(t, 'attack: write to the root file system · defence: the root is read-only (EROFS)', async () => {
  const r = await sh('touch /pwned 2>&1; echo rc=$?; touch /usr/pwned 2>&1; touch /etc/passwd 2>&1; exit 0')
  assert.match(r.stdout, /Read-only file system/)
  assert.match(r.stdout, /rc=1/)
  assert.not.match(r.stdout, /touch: cannot touch '\/usr\/pwned': Permission denied/)
})

rootTest(t, 'attack: read kernel memory via /proc/kcore · defence: masked (reads nothing)', async () => {
  const r = await sh('wc -c < /proc/kcore 2>/dev/null || echo absent; cat /proc/keys 2>/dev/null | wc -c')
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /^(0|absent)\n0\n$/)
})

rootTest(t, 'attack: trigger SysRq via /proc/sysrq-trigger · defence: read-only', async () => {
  // (some kernels are built without SysRq: then the file is absent, which defends too)
  const r = await sh('{ echo h > /proc/sysrq-trigger; } 2>&1; echo rc=$?; { echo 1 > /proc/sys/kernel/panic; } 2>&1; echo rc=$?')
  assert.match(r.stdout, /(Read-only file system|Directory nonexistent|No such file)\nrc=2\n[^\n]*Read-only file system\nrc=2/)
})

rootTest(t, 'attack: create a device node with mknod · defence: CAP_MKNOD is gone (EPERM)', async () => {
  const r = await sh('mknod /tmp/mem c 1 1 2>&1; echo rc=$?')
  assert.match(r.stdout, /Operation not permitted/)
  assert.match(r.stdout, /rc=1/)
})

rootTest(t, 'attack: see or signal host processes · defence: own PID namespace, the command is PID 1', async () => {
  const r = await sh('echo self=$$; for p in /proc/[0-9]*; do cat $p/comm; done | sort -u | tr "\\n" " "; echo; kill -0 2 2>&1; echo rc=$?')
  assert.match(r.stdout, /^self=1\n/)
  const seen = r.stdout.split('\n')[1].trim().split(' ')
  assert.ok(seen.every((c) => ['sh', 'cat', 'sort', 'tr'].includes(c)), `sandbox sees ${seen}`)
  assert.match(r.stdout, /No such process\s*\nrc=1/)
})

rootTest(t, 'attack: reach a host service on 127.0.0.1 · defence: own network namespace with only loopback', async () => {
  const server = createServer((s) => s.end('host-secret\n'))
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const port = server.address().port
  try {
    const probe = `python3 -c "import socket;s=socket.socket();s.settimeout(2);s.connect(('127.0.0.1',${port}));print(s.recv(100).decode())"`
    const closed = await sh(`${probe} 2>&1; ip -o link 2>/dev/null | grep -c UP || true; cat /sys/class/net/lo/operstate`)
    assert.not.match(closed.stdout, /host-secret/)
    assert.match(closed.stdout, /Connection refused|timed out/)
    assert.match(closed.stdout, /unknown|up/)
    const open = await sh(probe, ['--network', 'host'])
    assert.match(open.stdout, /host-secret/, 'with --network host the same probe reaches the host')
  } finally {
    server.close()
  }
})

rootTest(t, 'attack: read the host\'s /etc/shadow, home or root directories · defence: a synthesized /etc, no /home, empty /root', async () => {
  const r = await sh('cat /etc/shadow 2>&1; ls /home 2>&1; ls -A /root | wc -l; cut -d: -f1 /etc/passwd | tr "\\n" " "')
  assert.match(r.stdout, /\/etc\/shadow: No such file or directory/)
  assert.match(r.stdout, /\/home'?: No such file or directory/)
  assert.match(r.stdout, /\n0\n/)
  assert.match(r.stdout, /root daemon bin sys nobody/)
})

rootTest(t, 'attack: change the shared copy of /etc for other sandboxes, or find its overlay\'s work directory · defence: /etc is read-only, a writable root writes to its own layer, the work directory is covered by /dev', async () => {
  const ro = await sh('for f in /etc/debian_version /etc/ld.so.cache; do (echo x >> $f) 2>&1; done; touch /etc/new 2>&1; ls -A /dev | tr "\\n" " "; cat /etc/debian_version')
  assert.is((ro.stdout.match(/Read-only file system|Permission denied/g) ?? []).length, 3, ro.stdout)
  assert.not.match(ro.stdout, /overlay-work/)
  assert.ok(ro.stdout.trim().endsWith(readFileSync('/etc/debian_version', 'utf8').trim()), 'the host file, unchanged')
  // a writable root: its own files and new ones can change; the host's stay the host's (owned by an unmapped id)
  const rw = await lab(['sandbox', 'run', '--read-only=false', '--', 'sh', '-c', 'echo changed > /etc/new && cat /etc/new && echo 10.0.0.9 extra >> /etc/hosts && getent hosts extra && (echo changed >> /etc/debian_version) 2>&1'])
  assert.match(rw.stdout, /^changed\n10\.0\.0\.9\s+extra\n.*Permission denied/, rw.stdout + rw.stderr)
  // neither the host nor the next sandbox sees it
  assert.not.match(readFileSync('/etc/debian_version', 'utf8'), /changed/)
  const next = await sh('cat /etc/debian_version; grep -c extra /etc/hosts; ls /etc/new 2>&1')
  assert.match(next.stdout, new RegExp(`^${readFileSync('/etc/debian_version', 'utf8').trim()}\n0\n.*No such file`))
  // the copy is root's and writable by no one else, in a directory others may only traverse
  const base = readdirSync('/run/lab/etc').filter((n) => !n.startsWith('.'))
  assert.ok(base.length >= 1)
  for (const n of base) {
    const st = statSync(join('/run/lab/etc', n, 'debian_version'), {throwIfNoEntry: false})
    if (!st) continue
    assert.is(st.uid, 0)
    assert.is(st.mode & 0o022, 0)
  }
  assert.is(statSync('/run/lab').mode & 0o777, 0o711)
})

rootTest(t, 'attack: use a file descriptor inherited from the caller · defence: only 0-2 reach the program', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labfd-'))
  const file = join(dir, 'secret')
  writeFileSync(file, 'caller-secret')
  const fd = openSync(file, 'r')
  try {
    const child = spawnLab(['sandbox', 'run', '--', 'sh', '-c', 'ls /proc/self/fd | tr "\\n" " "; cat <&5 2>&1; cat /proc/self/fd/5 2>&1; true'], {stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', fd]})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    await new Promise((r) => child.on('close', r))
    assert.not.match(out, /caller-secret/)
    assert.match(out, /^0 1 2 3 /, out)
  } finally {
    closeSync(fd)
    rmSync(dir, {recursive: true})
  }
})

rootTest(t, 'attack: chdir out of the root (runc CVE-2024-21626 class) · defence: cwd is checked; .. and /proc links stay inside', async () => {
  const r = await sh('cd /../../..; pwd; ls /proc/1/root/ | tr "\\n" " "; cd /proc/self/root/../../.. && pwd')
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /^\/\n/)
  assert.not.match(r.stdout, /work|home|root .*vmlinuz/)
  const bad = await lab(['sandbox', 'run', '-w', '/tmp/../..', '--', 'pwd'])
  assert.is(bad.code, 125)
  assert.match(bad.stderr, /contains "\.\."/)
})

rootTest(t, 'attack: overwrite the sandbox helper via /proc/1/exe (runc CVE-2019-5736 class) · defence: the helper is never visible inside', async () => {
  const r = await sh('readlink /proc/1/exe; ls /proc/1/root/work 2>&1; { echo x >> /proc/1/exe; } 2>&1; echo rc=$?')
  assert.not.match(r.stdout, /lab-helper/)
  assert.match(r.stdout, /No such file or directory/)
  assert.match(r.stdout, /(Text file busy|Read-only file system|Permission denied)\nrc=2/)
  const init = await sh('readlink /proc/1/exe || echo denied; cat /proc/1/exe > /dev/null 2>&1 || echo denied', ['--init'])
  assert.is(init.stdout, 'denied\ndenied\n', 'the init (helper code) is not reachable through /proc/1/exe')
})

rootTest(t, 'attack: inject keystrokes into the caller\'s terminal (TIOCSTI) · defence: own session, no controlling terminal', async () => {
  const r = await sh('python3 -c "import os; print(\'sid\', os.getsid(0)); os.open(\'/dev/tty\', os.O_RDWR)" 2>&1')
  assert.match(r.stdout, /sid 1\n/, 'the session is the sandbox\'s own, led by its PID 1')
  assert.match(r.stdout, /No such device or address/)
})

rootTest(t, 'attack: reach host devices · defence: /dev holds only the minimal set', async () => {
  const r = await sh('ls -A /dev | tr "\\n" " "')
  assert.equal(r.stdout.trim().split(' ').sort(), ['fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'])
})

rootTest(t, 'attack: write to /sys or mount a file system · defence: /sys is read-only and mount needs CAP_SYS_ADMIN', async () => {
  const r = await sh('{ echo 1 > /sys/kernel/profiling; } 2>&1; echo rc=$?; mount -t tmpfs none /tmp 2>&1; echo rc=$?; hostname evil 2>&1; echo rc=$?')
  assert.match(r.stdout, /Read-only file system\nrc=2/)
  assert.match(r.stdout, /(permission denied|Operation not permitted|must be superuser)[\s\S]*?rc=(1|32)/i)
  assert.match(r.stdout, /(Operation not permitted|must be root)[^\n]*\nrc=1\n$/)
})

rootTest(t, 'attack: read secrets from the caller\'s environment · defence: a clean environment', async () => {
  const r = await lab(['sandbox', 'run', '-e', 'SHOWN=1', '-e', 'PASSED', '--', 'env'], {env: {...process.env, LAB_TEST_SECRET: 'hunter2', PASSED: 'yes'}})
  assert.is(r.code, 0)
  assert.not.match(r.stdout, /hunter2/)
  assert.equal(r.stdout.trim().split('\n').map((l) => l.split('=')[0]).sort(), ['HOME', 'HOSTNAME', 'PASSED', 'PATH', 'SHOWN'])
  assert.match(r.stdout, /PASSED=yes/)
})

rootTest(t, 'attack: fill the host\'s disk through /tmp · defence: /tmp is a size-capped tmpfs (ENOSPC inside)', async () => {
  const r = await sh('dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1; df -k /tmp | tail -1')
  assert.match(r.stdout, /No space left on device/)
  assert.match(r.stdout, /65536/)
})

rootTest(t, 'attack: keep host-root-owned setuid binaries useful · defence: no_new_privs + nosuid', async () => {
  const r = await sh('mount 2>/dev/null | grep -E " on /usr " ')
  assert.match(r.stdout, /\bro\b.*nosuid.*nodev|nosuid.*nodev.*\bro\b|ro,nosuid,nodev/)
})

t.run()
