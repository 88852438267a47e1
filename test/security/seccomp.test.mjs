// Seccomp from inside the sandbox: every family the default profile denies answers
// its documented errno and the process lives on; ordinary programs work under
// default and strict; 32-bit int 0x80 cannot slip past the argument filters.
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT, rootTest} from '../helpers.mjs'

const t = suite('security: seccomp')
const dir = mkdtempSync(join(tmpdir(), 'lab-seccomp-sec-'))
// readable by the sandbox's own (mapped) root
chmodSync(dir, 0o755)
t.after(() => rmSync(dir, {recursive: true, force: true}))

// Calls each forbidden syscall by number (x86_64) with harmless arguments and prints
// NAME=RESULT; then prints "alive" — a kill would end the output early.
writeFileSync(join(dir, 'probe.py'), `
import ctypes, errno, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
def sc(nr, *a):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(x) for x in a])
    return 'ok' if r >= 0 else errno.errorcode[ctypes.get_errno()]
calls = dict(keyctl=(250, 0), add_key=(248, 0), request_key=(249, 0), userfaultfd=(323, 0), io_uring_setup=(425, 1, 0),
  kexec_load=(246, 0), kexec_file_load=(320, 0), bpf=(321, 0), perf_event_open=(298, 0), mount=(165, 0), umount2=(166, 0),
  unshare_newns=(272, 0x20000), unshare_newuser=(272, 0x10000000), setns=(308, 0, 0), open_by_handle_at=(304, 0), name_to_handle_at=(303, 0),
  init_module=(175, 0), finit_module=(313, 0), pivot_root=(155, 0), swapon=(167, 0), reboot=(169, 0), acct=(163, 0), syslog=(103, 0),
  clone_newuser=(56, 0x10000000 | 17), clone_newnet=(56, 0x40000000 | 17), personality_exec=(135, 0x0400000), personality_norandom=(135, 0x0040000),
  clone3=(435, 0, 0), modify_ldt=(154, 0), fsopen=(430, 0))
for k, v in calls.items(): print(k + '=' + sc(*v))
for fam, name in [(17, 'packet'), (38, 'alg'), (40, 'vsock')]:
    try: socket.socket(fam, 5 if fam == 38 else socket.SOCK_DGRAM, 0); print(name + '=ok')
    except OSError as e: print(name + '=' + errno.errorcode[e.errno])
for fam, name in [(socket.AF_UNIX, 'unix'), (socket.AF_INET, 'inet'), (socket.AF_INET6, 'inet6'), (socket.AF_NETLINK, 'netlink')]:
    try: socket.socket(fam, socket.SOCK_DGRAM, 0).close(); print(name + '=ok')
    except OSError as e: print(name + '=' + errno.errorcode[e.errno])
try: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1).close(); print('raw=ok')
except OSError as e: print('raw=' + errno.errorcode[e.errno])
print('ptrace=' + sc(101, 0x4206, os.getppid(), 0, 0))
print('alive')
`)
const parse = (out) => Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => l.split('=')))
const probe = (flags = []) => lab(['sandbox', 'run', '-v', `${dir}:/probe:ro`, ...flags, '--', 'sh', '-c', 'python3 /probe/probe.py'])

rootTest(t, 'attack: reach the kernel through keyrings, bpf, perf, io_uring, userfaultfd, kexec, modules, mounts, namespaces · defence: the default profile answers EPERM and the process lives on', async () => {
  const r = await probe()
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /\nalive\n$/)
  const got = parse(r.stdout)
  const eperm = ['keyctl', 'add_key', 'request_key', 'userfaultfd', 'io_uring_setup', 'kexec_load', 'kexec_file_load', 'bpf', 'perf_event_open', 'mount', 'umount2', 'unshare_newns', 'unshare_newuser', 'setns', 'open_by_handle_at', 'name_to_handle_at', 'init_module', 'finit_module', 'pivot_root', 'swapon', 'reboot', 'acct', 'syslog', 'clone_newuser', 'clone_newnet', 'personality_exec', 'personality_norandom', 'modify_ldt', 'fsopen']
  for (const k of eperm) assert.is(got[k], 'EPERM', `${k}: ${got[k]}`)
})

rootTest(t, 'attack: clone3 with flags the filter cannot read · defence: ENOSYS, so glibc falls back to clone', async () => {
  const r = await probe()
  assert.is(parse(r.stdout).clone3, 'ENOSYS')
})

