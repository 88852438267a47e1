/**
 * Explain: what a profile does to one syscall on each of the host's ABIs, and why —
 * the entries that name it, whether each applies (capabilities, arch, kernel), the
 * rule that decides, and the compiled filter's own answer for all-zero arguments. A
 * syscall newer than every one the profile names answers ENOSYS (resolve.ts's
 * enosysStubApplies), and the explanation says so with the newest named one.
 */
import {loadBpf, retToAction, runBpf} from './bpf.js'
import {compileResolved} from './compile.js'
import {hostArches, type SyscallTables} from './host.js'
import {describeAction, describeCondition, effectiveRules, ruleSource, entryApplies, entryNames, newestNamed, resolveProfile, toAction, type Action, type ResolveContext} from './resolve.js'
import type {SeccompProfile} from './schema.js'

export interface ExplainEntry {
  entry: number
  path: string
  action: Action
  conditions: string[]
  applies: boolean
  reason?: string
  comment?: string
}

export interface ExplainArch {
  arch: string
  number: number | null
  /** one sentence: what happens */
  outcome: string
  decidedBy: number | null
  rules: Array<{when: string; action: Action; entry: number}>
  fallback: Action | null
  /** the compiled filter's decision with every argument 0 */
  filterSaysForZeroArgs: Action | null
  /** syscalls numbered above this one answer ENOSYS on this ABI (the newest the profile names); null: no such rule */
  enosysAbove: {name: string; number: number} | null
}

export interface Explanation {
  syscall: string
  context: ResolveContext
  entries: ExplainEntry[]
  arches: ExplainArch[]
}

/** The arch value the kernel puts in seccomp_data: x32 calls report AUDIT_ARCH_X86_64. */
export function kernelAudit(arch: string, tables: SyscallTables): number {
  return arch === 'x32' && tables.arches.x86_64 ? tables.arches.x86_64.audit : tables.arches[arch].audit
}

export async function explainSyscall(profile: SeccompProfile, syscall: string, ctx: ResolveContext, tables: SyscallTables): Promise<Explanation> {
  const resolved = resolveProfile(profile, ctx)
  const entries: ExplainEntry[] = []
  ;(profile.syscalls ?? []).forEach((e, i) => {
    if (!entryNames(e).includes(syscall)) return
    const why = entryApplies(e.includes, e.excludes, ctx)
    entries.push({
      entry: i,
      path: `/syscalls/${i}`,
      action: toAction(e.action, e.errnoRet),
      conditions: (e.args ?? []).map((a) => describeCondition({index: a.index ?? 0, op: ({SCMP_CMP_NE: 'ne', SCMP_CMP_LT: 'lt', SCMP_CMP_LE: 'le', SCMP_CMP_EQ: 'eq', SCMP_CMP_GE: 'ge', SCMP_CMP_GT: 'gt', SCMP_CMP_MASKED_EQ: 'masked_eq'} as const)[a.op ?? 'SCMP_CMP_EQ'], value: BigInt(a.value ?? 0), valueTwo: BigInt(a.valueTwo ?? 0)})),
      applies: !why,
      ...(why ? {reason: why} : {}),
      ...(e.comment ? {comment: e.comment} : {}),
    })
  })
  const {bpfPath} = await compileResolved(resolved)
  const prog = loadBpf(bpfPath)
  const eff = effectiveRules(resolved, syscall)
  const arches: ExplainArch[] = []
  for (const arch of hostArches()) {
    const t = tables.arches[arch]
    if (!t) continue
    const nr = t.syscalls[syscall]
    if (!resolved.arches.includes(arch)) {
      const zero = nr === undefined ? null : retToAction(runBpf(prog, {nr, arch: kernelAudit(arch, tables), args: [0n, 0n, 0n, 0n, 0n, 0n]}))
      arches.push({arch, number: nr ?? null, outcome: `the process is killed: the profile does not cover the ${arch} ABI (list it in archMap's subArchitectures to run ${arch} programs)`, decidedBy: null, rules: [], fallback: {kind: 'kill_process'}, filterSaysForZeroArgs: zero, enosysAbove: null})
      continue
    }
    const enosysAbove = newestNamed(resolved, t.syscalls, arch)
    if (nr === undefined) {
      arches.push({arch, number: null, outcome: `no such syscall on ${arch}`, decidedBy: null, rules: [], fallback: null, filterSaysForZeroArgs: null, enosysAbove})
      continue
    }
    const zero = retToAction(runBpf(prog, {nr, arch: kernelAudit(arch, tables), args: [0n, 0n, 0n, 0n, 0n, 0n]}))
    if (enosysAbove && nr > enosysAbove.number) {
      const outcome = `fails with ENOSYS (38): it is newer than every syscall the profile names on ${arch} (the newest is ${enosysAbove.name}, ${enosysAbove.number}), so programs fall back to an older call, as under runc and crun`
      arches.push({arch, number: nr, outcome, decidedBy: null, rules: [], fallback: {kind: 'errno', value: 38}, filterSaysForZeroArgs: zero, enosysAbove})
    } else if (eff.unconditional) {
      const u = eff.unconditional
      arches.push({arch, number: nr, outcome: `${describeAction(u.action)} (${ruleSource(u.entry)})`, decidedBy: u.entry, rules: [{when: 'always', action: u.action, entry: u.entry}], fallback: null, filterSaysForZeroArgs: zero, enosysAbove})
    } else if (eff.conditional.length) {
      const rules = eff.conditional.map((r) => ({when: r.conditions.map(describeCondition).join(' and '), action: r.action, entry: r.entry}))
      const text = rules.map((r) => `${describeAction(r.action)} when ${r.when} (${ruleSource(r.entry)})`).join('; ')
      arches.push({arch, number: nr, outcome: `${text}; otherwise ${describeAction(resolved.defaultAction)} (default action)`, decidedBy: null, rules, fallback: resolved.defaultAction, filterSaysForZeroArgs: zero, enosysAbove})
    } else {
      arches.push({arch, number: nr, outcome: `${describeAction(resolved.defaultAction)} (default action: no entry that applies names it)`, decidedBy: null, rules: [], fallback: resolved.defaultAction, filterSaysForZeroArgs: zero, enosysAbove})
    }
  }
  return {syscall, context: ctx, entries, arches}
}
