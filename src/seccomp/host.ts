/**
 * What a profile's conditions resolve against: the host's arch (and the ABIs its
 * kernel also runs), its kernel version, and the syscall tables libseccomp knows,
 * read through `lab-seccomp names` (src/sandbox-native/seccomp_tool.c) instead of a copied table.
 */
import {execFile} from 'node:child_process'
import {release} from 'node:os'

import {LabError} from '../errors.js'
import {assertHelperBuilt, SECCOMP_TOOL_PATH} from '../sandbox/helper.js'

/** libseccomp's name of this machine's arch; the same table as the helper's. */
export function nativeArch(): string {
  const byNode: Record<string, string> = {x64: 'x86_64', arm64: 'aarch64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loongarch64', mips64el: 'mipsel64'}
  return byNode[process.arch] ?? process.arch
}

/** The ABIs the filter covers: the native one and every one the same kernel runs. */
export const SUB_ARCHES: Record<string, string[]> = {
  x86_64: ['x86', 'x32'],
  aarch64: ['arm'],
  ppc64: ['ppc'],
  s390x: ['s390'],
  mips64: ['mips64n32', 'mips'],
  mipsel64: ['mipsel64n32', 'mipsel'],
}

export function hostArches(): string[] {
  const n = nativeArch()
  return [n, ...(SUB_ARCHES[n] ?? [])]
}

/** The names Docker profiles use for an arch in includes/excludes (Go's GOARCH among them). */
export const ARCH_CONDITION_NAMES: Record<string, string[]> = {
  x86_64: ['amd64', 'x86_64', 'SCMP_ARCH_X86_64'],
  aarch64: ['arm64', 'aarch64', 'SCMP_ARCH_AARCH64'],
  ppc64le: ['ppc64le', 'SCMP_ARCH_PPC64LE'],
  s390x: ['s390x', 'SCMP_ARCH_S390X'],
  riscv64: ['riscv64', 'SCMP_ARCH_RISCV64'],
  loongarch64: ['loong64', 'loongarch64', 'SCMP_ARCH_LOONGARCH64'],
  mipsel64: ['mips64le', 'mipsel64', 'SCMP_ARCH_MIPSEL64'],
}

export function hostKernel(rel = release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel)
  return m ? [Number(m[1]), Number(m[2])] : [0, 0]
}

export interface SyscallTables {
  libseccomp: string
  native: string
  arches: Record<string, {audit: number; syscalls: Record<string, number>}>
}

let tables: Promise<SyscallTables> | null = null

/** The syscall tables of every host arch, from the system's libseccomp (once per process). */
export function syscallTables(): Promise<SyscallTables> {
  if (!tables) {
    assertHelperBuilt(SECCOMP_TOOL_PATH)
    tables = new Promise((resolve, reject) => {
      execFile(SECCOMP_TOOL_PATH, ['names'], {maxBuffer: 8 << 20}, (err, stdout, stderr) => {
        if (err) return reject(helperFailure('reading the syscall tables', stderr))
        resolve(JSON.parse(stdout) as SyscallTables)
      })
    })
  }
  return tables
}

/** Turns the helper's JSON error line into a LabError. */
export function helperFailure(what: string, stderr: string): LabError {
  let message = stderr.trim() || 'the helper failed'
  let hint = 'run `lab doctor`'
  try {
    const ev = JSON.parse(stderr.trim().split('\n').pop() ?? '') as {call: string; path: string; message: string}
    message = `${ev.call}${ev.path ? ` ${ev.path}` : ''}: ${ev.message}`
    if (ev.call === 'dlopen' || ev.call === 'dlsym') hint = 'install libseccomp: Debian/Ubuntu `apt-get install libseccomp2`, Fedora `dnf install libseccomp`'
  } catch {
    /* not an event line: keep the raw text */
  }
  return new LabError('seccomp-helper', `${what} failed: ${message}`, {hint})
}
