// Rootless mode: the same `lab sandbox run` works for an ordinary user. Run as root,
// this suite creates an unprivileged user and runs lab as that user; each skip says why.
import {execFileSync, spawnSync} from 'node:child_process'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot, LAB, ROOT} from '../helpers.mjs'

const t = suite('security: rootless')
const USER = 'lab-rootless'

function setUp() {
  if (!isRoot) return 'needs root to create the unprivileged test user'
  if (spawnSync('id', [USER]).status !== 0) {
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER])
    if (r.status !== 0) return `cannot create the user ${USER}: ${r.stderr}`
  }
  const readable = spawnSync('runuser', ['-u', USER, '--', 'test', '-r', `${ROOT}/dist/cli/sandbox-run.js`])
  if (readable.status !== 0) return `the checkout ${ROOT} is not readable by an unprivileged user`
  return null
}

const skip = setUp()

/** Runs lab as the unprivileged user, with a HOME of its own for caches. */
function asUser(args) {
  const home = execFileSync('mktemp', ['-d', '/tmp/lab-rootless-home.XXXXXX'], {encoding: 'utf8'}).trim()
  execFileSync('chown', [USER, home])
  try {
    const r = spawnSync('runuser', ['-u', USER, '--', 'env', `HOME=${home}`, `XDG_RUNTIME_DIR=${home}/run`, process.execPath, '--', LAB, ...args], {encoding: 'utf8', timeout: 60_000})
    return {code: r.status, stdout: r.stdout, stderr: r.stderr}
  } finally {
    execFileSync('rm', ['-rf', home])
  }
}

const test = (name, fn) => (skip ? t.skip(`${name} [skipped: ${skip}]`, fn) : t(name, fn))

test('an ordinary user runs a hardened sandbox: root inside maps to the caller, every capability dropped', () => {
  const r = asUser(['sandbox', 'run', '--', 'sh', '-c', 'id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; cat /proc/self/uid_map | head -1'])
  assert.is(r.code, 0, r.stderr)
  const uid = Number(execFileSync('id', ['-u', USER], {encoding: 'utf8'}))
  assert.match(r.stdout, new RegExp(`^0\\nCapEff:\\s+0{16}\\nCapBnd:\\s+0{16}\\nNoNewPrivs:\\s+1\\n\\s*0\\s+${uid}\\s+1\\n$`))
})

test('the same protections hold without root: read-only root, masked /proc, no host processes, no network', () => {
  const r = asUser(['sandbox', 'run', '--', 'sh', '-c', '{ touch /x; } 2>&1; wc -c < /proc/kcore 2>/dev/null || echo absent; ls /proc | grep -cE "^[0-9]+$"; cat /sys/class/net/lo/operstate; ls /sys/class/net | wc -l'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /Read-only file system\n(0|absent)\n[1-5]\n(unknown|up)\n1\n/)
})

test('limits that cannot be enforced without a writable cgroup are reported per limit, never silently dropped', () => {
  const r = asUser(['sandbox', 'run', '--json', '-m', '64m', '--pids-limit', '20', '--', 'true'])
  assert.is(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  const reported = JSON.stringify(j)
  assert.ok(/unenforced|not enforced|delegat/i.test(reported) || j.limitsEnforced, `result says which limits hold: ${reported.slice(0, 400)}`)
})

test('bad input is refused the same way without root', () => {
  const r = asUser(['sandbox', 'run', '-u', 'mallory', '--', 'true'])
  assert.is(r.code, 125)
  assert.match(r.stderr, /^lab: unknown user "mallory"/)
})

t.run()
