/**
 * Profile → resolved rules: Docker's conditions (includes/excludes by caps, arches,
 * minKernel) are decided against the sandbox's capabilities and the host's kernel
 * and arch, and each entry becomes plain libseccomp rules, as runc builds them:
 * the conditions of one entry must all hold, except that an entry comparing one
 * argument twice becomes one rule per condition (runc's "old behaviour", kept so a
 * profile means here what it means under Docker). Pure; the compiler and the
 * explain/diff/lint tools all read this one result.
 */
import {hostKernel, nativeArch, ARCH_CONDITION_NAMES, SUB_ARCHES} from './host.js'
import {ARCH_ALIASES, type ProfileAction, type ProfileFilter, type ProfileOperator, type SeccompProfile} from './schema.js'

export type ActionKind = 'allow' | 'log' | 'trap' | 'kill_process' | 'kill_thread' | 'errno' | 'trace'

export interface Action {
  kind: ActionKind
  /** errno for 'errno', the tracer's message for 'trace' */
  value?: number
}

export type Op = 'ne' | 'lt' | 'le' | 'eq' | 'ge' | 'gt' | 'masked_eq'

export interface Condition {
  index: number
  op: Op
  value: bigint
  valueTwo: bigint
}

export interface ResolvedRule {
  name: string
  action: Action
  /** all must hold (empty: always) */
  conditions: Condition[]
  /** index of the profile's syscalls[] entry it comes from */
  entry: number
}

export interface ResolveContext {
  /** the sandbox's capabilities, Docker names without CAP_ */
  capabilities: string[]
  kernel: [number, number]
  /** libseccomp name of the native arch */
  arch: string
  /**
   * the sandbox writes a host-root-owned volume as host root: the filter then refuses to
   * make set-uid/set-gid files whatever the profile says (src/sandbox/root-volumes.ts)
   */
  restrictSetid?: boolean
}

export interface EntryDecision {
  entry: number
  applies: boolean
  /** why an entry does not apply (or undefined) */
  reason?: string
}

export interface ResolvedProfile {
  /** the ABIs the filter covers: the native one first; a call from any other is killed */
  arches: string[]
  defaultAction: Action
  rules: ResolvedRule[]
  entries: EntryDecision[]
  context: ResolveContext
  /**
   * Every syscall the entries that apply name, whatever their action, when the filter
   * answers ENOSYS above the highest of them (see enosysStubApplies); else empty.
   */
  named: string[]
  /** see ResolveContext.restrictSetid */
  restrictSetid: boolean
}

/**
 * Whether a syscall newer than every one the profile names gets ENOSYS rather than the
 * default action, as under runc and crun: always, unless the default allows (nothing to
 * fall back from) or already is ENOSYS. A profile from 2017 does not name statx or
 * clone3; glibc takes EPERM for "exists and refused" and fails, ENOSYS for "too old a
 * kernel" and falls back to the older call.
 */
export function enosysStubApplies(defaultAction: Action): boolean {
  return defaultAction.kind !== 'allow' && defaultAction.kind !== 'log' && !(defaultAction.kind === 'errno' && defaultAction.value === 38)
}

/** The highest number the profile names on an ABI, with its name; null when there is no stub. */
export function newestNamed(r: ResolvedProfile, syscalls: Record<string, number>, arch: string): {name: string; number: number} | null {
  if (arch === 'x32') return null // x32 calls skip the stub (seccomp_compile.c says why)
  let best: {name: string; number: number} | null = null
  for (const n of r.named) {
    const nr = syscalls[n]
    if (nr !== undefined && nr > 0 && (!best || nr > best.number)) best = {name: n, number: nr}
  }
  return best
}

export const EPERM = 1

export function hostContext(capabilities: string[] = [], restrictSetid = false): ResolveContext {
  return {capabilities: capabilities.map(normalizeCap), kernel: hostKernel(), arch: nativeArch(), ...(restrictSetid ? {restrictSetid} : {})}
}

export function normalizeCap(c: string): string {
  return c.toUpperCase().replace(/^CAP_/, '')
}

export function toAction(a: ProfileAction, errnoRet: number | null | undefined): Action {
  switch (a) {
    case 'SCMP_ACT_ALLOW': return {kind: 'allow'}
    case 'SCMP_ACT_LOG': return {kind: 'log'}
    case 'SCMP_ACT_TRAP': return {kind: 'trap'}
    case 'SCMP_ACT_KILL_PROCESS': return {kind: 'kill_process'}
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD': return {kind: 'kill_thread'}
    case 'SCMP_ACT_ERRNO': return {kind: 'errno', value: errnoRet ?? EPERM}
    case 'SCMP_ACT_TRACE': return {kind: 'trace', value: errnoRet ?? EPERM}
    case 'SCMP_ACT_NOTIFY': throw new Error('SCMP_ACT_NOTIFY reached resolve; load.ts refuses it')
  }
}

