/**
 * A classic-BPF interpreter for seccomp programs: runs an exported filter on a
 * syscall (arch, number, arguments) the way the kernel does, so `lab profile explain`
 * and the tests can check what the compiled filter really decides.
 */
import {readFileSync} from 'node:fs'

import type {Action} from './resolve.js'

export interface SeccompData {
  nr: number
  /** AUDIT_ARCH_* value */
  arch: number
  ip?: bigint
  args?: bigint[]
}

const RET = {KILL_PROCESS: 0x80000000, KILL_THREAD: 0, TRAP: 0x00030000, ERRNO: 0x00050000, USER_NOTIF: 0x7fc00000, TRACE: 0x7ff00000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000}

export function loadBpf(path: string): Buffer {
  return readFileSync(path)
}

function word(d: SeccompData, off: number): number {
  if (off === 0) return d.nr >>> 0
  if (off === 4) return d.arch >>> 0
  const ip = d.ip ?? 0n
  if (off === 8) return Number(ip & 0xffffffffn)
  if (off === 12) return Number(ip >> 32n)
  if (off >= 16 && off < 64 && off % 4 === 0) {
    const v = d.args?.[(off - 16) >> 3] ?? 0n
    return Number(((off - 16) & 4 ? v >> 32n : v) & 0xffffffffn)
  }
  throw new Error(`BPF load outside seccomp_data at ${off}`)
}

/** Runs the filter; returns the raw SECCOMP_RET_* value. */
export function runBpf(prog: Buffer, d: SeccompData): number {
  let A = 0
  let X = 0
  const M = new Array<number>(16).fill(0)
  const n = prog.length / 8
  for (let pc = 0, steps = 0; pc < n && steps < 100_000; pc++, steps++) {
    const code = prog.readUInt16LE(pc * 8)
    const jt = prog[pc * 8 + 2]
    const jf = prog[pc * 8 + 3]
    const k = prog.readUInt32LE(pc * 8 + 4)
    const cls = code & 0x07
    const src = code & 0x08 ? X : k
    switch (cls) {
      case 0x00: // LD
        if ((code & 0xe0) === 0x20) A = word(d, k)
        else if ((code & 0xe0) === 0x00) A = k
        else if ((code & 0xe0) === 0x60) A = M[k & 15]
        else if ((code & 0xe0) === 0x80) A = 64
        else throw new Error(`BPF: unsupported load ${code}`)
        break
      case 0x01: // LDX
        X = (code & 0xe0) === 0x60 ? M[k & 15] : (code & 0xe0) === 0x80 ? 64 : k
        break
      case 0x02: M[k & 15] = A; break
      case 0x03: M[k & 15] = X; break
      case 0x04: { // ALU
        const op = code & 0xf0
        const ops: Record<number, () => number> = {
          0x00: () => A + src, 0x10: () => A - src, 0x20: () => Math.imul(A, src), 0x30: () => (src === 0 ? 0 : Math.floor((A >>> 0) / (src >>> 0))),
          0x40: () => A | src, 0x50: () => A & src, 0x60: () => A << (src & 31), 0x70: () => A >>> (src & 31), 0x80: () => -A, 0xa0: () => A ^ src,
        }
        if (!ops[op]) throw new Error(`BPF: unsupported alu ${code}`)
        A = ops[op]() >>> 0
        break
      }
      case 0x05: { // JMP
        const op = code & 0xf0
        if (op === 0x00) {
          pc += k
          break
        }
        const a = A >>> 0
        const b = src >>> 0
        const t = op === 0x10 ? a === b : op === 0x20 ? a > b : op === 0x30 ? a >= b : op === 0x40 ? (a & b) !== 0 : null
        if (t === null) throw new Error(`BPF: unsupported jump ${code}`)
        pc += t ? jt : jf
        break
      }
      case 0x06: return (code & 0x18) === 0x10 ? A >>> 0 : k >>> 0
      case 0x07: if (code & 0x80) A = X; else X = A; break
    }
  }
  throw new Error('BPF: program ran off its end')
}

/** The SECCOMP_RET_* value as an Action (user-notify reported as trace). */
export function retToAction(ret: number): Action {
  const action = (ret & 0xffff0000) >>> 0
  const data = ret & 0xffff
  if (action === RET.ALLOW) return {kind: 'allow'}
  if (action === RET.LOG) return {kind: 'log'}
  if (action === RET.ERRNO) return {kind: 'errno', value: data}
  if (action === RET.TRACE) return {kind: 'trace', value: data}
  if (action === RET.TRAP) return {kind: 'trap'}
  if (action === RET.KILL_PROCESS) return {kind: 'kill_process'}
  return {kind: 'kill_thread'}
}