rootTest(t, 'attack: AF_VSOCK, AF_ALG and AF_PACKET sockets (even with NET_RAW) · defence: EAFNOSUPPORT; ordinary families still work', async () => {
  const r = await probe(['--cap-add', 'NET_RAW'])
  const got = parse(r.stdout)
  for (const k of ['packet', 'alg', 'vsock']) assert.is(got[k], 'EAFNOSUPPORT', k)
  for (const k of ['unix', 'inet', 'inet6', 'netlink']) assert.is(got[k], 'ok', k)
  assert.is(got.raw, 'ok', 'default keeps raw IP sockets for NET_RAW (ping)')
})

rootTest(t, 'attack: debug or read another process, open raw sockets while grading · defence: strict denies ptrace (EPERM) and SOCK_RAW (ESOCKTNOSUPPORT)', async () => {
  const r = await probe(['--cap-add', 'NET_RAW', '--security-opt', 'seccomp=strict'])
  assert.is(r.code, 0, r.stderr)
  const got = parse(r.stdout)
  assert.is(got.ptrace, 'EPERM')
  assert.is(got.raw, 'ESOCKTNOSUPPORT')
  assert.is(got.keyctl, 'EPERM')
  const d = parse((await probe()).stdout)
  assert.is(d.ptrace, 'ok', 'the default profile keeps ptrace for debuggers, as Docker does')
})

rootTest(t, 'ordinary programs work under default and strict: shell, coreutils, python3 threads, node, fork', async () => {
  const script = 'set -e; echo sh-ok; ls / >/dev/null; sort </etc/passwd | head -1 >/dev/null; cp /etc/hostname /tmp/h; stat /tmp/h >/dev/null; ' +
    'python3 -c "import threading,os,subprocess; t=threading.Thread(target=lambda: None); t.start(); t.join(); p=os.fork(); os._exit(0) if p==0 else os.waitpid(p,0); print(subprocess.run([\'true\']).returncode, \'py-ok\')"; ' +
    `"${process.execPath}" -e "require('child_process').execFileSync('true'); const {Worker}=require('worker_threads'); new Worker('1',{eval:true}).on('exit',()=>console.log('node-ok'))"; ` +
    'grep -E "^Seccomp:" /proc/self/status'
  for (const profile of ['default', 'strict']) {
    const r = await lab(['sandbox', 'run', '-v', `${process.execPath}:${process.execPath}:ro`, '--security-opt', `seccomp=${profile}`, '--', 'sh', '-c', script])
    assert.is(r.code, 0, `${profile}: ${r.stderr}`)
    assert.match(r.stdout, /sh-ok\n0 py-ok\nnode-ok\nSeccomp:\s+2\n/, profile)
  }
})

rootTest(t, 'unconfined is an explicit choice: no filter at all', async () => {
  const r = await lab(['sandbox', 'run', '--security-opt', 'seccomp=unconfined', '--', 'grep', '^Seccomp:', '/proc/self/status'])
  assert.match(r.stdout, /Seccomp:\s+0/)
  const d = await lab(['sandbox', 'run', '--', 'grep', '^Seccomp:', '/proc/self/status'])
  assert.match(d.stdout, /Seccomp:\s+2/, 'no option means the default profile')
})

rootTest(t, 'lab profiles: ch6 denies the chmod family (EPERM); the packet-capture lab refuses SOCK_RAW with EACCES even with NET_RAW', async () => {
  const c = await lab(['sandbox', 'run', '--security-opt', 'seccomp=lab-no-chmod', '--', 'sh', '-c', 'touch /tmp/f; chmod 700 /tmp/f; echo rc=$?'])
  assert.match(c.stderr + c.stdout, /Operation not permitted[\s\S]*rc=1/)
  const p = await probe(['--cap-add', 'NET_RAW', '--security-opt', 'seccomp=lab-no-packet-capture'])
  assert.is(parse(p.stdout).raw, 'EACCES')
})