const OPS: Record<ProfileOperator, Op> = {
  SCMP_CMP_NE: 'ne', SCMP_CMP_LT: 'lt', SCMP_CMP_LE: 'le', SCMP_CMP_EQ: 'eq', SCMP_CMP_GE: 'ge', SCMP_CMP_GT: 'gt', SCMP_CMP_MASKED_EQ: 'masked_eq',
}

export function sameAction(a: Action, b: Action): boolean {
  return a.kind === b.kind && (a.value ?? 0) === (b.value ?? 0)
}

/** The names an entry lists (legacy "name" included). */
export function entryNames(e: {names?: string[] | null; name?: string}): string[] {
  return [...(e.names ?? []), ...(e.name ? [e.name] : [])]
}

function archMatches(list: string[], arch: string): boolean {
  const names = new Set([...(ARCH_CONDITION_NAMES[arch] ?? []), arch])
  return list.some((a) => names.has(a) || ARCH_ALIASES[a] === arch)
}

function kernelAtLeast(k: [number, number], v: string): boolean {
  const [maj, min] = v.split('.').map(Number)
  return k[0] > maj || (k[0] === maj && k[1] >= min)
}

/** Whether an entry's includes/excludes hold in ctx (Docker's rules), and why not. */
export function entryApplies(inc: ProfileFilter | null | undefined, exc: ProfileFilter | null | undefined, ctx: ResolveContext): string | null {
  const caps = new Set(ctx.capabilities.map(normalizeCap))
  if (inc?.caps?.length) {
    const missing = inc.caps.map(normalizeCap).filter((c) => !caps.has(c))
    if (missing.length) return `needs capability ${missing.join(', ')}`
  }
  if (exc?.caps?.length) {
    const present = exc.caps.map(normalizeCap).filter((c) => caps.has(c))
    if (present.length) return `not with capability ${present.join(', ')}`
  }
  if (inc?.arches?.length && !archMatches(inc.arches, ctx.arch)) return `only on ${inc.arches.join(', ')}`
  if (exc?.arches?.length && archMatches(exc.arches, ctx.arch)) return `not on ${ctx.arch}`
  if (inc?.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) return `needs kernel ${inc.minKernel} or newer`
  if (exc?.minKernel && kernelAtLeast(ctx.kernel, exc.minKernel)) return `only below kernel ${exc.minKernel}`
  return null
}

/**
 * The ABIs a profile covers on this host, as Docker decides them: the native one always,
 * and those of the ABIs the same kernel also runs (x86_64: x86, x32) that the profile
 * lists, in `architectures` or in the archMap entry of the native arch. A profile that
 * lists none covers the native ABI only. The filter kills a process making a system call
 * from an ABI it does not cover (systemd's SystemCallArchitectures=native).
 */
export function coveredArches(profile: SeccompProfile, native: string): string[] {
  const canon = (a: string) => ARCH_ALIASES[a] ?? a
  const listed = new Set((profile.architectures ?? []).map(canon))
  for (const m of profile.archMap ?? []) {
    if (canon(m.architecture) === native) for (const sub of m.subArchitectures ?? []) listed.add(canon(sub))
  }
  return [native, ...(SUB_ARCHES[native] ?? []).filter((a) => listed.has(a))]
}

export function resolveProfile(profile: SeccompProfile, ctx: ResolveContext): ResolvedProfile {
  const defaultAction = toAction(profile.defaultAction, profile.defaultErrnoRet)
  const rules: ResolvedRule[] = []
  const entries: EntryDecision[] = []
  ;(profile.syscalls ?? []).forEach((e, entry) => {
    const why = entryApplies(e.includes, e.excludes, ctx)
    entries.push(why ? {entry, applies: false, reason: why} : {entry, applies: true})
    if (why) return
    const action = toAction(e.action, e.errnoRet)
    const conds: Condition[] = (e.args ?? []).map((a) => ({
      index: a.index ?? 0,
      op: OPS[a.op ?? 'SCMP_CMP_EQ'],
      value: BigInt(a.value ?? 0),
      valueTwo: BigInt(a.valueTwo ?? 0),
    }))
    const repeated = new Set(conds.map((c) => c.index)).size !== conds.length
    const groups = repeated ? conds.map((c) => [c]) : [conds]
    for (const name of entryNames(e)) for (const g of groups) rules.push({name, action, conditions: g, entry})
  })
  const named = enosysStubApplies(defaultAction)
    ? [...new Set((profile.syscalls ?? []).flatMap((e, i) => (entries[i].applies ? entryNames(e) : [])))].sort()
    : []
  const resolved: ResolvedProfile = {arches: coveredArches(profile, ctx.arch), defaultAction, rules, entries, context: ctx, named, restrictSetid: ctx.restrictSetid === true}
  resolved.rules = [...guardMultiplexers(resolved), ...rules]
  return resolved
}

