/**
 * Diff: what changes between two profiles for the same sandbox (capabilities) on this
 * host, per ABI: which syscalls become allowed, which become denied, and which change
 * their conditions or errno.
 */
import {hostArches, type SyscallTables} from './host.js'
import {actionToken, describeCondition, effectiveRules, resolveProfile, type Action, type ResolveContext, type ResolvedProfile} from './resolve.js'
import type {SeccompProfile} from './schema.js'

export interface Decision {
  /** "allow", "errno 1", … or "conditional" */
  summary: string
  rules: Array<{when: string; action: string}>
  otherwise: string
}

export interface DiffChange {
  syscall: string
  kind: 'now-allowed' | 'now-denied' | 'changed'
  before: Decision
  after: Decision
}

export interface ProfileDiff {
  context: ResolveContext
  /** per ABI of this host: whether each profile covers it (an uncovered ABI's calls are killed) */
  abis: Record<string, {before: 'covered' | 'killed'; after: 'covered' | 'killed'}>
  /** per ABI covered by both: the syscalls whose decision changes */
  arches: Record<string, DiffChange[]>
}

const permissive = (a: Action) => a.kind === 'allow' || a.kind === 'log'

function decide(r: ResolvedProfile, name: string): Decision {
  const eff = effectiveRules(r, name)
  const def = actionToken(r.defaultAction)
  if (eff.unconditional) return {summary: actionToken(eff.unconditional.action), rules: [], otherwise: actionToken(eff.unconditional.action)}
  if (!eff.conditional.length) return {summary: def, rules: [], otherwise: def}
  return {summary: 'conditional', rules: eff.conditional.map((x) => ({when: x.conditions.map(describeCondition).join(' and '), action: actionToken(x.action)})), otherwise: def}
}

/** How much a decision lets through: 2 always, 1 under conditions, 0 never. */
function openness(r: ResolvedProfile, name: string): number {
  const eff = effectiveRules(r, name)
  if (eff.unconditional) return permissive(eff.unconditional.action) ? 2 : 0
  if (eff.conditional.some((x) => permissive(x.action))) return permissive(r.defaultAction) ? 2 : 1
  return permissive(r.defaultAction) ? (eff.conditional.length ? 1 : 2) : 0
}

export function diffProfiles(a: SeccompProfile, b: SeccompProfile, ctx: ResolveContext, tables: SyscallTables): ProfileDiff {
  const ra = resolveProfile(a, ctx)
  const rb = resolveProfile(b, ctx)
  const out: ProfileDiff = {context: ctx, abis: {}, arches: {}}
  for (const arch of hostArches()) {
    const t = tables.arches[arch]
    if (!t) continue
    const coverage = (r: ResolvedProfile) => (r.arches.includes(arch) ? 'covered' : 'killed')
    out.abis[arch] = {before: coverage(ra), after: coverage(rb)}
    // an ABI one of them does not cover: every call of it is killed there, nothing to list
    if (coverage(ra) === 'killed' || coverage(rb) === 'killed') continue
    const changes: DiffChange[] = []
    for (const name of Object.keys(t.syscalls).sort()) {
      const before = decide(ra, name)
      const after = decide(rb, name)
      if (JSON.stringify(before) === JSON.stringify(after)) continue
      const oa = openness(ra, name)
      const ob = openness(rb, name)
      changes.push({syscall: name, kind: ob > oa ? 'now-allowed' : ob < oa ? 'now-denied' : 'changed', before, after})
    }
    out.arches[arch] = changes
  }
  return out
}

export function describeDecision(d: Decision): string {
  if (d.summary !== 'conditional') return d.summary
  return d.rules.map((r) => `${r.action} if ${r.when}`).join(', ') + `, else ${d.otherwise}`
}
