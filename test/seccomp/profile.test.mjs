// The profile toolkit without sandboxes: schema and meaning checks (Docker's format,
// malformed input), resolve, lint, compile (cache, helper robustness) and the
// compiled filter's decisions read with the BPF interpreter.
import {execFile} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, ROOT} from '../helpers.mjs'

const dir = mkdtempSync(join(tmpdir(), 'lab-seccomp-test-'))
process.env.LAB_SECCOMP_CACHE = join(dir, 'cache')
const {profileProblems, loadProfileFile, MAX_PROFILE_BYTES} = await import('../../dist/seccomp/load.js')
const {resolveProfile, rulesText, effectiveRules} = await import('../../dist/seccomp/resolve.js')
const {lintProfile} = await import('../../dist/seccomp/lint.js')
const {compileResolved} = await import('../../dist/seccomp/compile.js')
const {syscallTables} = await import('../../dist/seccomp/host.js')
const {loadBpf, runBpf, retToAction} = await import('../../dist/seccomp/bpf.js')
const {kernelAudit} = await import('../../dist/seccomp/explain.js')
const SECCOMP_TOOL = join(ROOT, 'dist', 'native', 'lab-seccomp')

const t = suite('seccomp profiles')
const ctx = (caps = [], kernel = [6, 1], arch = 'x86_64') => ({capabilities: caps, kernel, arch})
const problems = async (obj) => (await profileProblems(typeof obj === 'string' ? obj : JSON.stringify(obj))).problems

t.after(() => rmSync(dir, {recursive: true, force: true}))

t('every built-in profile is valid, named and described', async () => {
  for (const f of readdirSync(join(ROOT, 'profiles'))) {
    const {profile} = await loadProfileFile(join(ROOT, 'profiles', f))
    assert.is(profile.name, f.replace(/\.json$/, ''))
    assert.ok(profile.description.length > 20, f)
  }
})

t('accepts what Docker accepts: args null, missing keys, legacy name, old arch spellings, archMap, 64-bit values', async () => {
  const ok = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['amd64', 'x86', 'x32', 'SCMP_ARCH_X86_64'],
    syscalls: [
      {names: ['read'], action: 'SCMP_ACT_ALLOW', args: null, includes: {}, excludes: null},
      {name: 'write', action: 'SCMP_ACT_ALLOW'},
      {names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{op: 'SCMP_CMP_EQ'}]},
      {names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 4294967295, op: 'SCMP_CMP_EQ'}], includes: {minKernel: '4.8', caps: ['CAP_SYS_ADMIN'], arches: ['amd64']}},
      {names: ['lseek'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{index: 1, value: 18446744073709551615, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ'}], comment: 'x'},
    ],
    someFutureKey: true,
  }
  // the 64-bit literal must survive (JSON.stringify of a JS number would round it)
  const text = JSON.stringify(ok).replace('18446744073709552000', '18446744073709551615')
  assert.equal(await problems(text), [])
  assert.equal(await problems({defaultAction: 'SCMP_ACT_ALLOW', archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: null}], syscalls: null}), [])
  const {profile} = await profileProblems(text)
  const r = resolveProfile(profile, ctx())
  assert.ok(rulesText(r).includes('rule lseek errno 22 arg 1 masked_eq 18446744073709551615 0'), 'value kept exactly')
})