// A static 32-bit probe without libc: socket() directly (359) and via socketcall (102).
const has32 = (() => {
  writeFileSync(join(dir, 'p32.c'), `
static long sys(long nr, long a, long b, long c) { long r; __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory"); return r; }
static void out(const char *s) { int n = 0; while (s[n]) n++; sys(4, 1, (long)s, n); }
static void num(long v) { char b[16]; int i = 15; b[i] = 0; int neg = v < 0; if (neg) v = -v; do { b[--i] = '0' + v % 10; v /= 10; } while (v); if (neg) b[--i] = '-'; out(b + i); }
void _start(void) {
  long fams[] = {2, 17, 38, 40};
  for (int i = 0; i < 4; i++) {
    long args[3] = {fams[i], 2, 0};
    out("direct"); num(fams[i]); out("="); num(sys(359, fams[i], 2, 0) < 0 ? sys(359, fams[i], 2, 0) : 0); out("\\n");
    out("socketcall"); num(fams[i]); out("="); num(sys(102, 1, (long)args, 0)); out("\\n");
  }
  out("unshare="); num(sys(310, 0x20000, 0, 0)); out("\\n");
  out("keyctl="); num(sys(288, 0, 0, 0)); out("\\n");
  out("alive\\n");
  sys(1, 0, 0, 0);
}`)
  const flags = ['-m32', '-nostdlib', '-static', '-ffreestanding', '-fno-pie', '-no-pie', '-fno-stack-protector', '-O1']
  const r = spawnSync('cc', [...flags, '-o', join(dir, 'p32'), join(dir, 'p32.c')], {stdio: 'ignore'})
  if (r.status !== 0) return 'cc -m32 -nostdlib cannot build a 32-bit probe on this machine'
  // a kernel built without IA32 emulation (or booted with ia32_emulation=0) cannot exec
  // it at all: Exec format error. Ask the host with a probe that only exits.
  writeFileSync(join(dir, 'exit32.c'), 'void _start(void) { __asm__ volatile("int $0x80" : : "a"(1), "b"(0)); }\n')
  const e = spawnSync('cc', [...flags, '-o', join(dir, 'exit32'), join(dir, 'exit32.c')], {stdio: 'ignore'})
  if (e.status !== 0) return 'cc -m32 -nostdlib cannot build a 32-bit probe on this machine'
  const run = spawnSync(join(dir, 'exit32'), [], {stdio: 'ignore'})
  if (run.error || run.status !== 0) return `this kernel cannot run 32-bit programs (${run.error?.code ?? `exit ${run.status}`}: no IA32 emulation)`
  return true
})()
const test32 = has32 === true ? rootTest : (s, name, fn) => s.skip(`${name} [skipped: ${has32}]`, fn)

test32(t, 'attack: 32-bit int 0x80 under the default profile · defence: it covers the native ABI only, the first 32-bit call kills the process (SIGSYS)', async () => {
  const r = await lab(['sandbox', 'run', '--json', '-v', `${dir}:/probe:ro`, '--', '/probe/p32'])
  const res = JSON.parse(r.stdout)
  assert.is(r.code, 128 + 31, r.stderr)
  assert.is(res.verdict, 'signaled')
  assert.is(res.signal, 'SIGSYS')
  assert.match(res.evidence.seccomp, /ABI/)
  assert.is(res.stdout ?? '', '', 'not even its first write got through')
})

test32(t, 'attack: 32-bit int 0x80 to dodge the argument filters (socketcall) · defence: a profile that covers x86 filters it too; socketcall answers ENOSYS', async () => {
  const withX86 = JSON.parse(readFileSync(join(ROOT, 'profiles', 'default.json'), 'utf8'))
  withX86.archMap = [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']}]
  writeFileSync(join(dir, 'with-x86.json'), JSON.stringify(withX86))
  const r = await lab(['sandbox', 'run', '--security-opt', `seccomp=${join(dir, 'with-x86.json')}`, '-v', `${dir}:/probe:ro`, '--', '/probe/p32'])
  assert.is(r.code, 0, r.stderr)
  const got = parse(r.stdout)
  assert.is(got.direct2, '0', 'AF_INET works from 32-bit code')
  for (const f of [17, 38, 40]) assert.is(got[`direct${f}`], '-97', `direct socket(${f})`)
  for (const f of [2, 17, 38, 40]) assert.is(got[`socketcall${f}`], '-38', `socketcall(${f})`)
  assert.is(got.unshare, '-1')
  assert.is(got.keyctl, '-1')
  assert.match(r.stdout, /alive\n$/)
})

// Profiles from the wild are older than the programs they run: a 2017 profile names no
// statx, rseq, clone3 or faccessat2. Built here from our default's allow list without
// any syscall numbered above seccomp (317 on x86_64), as Docker's default of that time.
function oldProfile(extra = {}) {
  const tables = JSON.parse(spawnSync(join(ROOT, 'dist', 'native', 'lab-seccomp'), ['names'], {encoding: 'utf8'}).stdout).arches.x86_64.syscalls
  const names = JSON.parse(readFileSync(join(ROOT, 'profiles', 'default.json'), 'utf8')).syscalls[0].names.filter((n) => tables[n] !== undefined && tables[n] <= 317)
  assert.ok(names.includes('seccomp') && !names.includes('statx') && !names.includes('acct'))
  const file = join(dir, `old-${Object.keys(extra).join('-') || 'plain'}.json`)
  writeFileSync(file, JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names, action: 'SCMP_ACT_ALLOW'}], ...extra}))
  return file
}