/** Calls that 32-bit x86 (and s390) programs can also reach through a multiplexer. */
export const MULTIPLEXED: Record<string, string[]> = {
  socketcall: ['socket', 'socketpair', 'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockopt', 'setsockopt', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'shutdown', 'getsockname', 'getpeername'],
  ipc: ['semop', 'semget', 'semctl', 'semtimedop', 'msgsnd', 'msgrcv', 'msgget', 'msgctl', 'shmat', 'shmdt', 'shmget', 'shmctl'],
}

/** entry number of the rules lab adds itself (see guardMultiplexers) */
export const LAB_RULE = -1

/**
 * A multiplexer's arguments point to memory the filter cannot read, so when a call
 * behind it has argument conditions, the multiplexer itself must not be reachable
 * under libseccomp's translated sub-rules: lab adds an unconditional ENOSYS for it
 * (EPERM if ENOSYS is the default) unless the profile decides it unconditionally.
 */
function guardMultiplexers(r: ResolvedProfile): ResolvedRule[] {
  const out: ResolvedRule[] = []
  for (const [mux, calls] of Object.entries(MULTIPLEXED)) {
    if (!calls.some((c) => effectiveRules(r, c).conditional.length > 0)) continue
    if (effectiveRules(r, mux).unconditional) continue
    const value = r.defaultAction.kind === 'errno' && r.defaultAction.value === 38 ? EPERM : 38
    out.push({name: mux, action: {kind: 'errno', value}, conditions: [], entry: LAB_RULE})
  }
  return out
}

/**
 * The rules libseccomp will act on for one syscall, in order: an unconditional rule
 * takes the whole syscall (libseccomp drops conditional rules beside it), rules
 * repeating the default action change nothing.
 */
export function effectiveRules(r: ResolvedProfile, name: string): {unconditional: ResolvedRule | null; conditional: ResolvedRule[]; ignored: ResolvedRule[]} {
  const all = r.rules.filter((x) => x.name === name)
  const live = all.filter((x) => !sameAction(x.action, r.defaultAction))
  const unconditional = live.find((x) => x.conditions.length === 0) ?? null
  const conditional = unconditional ? [] : live.filter((x) => x.conditions.length > 0)
  const ignored = all.filter((x) => x !== unconditional && !conditional.includes(x))
  return {unconditional, conditional, ignored}
}

export function actionToken(a: Action): string {
  return a.kind === 'errno' || a.kind === 'trace' ? `${a.kind} ${a.value}` : a.kind
}

/** The helper's rule file (format documented in src/sandbox-native/seccomp_compile.c). */
export function rulesText(r: ResolvedProfile): string {
  const lines = ['lab-seccomp 1', `arches ${r.arches.join(' ')}`, `default ${actionToken(r.defaultAction)}`]
  for (const n of r.named) lines.push(`named ${n}`)
  if (r.restrictSetid) lines.push('restrict-setid')
  // multiplexers first: libseccomp then keeps their unconditional rule (see seccomp_compile.c)
  const names = [...new Set(r.rules.map((x) => x.name))].sort((a, b) => Number(b in MULTIPLEXED) - Number(a in MULTIPLEXED))
  for (const name of names) {
    const {unconditional, conditional} = effectiveRules(r, name)
    const keep = unconditional ? [unconditional] : conditional
    for (const rule of keep) {
      const args = rule.conditions.map((c) => ` arg ${c.index} ${c.op} ${c.value} ${c.valueTwo}`).join('')
      lines.push(`rule ${name} ${actionToken(rule.action)}${args}`)
    }
  }
  lines.push('end')
  return lines.join('\n') + '\n'
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 22: 'EINVAL', 38: 'ENOSYS', 93: 'EPROTONOSUPPORT', 94: 'ESOCKTNOSUPPORT', 95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT',
}

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'allow': return 'allowed'
    case 'log': return 'allowed and logged'
    case 'trap': return 'SIGSYS is sent'
    case 'kill_process': return 'the process is killed'
    case 'kill_thread': return 'the thread is killed'
    case 'errno': return `fails with ${ERRNO_NAMES[a.value!] ?? 'errno'} (${a.value})`
    case 'trace': return `a ptrace tracer is asked (message ${a.value}); without one it fails with ENOSYS`
  }
}

/** Where a rule comes from, for people. */
export function ruleSource(entry: number): string {
  return entry === LAB_RULE ? 'added by lab: a multiplexer whose arguments a filter cannot read' : `syscalls[${entry}]`
}

export function describeCondition(c: Condition): string {
  const v = (n: bigint) => (n > 255n ? '0x' + n.toString(16) : n.toString())
  const sym: Record<Op, string> = {ne: '!=', lt: '<', le: '<=', eq: '==', ge: '>=', gt: '>', masked_eq: '&'}
  return c.op === 'masked_eq' ? `arg${c.index} & ${v(c.value)} == ${v(c.valueTwo)}` : `arg${c.index} ${sym[c.op]} ${v(c.value)}`
}
