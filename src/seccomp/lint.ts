/**
 * Lint: a valid profile that is probably not what its author meant. Each finding
 * names a JSON path, a rule id and what to do; nothing here stops a profile loading.
 */
import {hostArches, type SyscallTables} from './host.js'
import {effectiveRules, entryApplies, entryNames, MULTIPLEXED, resolveProfile, sameAction, toAction, type ResolveContext} from './resolve.js'
import {SECCOMP_PROFILE_SCHEMA, type SeccompProfile} from './schema.js'

export interface LintFinding {
  rule: 'default-allow' | 'dangerous-allow' | 'unknown-syscall' | 'missing-on-arch' | 'unreachable' | 'shadowed' | 'same-as-default' | 'repeated-argument' | 'multiplexer-bypass' | 'unknown-key' | 'ignored-setting' | 'native-only' | 'errno-range' | 'no-names'
  path: string
  message: string
  /**
   * warning: probably not what the author meant; note: a choice the profile itself
   * explains (an entry's comment names the call, a name kept for other machines'
   * ABIs). `lab profile lint` shows notes only with --verbose, and --strict ignores them.
   */
  level: 'warning' | 'note'
}

/** Calls that give a sandboxed process the kernel's attack surface or a way out. */
export const DANGEROUS: Record<string, string> = {
  keyctl: 'kernel keyrings are not namespaced', add_key: 'kernel keyrings are not namespaced', request_key: 'kernel keyrings are not namespaced',
  userfaultfd: 'a staple of kernel exploits (stalls page faults)', io_uring_setup: 'io_uring bypasses seccomp for the operations it runs', io_uring_enter: 'io_uring bypasses seccomp', io_uring_register: 'io_uring bypasses seccomp',
  kexec_load: 'replaces the running kernel', kexec_file_load: 'replaces the running kernel', bpf: 'loads programs into the kernel', perf_event_open: 'leaks kernel addresses and timing',
  mount: 'changes the sandbox\'s mounts', umount2: 'can reveal what masks hide', umount: 'can reveal what masks hide', pivot_root: 'changes the root', fsopen: 'the new mount API', fsmount: 'the new mount API', move_mount: 'the new mount API', open_tree: 'the new mount API', fsconfig: 'the new mount API', fspick: 'the new mount API', mount_setattr: 'changes mount flags',
  unshare: 'creates namespaces (user namespaces open much of the kernel)', setns: 'joins other namespaces', clone3: 'its flags cannot be filtered (answer ENOSYS instead)',
  open_by_handle_at: 'the "shocker" escape: opens host files by handle', name_to_handle_at: 'pairs with open_by_handle_at',
  init_module: 'loads kernel modules', finit_module: 'loads kernel modules', delete_module: 'unloads kernel modules', reboot: 'reboots the machine', swapon: 'host swap', swapoff: 'host swap',
  acct: 'host process accounting', quotactl: 'host quotas', syslog: 'reads the kernel log', lookup_dcookie: 'kernel internals', uselib: 'obsolete loader', vm86: 'obsolete, bug-prone', vm86old: 'obsolete, bug-prone', modify_ldt: 'a frequent source of kernel bugs',
  ptrace: 'inspects and changes other processes (grading: use the strict profile)', process_vm_readv: 'reads other processes\' memory', process_vm_writev: 'writes other processes\' memory',
  iopl: 'raw port I/O', ioperm: 'raw port I/O', sethostname: 'host name', setdomainname: 'domain name', settimeofday: 'host clock', clock_settime: 'host clock', nfsservctl: 'obsolete',
}

