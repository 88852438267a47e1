// record, explain, diff and list through the CLI: the recorded profile runs the
// recorded command and refuses a different one; explain and diff answer in JSON.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, rootTest} from '../helpers.mjs'

const t = suite('seccomp toolkit commands')
const dir = mkdtempSync(join(tmpdir(), 'lab-record-test-'))
t.after(() => rmSync(dir, {recursive: true, force: true}))

rootTest(t, 'record writes a profile under which the recorded command runs and a different one fails', async () => {
  const out = join(dir, 'rec.json')
  const cmd = ['sh', '-c', 'echo recorded; cat /etc/hostname >/dev/null']
  const r = await lab(['profile', 'record', '-o', out, '--json', '--', ...cmd])
  assert.is(r.code, 0, r.stderr)
  const res = JSON.parse(r.stdout)
  assert.is(res.exitCode, 0)
  assert.ok(res.syscalls > 10 && res.syscalls < 120, `${res.syscalls} syscalls`)
  const profile = JSON.parse(readFileSync(out, 'utf8'))
  assert.is(profile.defaultAction, 'SCMP_ACT_ERRNO')
  assert.ok(profile.syscalls[0].names.includes('execve'))
  assert.not.ok(profile.syscalls[0].names.includes('mkdir'))
  const ok = await lab(['sandbox', 'run', '--security-opt', `seccomp=${out}`, '--', ...cmd])
  assert.is(ok.code, 0, ok.stderr)
  assert.is(ok.stdout, 'recorded\n')
  const other = await lab(['sandbox', 'run', '--security-opt', `seccomp=${out}`, '--', 'sh', '-c', 'mkdir /tmp/d && echo made'])
  assert.is(other.code, 1)
  assert.match(other.stderr, /mkdir: cannot create directory '\/tmp\/d': Operation not permitted/)
  const v = await lab(['profile', 'validate', out])
  assert.is(v.code, 0, v.stderr)
})

rootTest(t, 'explain says what happens to a syscall per arch, and why', async () => {
  const r = await lab(['profile', 'explain', 'default', 'chroot', '--json'])
  assert.is(r.code, 0, r.stderr)
  const e = JSON.parse(r.stdout)
  assert.is(e.arches[0].arch, 'x86_64')
  assert.match(e.arches[0].outcome, /fails with EPERM \(1\) \(default action/)
  assert.is(e.entries[0].applies, false)
  assert.match(e.entries[0].reason, /needs capability SYS_CHROOT/)
  const withCap = JSON.parse((await lab(['profile', 'explain', 'default', 'chroot', '--cap', 'SYS_CHROOT', '--json'])).stdout)
  assert.is(withCap.arches[0].filterSaysForZeroArgs.kind, 'allow')
  const bad = await lab(['profile', 'explain', 'default', 'no_such_call'])
  assert.is(bad.code, 125)
  assert.match(bad.stderr, /^lab: "no_such_call" is not a syscall on this host/)
})

rootTest(t, 'diff lists what strict denies that default allows, per arch', async () => {
  const r = await lab(['profile', 'diff', 'default', 'strict', '--json'])
  assert.is(r.code, 0, r.stderr)
  const d = JSON.parse(r.stdout)
  // both cover the native ABI only: x86 is killed whole under each, so nothing is listed for it
  assert.equal(d.abis.x86, {before: 'killed', after: 'killed'})
  assert.equal(d.arches.x86, undefined)
  for (const arch of ['x86_64']) {
    const denied = d.arches[arch].filter((c) => c.kind === 'now-denied').map((c) => c.syscall)
    assert.ok(['ptrace', 'process_vm_readv', 'process_vm_writev'].every((s) => denied.includes(s)), `${arch}: ${denied}`)
    assert.ok(d.arches[arch].some((c) => c.syscall === 'socket' && c.kind === 'changed'))
  }
  assert.is(JSON.parse((await lab(['profile', 'diff', 'default', 'default', '--json'])).stdout).arches.x86_64.length, 0)
  // opting an ABI in shows as such
  const withX86 = JSON.parse(readFileSync(join(ROOT, 'profiles', 'default.json'), 'utf8'))
  withX86.archMap = [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86']}]
  const file = join(mkdtempSync(join(tmpdir(), 'lab-diff-')), 'with-x86.json')
  writeFileSync(file, JSON.stringify(withX86))
  const x = await lab(['profile', 'diff', 'default', file])
  assert.match(x.stdout, /x86: \+ now covered/)
  rmSync(dirname(file), {recursive: true, force: true})
})

t('list shows every built-in profile with its description, and unconfined', async () => {
  const r = await lab(['profile', 'list', '--json'])
  assert.is(r.code, 0, r.stderr)
  const names = JSON.parse(r.stdout).profiles.map((p) => p.name)
  for (const n of ['default', 'strict', 'lab-no-chmod', 'lab-no-packet-capture', 'unconfined']) assert.ok(names.includes(n), n)
})

t.run()
