/**
 * Record: run a command in a sandbox and write the smallest profile that lets it run.
 *
 * Mechanism: seccomp user notification. The sandbox (unconfined, otherwise as
 * hardened as any) starts `lab-helper seccomp-record`, which forks the command under a
 * filter that turns every syscall into a notification, notes (arch, number) and lets
 * the call continue (src/sandbox-native/seccomp_record.c). Numbers become names with
 * the host's libseccomp tables.
 *
 * Limits: only what this run does is seen (other inputs, error paths, signals may
 * need more); arguments are not recorded, so the profile allows each call whole,
 * except clone, clone3, socket and personality, which get the default profile's
 * argument rules; syscalls run 10-100x slower while recorded; the recorder is PID 1
 * of the sandbox and needs Linux 5.5+.
 */
import {chownSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {LabError} from '../errors.js'
import {HELPER_PATH} from '../sandbox/helper.js'
import {runRequest} from '../sandbox/run-request.js'
import type {SandboxResult} from '../sandbox/result.js'
import {hostArches, syscallTables} from './host.js'
import {DANGEROUS} from './lint.js'
import {loadProfileRef} from './profiles.js'
import {entryNames} from './resolve.js'
import type {ProfileSyscall, SeccompProfile} from './schema.js'

const NOBODY = 65534
const TOOLS = '/.lab-tools'
const OUT = '/.lab-record'

/** Calls whose safe use depends on arguments: taken with the default profile's rules. */
const ARGUMENT_RULED = ['clone', 'clone3', 'socket', 'personality']

export interface RecordResult {
  command: string[]
  exitCode: number
  result: SandboxResult
  /** distinct syscalls seen, per arch */
  seen: Record<string, string[]>
  /** recorded calls that the lint would flag as dangerous */
  dangerous: string[]
  profile: SeccompProfile
}

const SCMP_ARCH: Record<string, string> = {x86_64: 'SCMP_ARCH_X86_64', x86: 'SCMP_ARCH_X86', x32: 'SCMP_ARCH_X32', aarch64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', s390: 'SCMP_ARCH_S390', riscv64: 'SCMP_ARCH_RISCV64'}

export async function recordProfile(command: string[], opts: {capAdd?: string[]; volumes?: string[]; workdir?: string; env?: string[]; network?: string; timeout?: string; stdio?: 'inherit' | 'pipe'} = {}): Promise<RecordResult> {
  if (!command.length) throw new LabError('usage', 'no command to record', {hint: 'put it after --, e.g. lab profile record -o my.json -- python3 app.py'})
  const tables = await syscallTables()
  const dir = mkdtempSync(join(tmpdir(), 'lab-record-'))
  try {
    // The engine id-maps a writable volume owned by an ordinary user onto the sandbox's
    // root; a root-owned one would stay out of reach of the sandbox's user namespace.
    if (process.getuid?.() === 0) chownSync(dir, NOBODY, NOBODY)
    const result = await runRequest({
      command: [`${TOOLS}/lab-helper`, 'seccomp-record', `${OUT}/seen`, '--', ...command],
      securityOpt: ['seccomp=unconfined'],
      capAdd: opts.capAdd,
      // a writable volume like any other, so the engine maps ownership for its user namespace
      volumes: [...(opts.volumes ?? []), `${dir}:${OUT}`],
      workdir: opts.workdir,
      env: opts.env,
      network: opts.network,
      timeout: opts.timeout,
      callerEnv: process.env,
      mounts: [
        {type: 'bind', source: dirname(HELPER_PATH), destination: TOOLS, readOnly: true},
      ],
    }, {stdio: opts.stdio ?? 'pipe'})
    if (result.verdict === 'engine-error') {
      throw new LabError('record-failed', `the recording sandbox could not start: ${result.error?.message ?? 'unknown error'}`, {hint: result.error?.hint ?? 'run `lab doctor`'})
    }
    let text: string
    try {
      text = readFileSync(join(dir, 'seen'), 'utf8')
    } catch {
      throw new LabError('record-failed', `nothing was recorded (exit code ${result.exitCode}); ${result.stderr?.trim().split('\n').pop() ?? ''}`, {hint: 'recording needs Linux 5.5 or newer (seccomp user notification); check that the command exists in the sandbox'})
    }
    const byAudit = new Map(Object.entries(tables.arches).map(([name, t]) => [t.audit, {name, names: new Map(Object.entries(t.syscalls).map(([n, nr]) => [nr, n]))}]))
    const seen: Record<string, Set<string>> = {}
    for (const line of text.split('\n')) {
      const m = /^(\d+) (-?\d+)$/.exec(line)
      if (!m) continue
      const nr = Number(m[2])
      // x32 calls arrive as AUDIT_ARCH_X86_64 with bit 30 set in the number
      const arch = Number(m[1]) === tables.arches.x86_64?.audit && nr & 0x40000000 && tables.arches.x32 ? byAudit.get(tables.arches.x32.audit) : byAudit.get(Number(m[1]))
      const name = arch?.names.get(nr)
      if (!arch || !name) continue
      ;(seen[arch.name] ??= new Set()).add(name)
    }
    // what the helper itself does after installing the filter: exec the program
    const all = new Set<string>(['execve', 'exit_group', 'exit'])
    for (const s of Object.values(seen)) for (const n of s) all.add(n)
    const profile = await profileFor(all, command, Object.keys(seen))
    return {
      command,
      exitCode: result.exitCode,
      result,
      seen: Object.fromEntries(Object.entries(seen).map(([a, s]) => [a, [...s].sort()])),
      dangerous: [...all].filter((n) => DANGEROUS[n]).sort(),
      profile,
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** The profile covers the ABIs the command used: the native one, and a 32-bit one only if seen. */
async function profileFor(names: Set<string>, command: string[], abisSeen: string[]): Promise<SeccompProfile> {
  const {profile: def} = await loadProfileRef('default')
  const plain = [...names].filter((n) => !ARGUMENT_RULED.includes(n)).sort()
  const syscalls: ProfileSyscall[] = [{names: plain, action: 'SCMP_ACT_ALLOW', comment: 'recorded'}]
  for (const n of ARGUMENT_RULED) {
    if (!names.has(n) && !(n === 'clone' && names.has('clone3'))) continue
    for (const e of def.syscalls ?? []) if (entryNames(e).includes(n)) syscalls.push({...e, names: [n]})
  }
  const [native, ...subs] = hostArches()
  return {
    name: 'recorded',
    description: `Recorded by lab profile record from: ${command.join(' ').slice(0, 200)}`,
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [{architecture: SCMP_ARCH[native] ?? native, subArchitectures: subs.filter((s) => abisSeen.includes(s)).map((s) => SCMP_ARCH[s] ?? s)}],
    syscalls,
  }
}