// errno of raw syscalls by number, with harmless arguments
writeFileSync(join(dir, 'errnos.py'), `
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
for nr in map(int, sys.argv[1:]):
    r = libc.syscall(ctypes.c_long(nr), ctypes.c_long(-1), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
    print(f"{nr}={'ok' if r >= 0 else errno.errorcode[ctypes.get_errno()]}")
`)
const x86_64 = process.arch === 'x64' ? rootTest : (s, name, fn) => s.skip(`${name} [skipped: the syscall numbers are x86_64's]`, fn)

x86_64(t, 'an old profile: a syscall newer than every one it names answers ENOSYS (glibc falls back, ls works); an unnamed old one keeps the default errno', async () => {
  const old = oldProfile()
  const ls = await lab(['sandbox', 'run', '--security-opt', `seccomp=${old}`, '--', 'ls', '/'])
  assert.is(ls.code, 0, ls.stderr)
  assert.match(ls.stdout, /^bin$/m)
  // 163 acct and 103 syslog: old and unnamed → EPERM, the default errno; 317 seccomp(-1): named, allowed → EINVAL from the kernel;
  // 318 getrandom, 332 statx, 334 rseq, 435 clone3, 439 faccessat2, 452 fchmodat2, 600 (no syscall yet): above 317 → ENOSYS
  const nrs = [163, 103, 317, 318, 332, 334, 435, 439, 452, 600]
  const r = await lab(['sandbox', 'run', '--security-opt', `seccomp=${old}`, '-v', `${dir}:/probe:ro`, '--', 'python3', '/probe/errnos.py', ...nrs.map(String)])
  assert.is(r.code, 0, r.stderr)
  assert.equal(parse(r.stdout), {163: 'EPERM', 103: 'EPERM', 317: 'EINVAL', 318: 'ENOSYS', 332: 'ENOSYS', 334: 'ENOSYS', 435: 'ENOSYS', 439: 'ENOSYS', 452: 'ENOSYS', 600: 'ENOSYS'})
})

x86_64(t, 'the ENOSYS answer follows runc: not when the default action allows, nor when the default errno is ENOSYS already; a custom default errno stays below', async () => {
  const run = async (file) => parse((await lab(['sandbox', 'run', '--security-opt', `seccomp=${file}`, '-v', `${dir}:/probe:ro`, '--', 'python3', '/probe/errnos.py', '163', '600'])).stdout)
  assert.equal(await run(oldProfile({defaultErrnoRet: 13})), {163: 'EACCES', 600: 'ENOSYS'})
  assert.equal(await run(oldProfile({defaultErrnoRet: 38})), {163: 'ENOSYS', 600: 'ENOSYS'})
  const allowAll = join(dir, 'allow-all.json')
  writeFileSync(allowAll, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['acct'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}]}))
  // acct(-1) is refused by the filter; 600 reaches the kernel, which has no such call: ENOSYS from the kernel itself
  assert.equal(await run(allowAll), {163: 'EACCES', 600: 'ENOSYS'})
  // our default names newer calls: the stub sits above its newest, and statx stays allowed
  const d = await lab(['sandbox', 'run', '-v', `${dir}:/probe:ro`, '--', 'python3', '/probe/errnos.py', '163', '332', '600'])
  assert.equal(parse(d.stdout), {163: 'EPERM', 332: 'EFAULT', 600: 'ENOSYS'})
})