t('rejects the rest, each problem with its JSON path', async () => {
  const cases = [
    [{defaultAction: 'SCMP_ACT_MAYBE'}, '/defaultAction'],
    [{}, '/'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: {}}, '/syscalls'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: 'read', action: 'SCMP_ACT_ALLOW'}]}, '/syscalls/0/names'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_FOO'}]}, '/syscalls/0/action'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: 6, value: 1, op: 'SCMP_CMP_EQ'}]}]}, '/syscalls/0/args/0/index'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1, op: 'SCMP_CMP_LIKE'}]}]}, '/syscalls/0/args/0/op'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: -1, op: 'SCMP_CMP_EQ'}]}]}, '/syscalls/0/args/0/value'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: '0', op: 'SCMP_CMP_EQ'}]}]}, '/syscalls/0/args/0/index'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [1, 2, 3, 4, 5, 6, 7]}]}, '/syscalls/0/args'],
    [{defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_Z80']}, '/architectures/0'],
    [{defaultAction: 'SCMP_ACT_ERRNO', architectures: ['amd64'], archMap: [{architecture: 'amd64'}]}, '/archMap'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], name: 'read', action: 'SCMP_ACT_ALLOW'}]}, '/syscalls/0/name'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1}]}, '/syscalls/0/errnoRet'],
    [{defaultAction: 'SCMP_ACT_NOTIFY'}, '/defaultAction'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', includes: {minKernel: '4'}}]}, '/syscalls/0/includes/minKernel'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read; rm -rf'], action: 'SCMP_ACT_ALLOW'}]}, '/syscalls/0/names/0'],
  ]
  for (const [obj, path] of cases) {
    const p = await problems(obj)
    assert.ok(p.length > 0, `accepted ${JSON.stringify(obj)}`)
    assert.ok(p.some((x) => x.path === path), `${JSON.stringify(obj)} → ${JSON.stringify(p)} lacks ${path}`)
  }
  const big = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":99999999999999999999,"op":"SCMP_CMP_EQ"}]}]}'
  assert.equal((await problems(big))[0].path, '/syscalls/0/args/0/value')
  assert.match((await problems('{"defaultAction": "SCMP_ACT_ERRNO",,}'))[0].message, /not valid JSON at line 1/)
})

t('validate exits 1 listing every problem; a huge file is refused before parsing', async () => {
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, JSON.stringify({defaultAction: 'SCMP_ACT_X', syscalls: [{names: ['read'], action: 'SCMP_ACT_Y', args: [{index: 9, op: 'SCMP_CMP_EQ'}]}]}))
  const r = await lab(['profile', 'validate', bad, '--json'])
  assert.is(r.code, 1)
  const out = JSON.parse(r.stdout)
  assert.is(out.valid, false)
  assert.ok(['/defaultAction', '/syscalls/0/action', '/syscalls/0/args/0/index'].every((p) => out.problems.some((x) => x.path === p)), r.stdout)
  const huge = join(dir, 'huge.json')
  writeFileSync(huge, '{"defaultAction":"SCMP_ACT_ERRNO","comment":"' + 'x'.repeat(MAX_PROFILE_BYTES) + '"}')
  const h = await lab(['profile', 'validate', huge])
  assert.ok(h.code !== 0)
  assert.match(h.stderr, /limited to 4194304 bytes/)
  const run = await lab(['sandbox', 'run', '--security-opt', `seccomp=${bad}`, '--', 'true'])
  assert.is(run.code, 125)
  assert.match(run.stderr, /^lab: seccomp profile .*bad\.json: \/defaultAction: must be one of/)
})

t('resolve: capabilities, kernel and arch conditions decide entries as Docker does', async () => {
  const p = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      {names: ['chroot'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_CHROOT']}},
      {names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: {minKernel: '4.8'}},
      {names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['amd64', 'x32']}},
      {names: ['s390_pci_mmio_read'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['s390x']}},
      {names: ['clone'], action: 'SCMP_ACT_ALLOW', excludes: {caps: ['CAP_SYS_ADMIN']}, args: [{index: 0, value: 1, op: 'SCMP_CMP_NE'}, {index: 0, value: 2, op: 'SCMP_CMP_NE'}]},
    ],
  }
  const names = (r) => r.rules.map((x) => x.name)
  assert.equal(names(resolveProfile(p, ctx())), ['ptrace', 'arch_prctl', 'clone', 'clone'])
  assert.equal(names(resolveProfile(p, ctx(['SYS_CHROOT', 'SYS_ADMIN'], [4, 4]))), ['chroot', 'arch_prctl'])
  // one argument compared twice: one rule per comparison (Docker's OR), as runc builds it
  assert.equal(resolveProfile(p, ctx()).rules.filter((x) => x.name === 'clone').map((x) => x.conditions.length), [1, 1])
  const why = resolveProfile(p, ctx([], [4, 4], 'aarch64')).entries
  assert.match(why[1].reason, /kernel 4\.8/)
  assert.match(why[2].reason, /only on amd64, x32/)
})