export function lintProfile(p: SeccompProfile, tables: SyscallTables, ctx: ResolveContext): LintFinding[] {
  const found: Array<Omit<LintFinding, 'level'> & {level?: LintFinding['level']}> = []
  const out = {push: (f: (typeof found)[number]) => found.push(f)}
  // ABIs the profile is written for beyond this host's (Docker's own lists five machines)
  const canon = (a: string) => a.replace(/^SCMP_ARCH_/, '').toLowerCase()
  const hostAbis = new Set(hostArches())
  const foreign = [...new Set([...(p.architectures ?? []), ...(p.archMap ?? []).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])])].map(canon))].filter((a) => !hostAbis.has(a) && !hostAbis.has(a.replace('amd64', 'x86_64')))
  const known = new Set(Object.keys(SECCOMP_PROFILE_SCHEMA.properties))
  for (const k of Object.keys(p)) if (!known.has(k) && k !== 'comment') out.push({rule: 'unknown-key', path: `/${k}`, message: `Docker ignores the key "${k}" (a typo?)`})
  if (p.flags?.length) out.push({rule: 'ignored-setting', path: '/flags', message: 'filter flags are not applied by lab (the filter is installed without flags)'})
  if (p.listenerPath) out.push({rule: 'ignored-setting', path: '/listenerPath', message: 'lab has no seccomp agent; the listener is never contacted'})
  const def = toAction(p.defaultAction, p.defaultErrnoRet)
  if (def.kind === 'allow' || def.kind === 'log') {
    out.push({rule: 'default-allow', path: '/defaultAction', message: `the default action ${p.defaultAction} allows every call not listed, including ones added to the kernel later; deny by default and list what is needed`})
  }
  if ((p.defaultErrnoRet ?? 0) > 4095) out.push({rule: 'errno-range', path: '/defaultErrnoRet', message: 'errno values above 4095 are not errors to the C library'})

  const allNames = new Set<string>()
  for (const a of Object.values(tables.arches)) for (const n of Object.keys(a.syscalls)) allNames.add(n)
  const archList = hostArches().filter((a) => tables.arches[a])
  const resolved = resolveProfile(p, ctx)
  const declared = [...(p.architectures ?? []), ...(p.archMap ?? []).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])])]
  const killed = archList.filter((a) => !resolved.arches.includes(a))
  if (declared.length === 0 && killed.length) {
    out.push({rule: 'native-only', path: '/architectures', message: `no architectures listed: only ${ctx.arch} programs can run, a ${killed.join(' or ')} system call kills the process (as under Docker); list the ABIs you need in archMap`})
  }
  ;(p.syscalls ?? []).forEach((e, i) => {
    const at = `/syscalls/${i}`
    const names = entryNames(e)
    if (names.length === 0) out.push({rule: 'no-names', path: at, message: 'the entry names no syscall and does nothing'})
    if ((e.errnoRet ?? 0) > 4095) out.push({rule: 'errno-range', path: `${at}/errnoRet`, message: 'errno values above 4095 are not errors to the C library'})
    const action = toAction(e.action, e.errnoRet)
    if (sameAction(action, def)) out.push({rule: 'same-as-default', path: `${at}/action`, message: `the action equals the default action, so the entry changes nothing`})
    const idx = (e.args ?? []).map((a) => a.index ?? 0)
    if (new Set(idx).size !== idx.length) {
      out.push({rule: 'repeated-argument', path: `${at}/args`, message: 'an argument is compared twice: Docker then applies each comparison as a separate rule (OR, not AND), which usually allows more than meant'})
    }
    // conditions that can never hold on any machine
    if (e.includes?.caps?.some((c) => (e.excludes?.caps ?? []).includes(c))) out.push({rule: 'unreachable', path: `${at}/includes`, message: 'the same capability is both required and excluded'})
    const decision = entryApplies(e.includes, e.excludes, ctx)
    // an entry for other machines (Docker's arm and s390 entries) names their calls
    const otherArch = entryApplies({arches: e.includes?.arches}, {arches: e.excludes?.arches}, ctx) !== null
    const uncovered = new Map<string, string[]>()
    names.forEach((n, j) => {
      const np = e.names ? `${at}/names/${j}` : `${at}/name`
      if (otherArch) {
        // this host's tables cannot judge another machine's names
      } else if (!allNames.has(n)) {
        if (foreign.length) out.push({rule: 'unknown-syscall', level: 'note', path: np, message: `"${n}" is not a syscall on ${archList.join(', ')} (libseccomp ${tables.libseccomp}), so it does nothing here; the profile also covers ${foreign.join(', ')}, where it may be one`})
        else out.push({rule: 'unknown-syscall', path: np, message: `"${n}" is not a syscall on ${archList.join(', ')} (libseccomp ${tables.libseccomp}); the entry is ignored there`})
      } else if (!archList.some((a) => resolved.arches.includes(a) && tables.arches[a].syscalls[n] !== undefined)) {
        // a 32-bit name (chown32) is right in a profile that covers x86, and on a 32-bit
        // host; here it does nothing. One finding per entry: portable profiles list dozens.
        const on = archList.filter((a) => tables.arches[a].syscalls[n] !== undefined).join(', ')
        const list = uncovered.get(on) ?? []
        uncovered.set(on, list)
        list.push(n)
      }
      if ((action.kind === 'allow' || action.kind === 'log') && DANGEROUS[n] && !decision) {
        const guarded = (e.args ?? []).length > 0 || (e.includes?.caps ?? []).length > 0
        // an entry whose comment names the call allows it on purpose, and says why
        const why = e.comment && new RegExp(`\\b${n.replace(/_[^_]*$/, '')}`).test(e.comment) ? e.comment : null
        if (!guarded && why) out.push({rule: 'dangerous-allow', level: 'note', path: np, message: `"${n}" is allowed unconditionally (${DANGEROUS[n]}) on purpose; the entry's comment says why: ${why}`})
        else if (!guarded) out.push({rule: 'dangerous-allow', path: np, message: `"${n}" is allowed unconditionally: ${DANGEROUS[n]}`})
      }
      if (!decision) {
        const eff = effectiveRules(resolved, n)
        if (eff.unconditional && eff.unconditional.entry >= 0 && eff.unconditional.entry < i) {
          out.push({rule: 'shadowed', path: np, message: `syscalls[${eff.unconditional.entry}] already decides "${n}" without conditions; this entry is never reached`})
        }
      }
    })
    for (const [on, list] of uncovered) {
      const shown = list.length > 6 ? `${list.slice(0, 6).join(', ')} and ${list.length - 6} more` : list.join(', ')
      out.push({rule: 'missing-on-arch', level: 'note', path: `${at}/names`, message: `${list.length === 1 ? 'a name exists' : `${list.length} names exist`} only on ${on} of this host's ABIs, which this profile does not cover, so ${list.length === 1 ? 'it does' : 'they do'} nothing here: ${shown} (list ${on} in archMap to cover ${list.length === 1 ? 'it' : 'them'})`})
    }
  })
  // 32-bit x86: arguments behind socketcall/ipc live in memory, out of a filter's reach
  if (resolved.arches.includes('x86')) {
    for (const [mux, calls] of Object.entries(MULTIPLEXED)) {
      const muxRules = effectiveRules(resolved, mux)
      if (!muxRules.unconditional || muxRules.unconditional.action.kind !== 'allow') continue
      const filtered = calls.filter((c) => effectiveRules(resolved, c).conditional.length > 0)
      if (filtered.length) {
        out.push({rule: 'multiplexer-bypass', path: `/syscalls/${muxRules.unconditional.entry}`, message: `"${mux}" is allowed while ${filtered.join(', ')} have argument filters: a 32-bit process reaches them through ${mux}, whose arguments the filter cannot read`})
      }
    }
  }
  return found.map((f) => ({...f, level: f.level ?? 'warning'}))
}