// A writable volume owned by host root is idmapped so that the sandbox's root writes as
// host root (as docker run -v does); set-id files are what that must never give.
writeFileSync(join(dir, 'setid.py'), `
import ctypes, errno, os, stat, sys
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
def res(f):
    try: f(); return 'ok'
    except OSError as e: return errno.errorcode[e.errno]
def raw(nr, *a):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(x) if isinstance(x, int) else x for x in a])
    return 'ok' if r >= 0 else errno.errorcode[ctypes.get_errno()]
open(d + '/prog', 'w').write('#!/bin/sh\\nid\\n')
out = {}
out['chmod_suid'] = res(lambda: os.chmod(d + '/prog', 0o4755))
out['chmod_sgid'] = res(lambda: os.chmod(d + '/prog', 0o2755))
out['chmod_sgid_noexec'] = res(lambda: os.chmod(d + '/prog', 0o2745))
out['chmod_plain'] = res(lambda: os.chmod(d + '/prog', 0o755))
fd = os.open(d + '/prog', os.O_RDONLY)
out['fchmod_suid'] = res(lambda: os.fchmod(fd, 0o4755))
out['fchmodat_suid'] = res(lambda: os.chmod('prog', 0o6755, dir_fd=os.open(d, os.O_RDONLY)))
out['open_creat_suid'] = res(lambda: os.close(os.open(d + '/new', os.O_CREAT | os.O_WRONLY, 0o4755)))
out['mknod_suid'] = res(lambda: os.mknod(d + '/fifo', 0o4644 | stat.S_IFIFO))
out['creat_suid'] = raw(85, ctypes.c_char_p((d + '/creat').encode()), 0o4755)
out['fchmodat2_suid'] = raw(452, -100, ctypes.c_char_p((d + '/prog').encode()), 0o4755, 0)
out['openat2'] = raw(437, -100, ctypes.c_char_p((d + '/o2').encode()), 0, 0)
out['io_uring_setup'] = raw(425, 1, 0)
for k, v in out.items(): print(k + '=' + v)
print('owner=%d mode=%o' % (os.stat(d + '/prog').st_uid, os.stat(d + '/prog').st_mode & 0o7777))
`)

x86_64(t, 'attack: root in a sandbox writes a host-root-owned volume as host root and makes a set-uid program there · defence: the filter refuses set-id modes (chmod family, open, creat, mknod; openat2 ENOSYS, io_uring EPERM) whatever the profile', async () => {
  const vol = mkdtempSync(join(tmpdir(), 'lab-rootvol-'))
  chmodSync(vol, 0o755)
  try {
    const want = {chmod_suid: 'EPERM', chmod_sgid: 'EPERM', chmod_sgid_noexec: 'ok', chmod_plain: 'ok', fchmod_suid: 'EPERM', fchmodat_suid: 'EPERM', open_creat_suid: 'EPERM', mknod_suid: 'EPERM', creat_suid: 'EPERM', fchmodat2_suid: 'EPERM', openat2: 'ENOSYS', io_uring_setup: 'EPERM'}
    const allowAll = join(dir, 'allow-everything.json')
    writeFileSync(allowAll, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW'}))
    for (const opt of [[], ['--security-opt', `seccomp=${allowAll}`]]) {
      const r = await lab(['sandbox', 'run', ...opt, '-v', `${vol}:/vol`, '-v', `${dir}:/probe:ro`, '--', 'python3', '/probe/setid.py', '/vol'])
      assert.is(r.code, 0, r.stderr)
      const got = parse(r.stdout)
      const {owner, ...calls} = got
      assert.equal(calls, want, opt.join(' ') || 'default profile')
      assert.match(r.stdout, /owner=0 mode=755/)
      assert.not.match(r.stderr, /belongs to host root/)
    }
    // on the host: root's files, and not one set-id bit anywhere in the volume
    for (const f of readdirSync(vol)) {
      const st = statSync(join(vol, f))
      assert.is(st.uid, 0, f)
      assert.is(st.mode & 0o6000, 0, `${f} has a set-id bit`)
    }
    // a second sandbox (another id range) writes the same files
    const again = await lab(['sandbox', 'run', '-v', `${vol}:/vol`, '--', 'sh', '-c', 'echo more >> /vol/prog && echo written'])
    assert.is(again.code, 0, again.stderr)
    // unconfined: nothing could refuse set-id modes, so the volume is not mapped to root (with a warning)
    const unconf = await lab(['sandbox', 'run', '--security-opt', 'seccomp=unconfined', '-v', `${vol}:/vol`, '--', 'sh', '-c', 'echo x > /vol/unconfined'])
    assert.is.not(unconf.code, 0)
    assert.match(unconf.stderr, /belongs to host root, so it is not id-mapped/)
  } finally {
    rmSync(vol, {recursive: true, force: true})
  }
})

t.run()