t('lint: dangerous allows, default allow, unknown syscalls, repeats, shadowing, the socketcall bypass', async () => {
  const tables = await syscallTables()
  const p = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      {names: ['keyctl', 'nosuchcall', 'socketcall'], action: 'SCMP_ACT_ALLOW'},
      {names: ['read'], action: 'SCMP_ACT_LOG'},
      {names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{index: 0, value: 40, op: 'SCMP_CMP_EQ'}, {index: 0, value: 17, op: 'SCMP_CMP_EQ'}]},
      {names: ['read'], action: 'SCMP_ACT_ERRNO'},
      {names: ['write'], action: 'SCMP_ACT_ALLOW'},
    ],
  }
  const rules = lintProfile(p, tables, ctx()).map((f) => `${f.rule} ${f.path}`)
  for (const want of ['default-allow /defaultAction', 'dangerous-allow /syscalls/0/names/0', 'unknown-syscall /syscalls/0/names/1', 'repeated-argument /syscalls/2/args', 'shadowed /syscalls/3/names/0', 'same-as-default /syscalls/4/action']) {
    assert.ok(rules.includes(want), `missing ${want} in ${rules.join('; ')}`)
  }
  const mux = {defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{names: ['socketcall'], action: 'SCMP_ACT_ALLOW'}, {names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 40, op: 'SCMP_CMP_NE'}]}]}
  assert.ok(lintProfile(mux, tables, ctx()).some((f) => f.rule === 'multiplexer-bypass' && f.path === '/syscalls/0'))
  // no bypass when x86 is not covered: its calls are killed whole
  assert.not.ok(lintProfile({...mux, architectures: null}, tables, ctx()).some((f) => f.rule === 'multiplexer-bypass'))
  // names only other machines know: quiet in an entry for those machines, and a 32-bit
  // name is right where the profile covers x86, dead where it does not
  const arches = {
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']}],
    syscalls: [
      {names: ['read', 'chown32'], action: 'SCMP_ACT_ALLOW'},
      {names: ['arm_fadvise64_64', 'breakpoint'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['arm', 'arm64']}},
      {names: ['s390_runtime_instr'], action: 'SCMP_ACT_ALLOW', excludes: {arches: ['amd64']}},
    ],
  }
  const archFindings = (prof) => lintProfile(prof, tables, ctx()).filter((f) => ['unknown-syscall', 'missing-on-arch'].includes(f.rule)).map((f) => `${f.rule} ${f.path}`)
  assert.equal(archFindings(arches), [])
  assert.equal(archFindings({...arches, archMap: null}), ['missing-on-arch /syscalls/0/names'])
  assert.equal(archFindings({...arches, syscalls: [{...arches.syscalls[1], includes: null}]}), ['unknown-syscall /syscalls/0/names/0', 'unknown-syscall /syscalls/0/names/1'])
  const {profile} = await loadProfileFile(join(ROOT, 'profiles', 'strict.json'))
  assert.equal(lintProfile(profile, tables, ctx()).filter((f) => ['dangerous-allow', 'unknown-key', 'shadowed', 'multiplexer-bypass', 'default-allow'].includes(f.rule)), [])
})

async function compiledDecider(profile) {
  const tables = await syscallTables()
  const {bpfPath} = await compileResolved(resolveProfile(profile, ctx()))
  const prog = loadBpf(bpfPath)
  return (arch, name, args = []) => {
    const nr = tables.arches[arch].syscalls[name]
    const a = retToAction(runBpf(prog, {nr, arch: kernelAudit(arch, tables), args: [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6).map(BigInt)}))
    return a.kind === 'errno' ? `errno ${a.value}` : a.kind
  }
}

t('the default filter covers the native ABI only: a call from x86 or x32 kills the process; archMap opts an ABI in', async () => {
  const tables = await syscallTables()
  const {profile} = await loadProfileFile(join(ROOT, 'profiles', 'default.json'))
  const resolved = resolveProfile(profile, ctx())
  assert.equal(resolved.arches, ['x86_64'])
  const decide = await compiledDecider(profile)
  assert.is(decide('x86_64', 'read'), 'allow')
  for (const arch of ['x86', 'x32'].filter((a) => tables.arches[a])) {
    for (const name of ['read', 'write', 'exit_group', 'keyctl']) assert.is(decide(arch, name), 'kill_process', `${arch} ${name}`)
  }
  const withX86 = {...profile, archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86']}]}
  assert.equal(resolveProfile(withX86, ctx()).arches, ['x86_64', 'x86'])
  assert.equal(resolveProfile({...profile, archMap: null, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64']}, ctx()).arches, ['x86_64', 'x32'])
  // an archMap entry of another machine's arch changes nothing here
  assert.equal(resolveProfile({...profile, archMap: [{architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM']}]}, ctx()).arches, ['x86_64'])
  const lint = lintProfile({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'}]}, tables, ctx())
  assert.ok(lint.some((f) => f.rule === 'native-only' && /x86 or x32 system call kills the process/.test(f.message)), JSON.stringify(lint))
})

t('compiled default filter decides as documented, on x86_64, x86 and x32 when the profile covers them (read back with the BPF interpreter)', async () => {
  const tables = await syscallTables()
  const {profile: base} = await loadProfileFile(join(ROOT, 'profiles', 'default.json'))
  const profile = {...base, archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']}]}
  const decide = await compiledDecider(profile)
  for (const arch of Object.keys(tables.arches).filter((a) => ['x86_64', 'x86', 'x32'].includes(a))) {
    assert.is(decide(arch, 'read'), 'allow', arch)
    assert.is(decide(arch, 'keyctl'), 'errno 1', arch)
    assert.is(decide(arch, 'clone3'), 'errno 38', arch)
    assert.is(decide(arch, 'clone', [0x11]), 'allow', `${arch} fork-like clone`)
    assert.is(decide(arch, 'clone', [0x10000000 | 0x11]), 'errno 1', `${arch} clone(CLONE_NEWUSER)`)
    assert.is(decide(arch, 'socket', [2, 1]), 'allow', arch)
    for (const fam of [17, 38, 40]) assert.is(decide(arch, 'socket', [fam, 2]), 'errno 97', `${arch} socket(${fam})`)
    // the kernel truncates the int: high bits must not smuggle family 40 past the filter
    if (arch !== 'x86') assert.is.not(decide(arch, 'socket', [(1n << 32n) | 40n, 2]), 'allow', arch)
    assert.is(decide(arch, 'personality', [0x0400000]), 'errno 1', `${arch} personality(READ_IMPLIES_EXEC)`)
  }
  assert.is(decide('x86', 'socketcall', [1]), 'errno 38', 'x86 socketcall cannot bypass socket\'s argument filter')
})

t('an old profile: above its newest named syscall, per ABI, the filter answers ENOSYS (as runc and crun); x32 and allowing defaults get no such answer', async () => {
  const tables = await syscallTables()
  const old = {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read', 'write', 'openat', 'exit_group'], action: 'SCMP_ACT_ALLOW'}, {names: ['getrandom'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}]}
  const resolved = resolveProfile(old, ctx())
  assert.equal(resolved.named, ['exit_group', 'getrandom', 'openat', 'read', 'write'], 'every name counts, whatever its action')
  assert.match(rulesText(resolved), /\ndefault errno 1\nnamed exit_group\nnamed getrandom\n/)
  const archMap = [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']}]
  const decide = await compiledDecider({...old, archMap})
  const native = tables.native
  for (const arch of [native, ...['x86', 'x32'].filter((a) => native === 'x86_64' && tables.arches[a])]) {
    const t2 = tables.arches[arch].syscalls
    const newest = Math.max(...resolved.named.map((n) => t2[n] ?? -1))
    const below = Object.keys(t2).find((n) => t2[n] < newest && !resolved.named.includes(n) && !['socketcall', 'ipc'].includes(n))
    const above = Object.keys(t2).find((n) => t2[n] > newest)
    assert.is(decide(arch, 'read'), 'allow', arch)
    assert.is(decide(arch, 'getrandom'), 'errno 13', arch)
    assert.is(decide(arch, below), 'errno 1', `${arch} ${below}: older than the newest named, unnamed: the default errno`)
    if (above) assert.is(decide(arch, above), arch === 'x32' ? 'errno 1' : 'errno 38', `${arch} ${above}`)
  }
  // ENOSYS as the default, or a default that allows: no stub (runc's rule)
  for (const variant of [{defaultErrnoRet: 38}, {defaultAction: 'SCMP_ACT_ALLOW'}, {defaultAction: 'SCMP_ACT_LOG'}]) assert.equal(resolveProfile({...old, ...variant}, ctx()).named, [], JSON.stringify(variant))
  if (tables.arches[native].syscalls.clone3 !== undefined && tables.arches[native].syscalls.getrandom < tables.arches[native].syscalls.clone3) {
    const file = join(dir, 'old.json')
    writeFileSync(file, JSON.stringify(old))
    const e = await lab(['profile', 'explain', file, 'clone3', '--json'], {env: {...process.env, LAB_SECCOMP_CACHE: join(dir, 'cache')}})
    assert.is(e.code, 0, e.stderr)
    const a = JSON.parse(e.stdout).arches.find((x) => x.arch === native)
    assert.match(a.outcome, /^fails with ENOSYS \(38\): it is newer than every syscall the profile names on/)
    assert.equal(a.filterSaysForZeroArgs, {kind: 'errno', value: 38})
    assert.is(a.enosysAbove.number, Math.max(...resolved.named.map((n) => tables.arches[native].syscalls[n])))
    const text = await lab(['profile', 'explain', file, 'clone3'], {env: {...process.env, LAB_SECCOMP_CACHE: join(dir, 'cache')}})
    assert.match(text.stdout, /any syscall numbered above \d+ \(\w+, the newest the profile names\) fails with ENOSYS/)
  }
})

t('lint is quiet on an unchanged copy of our own profiles: each dangerous allow is explained by its entry, names for other machines are notes', async () => {
  const {readFileSync} = await import('node:fs')
  for (const name of ['default', 'strict', 'lab-no-chmod', 'lab-no-packet-capture']) {
    const copy = join(dir, `copy-${name}.json`)
    writeFileSync(copy, readFileSync(join(ROOT, 'profiles', `${name}.json`)))
    const r = await lab(['profile', 'lint', copy, '--strict'])
    assert.is(r.code, 0, r.stdout)
    assert.match(r.stdout, /^ok .*: no warnings \(\d+ notes? on choices the profile explains; --verbose shows them\)\n$/)
    const v = JSON.parse((await lab(['profile', 'lint', copy, '--json'])).stdout)
    assert.ok(v.findings.every((f) => f.level === 'note'), JSON.stringify(v.findings.filter((f) => f.level !== 'note')))
  }
  const verbose = await lab(['profile', 'lint', 'default', '-v'])
  assert.match(verbose.stdout, /note: dangerous-allow: "ptrace" is allowed unconditionally .* on purpose; the entry's comment says why: .*ptrace/)
  // the same allow without a comment that names it is a warning, and --strict fails on it
  const bare = join(dir, 'bare-ptrace.json')
  writeFileSync(bare, JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: []}], syscalls: [{names: ['read', 'ptrace', 'recv'], action: 'SCMP_ACT_ALLOW', comment: 'ordinary programs'}]}))
  const w = await lab(['profile', 'lint', bare, '--strict'])
  assert.is(w.code, 1)
  assert.match(w.stdout, /\/syscalls\/0\/names\/1: dangerous-allow: "ptrace" is allowed unconditionally/)
  assert.match(w.stdout, /\/syscalls\/0\/names\/2: unknown-syscall: "recv" is not a syscall on/, 'no other machine listed: a warning')
})

t('the cache: one file per rule set, concurrent compiles agree, no temporary files left', async () => {
  const {profile} = await loadProfileFile(join(ROOT, 'profiles', 'strict.json'))
  const r = resolveProfile(profile, ctx(['NET_RAW']))
  const results = await Promise.all([1, 2, 3, 4].map(() => compileResolved(r)))
  assert.ok(results.every((x) => x.bpfPath === results[0].bpfPath))
  const again = await compileResolved(r)
  assert.is(again.compiled, false)
  assert.ok(readdirSync(process.env.LAB_SECCOMP_CACHE).every((f) => f.endsWith('.bpf') && !f.startsWith('.')), readdirSync(process.env.LAB_SECCOMP_CACHE).join(' '))
})

const helper = (args) => new Promise((res) => execFile(SECCOMP_TOOL, args, (err, stdout, stderr) => res({code: err ? err.code : 0, signal: err?.signal ?? null, stdout, stderr})))

t('fuzz: malformed rule files and random profiles give errors, never a crash of the helper', async () => {
  const inputs = [
    '', 'lab-seccomp 2\n', 'lab-seccomp 1\ndefault maybe\nend\n', 'lab-seccomp 1\ndefault errno 1\nrule read allow arg 6 eq 1 0\nend\n',
    'lab-seccomp 1\ndefault errno 1\nrule read allow arg 0 like 1 0\nend\n', 'lab-seccomp 1\ndefault errno 1\nrule read allow arg 0 eq 1\nend\n',
    'lab-seccomp 1\ndefault errno 1\nrule READ allow\nend\n', 'lab-seccomp 1\ndefault errno 99999\nend\n', 'lab-seccomp 1\ndefault errno 1\nrule read allow\n',
    'lab-seccomp 1\ndefault errno 1\nrule read allow arg 0 eq 99999999999999999999 0\nend\n', 'lab-seccomp 1\ndefault errno 1\nrule ' + 'a'.repeat(5000) + ' allow\nend\n',
    'lab-seccomp 1\ndefault errno 1\nrule read allow' + ' arg 0 eq 1 0'.repeat(7) + '\nend\n', 'lab-seccomp 1\0\n',
  ]
  let seed = 42
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
  const words = ['lab-seccomp', '1', 'default', 'rule', 'read', 'allow', 'errno', 'arg', 'eq', 'masked_eq', '0', '5', '18446744073709551615', 'end', 'trace', 'kill_process', '\n', '\n', ' ']
  for (let i = 0; i < 25; i++) inputs.push('lab-seccomp 1\ndefault errno 1\n' + Array.from({length: 20}, () => words[rnd(words.length)]).join(' ') + '\nend\n')
  for (const [i, text] of inputs.entries()) {
    const f = join(dir, `fuzz${i}.rules`)
    writeFileSync(f, text)
    const r = await helper(['compile', f, join(dir, `fuzz${i}.bpf`)])
    assert.is(r.signal, null, `helper crashed on ${JSON.stringify(text)}`)
    assert.ok(r.code === 0 || r.code === 125, `exit ${r.code} on ${JSON.stringify(text)}`)
    if (r.code === 125) assert.ok(JSON.parse(r.stderr.trim()).event === 'error')
  }
  // random Docker-shaped profiles through the whole TypeScript path
  const actions = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_TRAP', 'SCMP_ACT_LOG', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRACE', 'SCMP_ACT_BOGUS']
  const ops = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_EQ', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_X']
  for (let i = 0; i < 20; i++) {
    const syscalls = Array.from({length: 1 + rnd(6)}, () => ({
      names: Array.from({length: 1 + rnd(3)}, () => ['read', 'socket', 'clone', 'ioctl', 'keyctl', 'nope', 'socketcall'][rnd(7)]),
      action: actions[rnd(actions.length)],
      ...(rnd(2) ? {args: Array.from({length: rnd(4)}, () => ({index: rnd(7), value: rnd(100), valueTwo: rnd(3), op: ops[rnd(ops.length)]}))} : {}),
    }))
    const text = JSON.stringify({defaultAction: actions[rnd(3)], syscalls})
    const {profile} = await profileProblems(text)
    if (!profile) continue
    try {
      await compileResolved(resolveProfile(profile, ctx()))
    } catch (e) {
      assert.is(e.code, 'seccomp-helper', `${text}: ${e.message}`)
    }
  }
})

t('effective rules follow libseccomp: an unconditional rule takes the whole syscall', () => {
  const r = resolveProfile({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{index: 0, value: 40, op: 'SCMP_CMP_EQ'}]}, {names: ['socket'], action: 'SCMP_ACT_ALLOW'}]}, ctx())
  const e = effectiveRules(r, 'socket')
  assert.is(e.unconditional.entry, 1)
  assert.is(e.ignored.length, 1)
})

t.run()
