/**
 * Spec → plan: the ordered operations the native helper replays (the bubblewrap idea:
 * set-up is data). Pure apart from reading the host's layout; snapshot-testable.
 *
 * Wire format (fd 3 of lab-helper): one operation per line, tokens separated by one
 * space, every token percent-encoded (a lone "%" is the empty string), ending "end".
 *   version 1 | ns pid|mount|uts|ipc|net|cgroup|user | hostname NAME | loopback
 *   root SIZE ro|rw                       scratch tmpfs the root is built on
 *   bind SRC DST FLAGS                     FLAGS: ro,nosuid,nodev,noexec,optional,file,idmap,rootmap or -
 *   overlay SRC DST [FLAGS]                FLAGS: nosuid,noexec; upper: the directory at DST is the upper layer
 *   tmpfs DST SIZE MODE FLAGS | proc DST | sysfs DST | devpts DST | mqueue DST
 *   symlink TARGET DST | mkdir DST MODE | file DST MODE CONTENT | mask DST | readonly DST
 *   cgroup PROCS_FILE | uidmap IN OUT N | gidmap IN OUT N
 *   cgroupowner FILE                       the groups' ownership record: removed with them by a
 *                                          helper whose caller died
 *   cgstat FILE | cgfinish                 when the sandbox is over, the helper reads these
 *                                          counter files into the exit event (a detached one's:
 *                                          into its final status); cgfinish: a one-shot run's
 *                                          helper then removes the groups and the record
 *   rlimit NAME SOFT HARD | user UID GID [GROUP...] | caps HEX | ambient HEX
 *   seccomp BPF_FILE | env K=V | cwd DIR | init | timeout MS | exec ARG...
 * Lifecycle (src/sandbox/lifecycle.ts; C side detach.c, logs.c, join.c, exec.c):
 *   join net|ipc|pid PID STARTTIME         enter that running sandbox's namespace before clone
 *                                          (its "ns" line is left out); PID must still have
 *                                          STARTTIME (field 22 of /proc/PID/stat): no pid reuse
 *   join user PID STARTTIME                share the user namespace that owns the joined ones
 *                                          (no "ns user" line): its id range too (join.c)
 *   joinshm DST                            --ipc sandbox:NAME: that sandbox's /dev/shm at DST
 *   detach RUN_DIR                         become a supervisor that outlives the caller:
 *                                          RUN_DIR/status.json (atomic), RUN_DIR/events, RUN_DIR/ctl
 *                                          (control socket: "kill SIG", "stop GRACE_MS", "status")
 *   log FILE MAXBYTES FILES                capture stdout/stderr into FILE, rotated at MAXBYTES to
 *                                          FILE.1 … FILE.(FILES-1)
 *   restart no|on-failure|always|unless-stopped MAX   restart policy, exponential back-off
 *   keepstdin                              stdin is a pipe held open (-i with -d)
 *   autoremove PATH | names DIR ID         --rm: remove PATH and DIR/NAME -> ID links at the end
 *   target PID STARTTIME                   exec: run the program inside that running sandbox
 *   caller PID STARTTIME                   a foreground run's CLI: when it dies the supervisor ends
 *                                          the sandbox and runs the autoremove lines
 *   cputime MS USAGE_FILE CPUS             --cpu-time of a detached sandbox (per run), read from the
 *                                          group's cpu.stat (v2) or cpuacct.usage (v1)
 *   outputlimit BYTES                      --output-limit of a detached sandbox (per run)
 *   tty ROWS COLS stdin|nostdin            -t: a pty of the sandbox's devpts is the program's
 *                                          controlling terminal (tty.c); stdin: relay the caller's
 *   background                             exec -d: the helper returns once the program started
 *   copy out|in PATH                       cp (with target, no exec): a framed stream of PATH on
 *                                          stdout, or into PATH from stdin (copy.c, src/sandbox/copy.ts)
 */
import {capabilityMask} from './capabilities.js'
import {groupFile, hostsFile, NSSWITCH, passwdFile, sandboxGroups, sandboxUsers} from './etc.js'
import {isWithin} from './paths.js'
import {dirRootOps, hostEtcOps, hostRootOps, hostTopLevel} from './rootfs.js'
import type {SandboxSpec} from './spec.js'
import {ensurePoolLockDir, idPool, POOL_LOCK_DIR, RANGE_SIZE, rootlessRanges} from './userns.js'

export type PlanOp = string[]

const isRoot = () => process.getuid?.() === 0

/**
 * The user namespace: a pooled range as root; the caller's own ids without root. A
 * joined one ("join user") brings its own maps; the pool line stays so the helper can
 * hold the shared range's slot.
 */
function usernsOps(spec: SandboxSpec, joined = false): PlanOp[] {
  if (spec.userns === 'host') return []
  if (isRoot()) {
    ensurePoolLockDir()
    const pool = idPool()
    const poolOp = ['idpool', POOL_LOCK_DIR, String(pool.base), String(RANGE_SIZE), String(pool.count)]
    return joined ? [poolOp] : [['ns', 'user'], poolOp]
  }
  if (joined) return []
  const full = rootlessRanges()
  if (full) {
    // The caller is root inside; its subordinate ids are everyone else.
    return [
      ['ns', 'user'],
      ['mapper', full.newuidmap, full.newgidmap],
      ['uidmap', '0', String(process.getuid!()), '1'],
      ['uidmap', '1', String(full.uid.start), String(full.uid.count)],
      ['gidmap', '0', String(process.getgid!()), '1'],
      ['gidmap', '1', String(full.gid.start), String(full.gid.count)],
    ]
  }
  const {uid, gid} = spec.process.user
  return [
    ['ns', 'user'],
    ['uidmap', String(uid), String(process.getuid!()), '1'],
    ['gidmap', String(gid), String(process.getgid!()), '1'],
    ['setgroups', 'deny'],
  ]
}

export const DOCKER_MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
]
export const DOCKER_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty']
const DEFAULT_TMP_SIZE = 64 * 1024 * 1024

export interface PlanContext {
  /** the groups' cgroup.procs files: the child is in those groups before it continues */
  cgroupProcs?: string[]
  /** the groups' ownership record: a helper whose caller died removes it with the groups */
  cgroupOwnerRecord?: string
  /** the groups' counter files the helper reads when the sandbox is over (cgstat) */
  cgroupStatFiles?: string[]
  /** a one-shot run whose groups the helper ends: reads those files, removes the groups (cgfinish) */
  cgroupFinish?: boolean
  /** host resolv.conf content, used with --network host */
  hostResolvConf?: string
  /** namespaces of running sandboxes to enter instead of creating new ones (lifecycle.ts) */
  joins?: Array<{kind: 'net' | 'ipc' | 'pid' | 'user'; pid: number; start: number}>
  /** --ipc host: no new IPC namespace */
  ipcHost?: boolean
}

/** /dev/shm and /dev/mqueue: the sandbox's own, or those of the IPC namespace it shares. */
function ipcDevOps(spec: SandboxSpec, ctx: PlanContext): PlanOp[] {
  // Docker's shareable IPC: the joiner sees the other sandbox's /dev/shm (the very tmpfs,
  // cloned by the helper from inside that sandbox's mount namespace, see join.c) and
  // mounts an mqueue of the shared IPC namespace (it shares the owning user namespace too).
  if (ctx.joins?.some((j) => j.kind === 'ipc')) return [['joinshm', '/dev/shm'], ['mqueue', '/dev/mqueue']]
  if (ctx.ipcHost) {
    // --ipc host, as Docker: the host's /dev/shm. A sandbox in its own user namespace may
    // not mount an mqueue for the host's IPC namespace (its user namespace does not own
    // it), so the host's /dev/mqueue is bound instead, if the host mounts one; that shows
    // nothing mq_open(3) does not already reach, and the files' modes still apply.
    return [['bind', '/dev/shm', '/dev/shm', 'nosuid,nodev,noexec'], spec.userns === 'host' ? ['mqueue', '/dev/mqueue'] : ['bind', '/dev/mqueue', '/dev/mqueue', 'nosuid,nodev,noexec,optional']]
  }
  return [['tmpfs', '/dev/shm', String(DEFAULT_TMP_SIZE), '1777', 'nosuid,nodev,noexec'], ['mqueue', '/dev/mqueue']]
}

function devOps(spec: SandboxSpec, ctx: PlanContext): PlanOp[] {
  const ops: PlanOp[] = [['tmpfs', '/dev', String(64 * 1024), '755', 'nosuid,noexec']]
  for (const n of DEV_NODES) ops.push(['bind', `/dev/${n}`, `/dev/${n}`, 'nosuid,noexec,file'])
  ops.push(['devpts', '/dev/pts'], ['symlink', 'pts/ptmx', '/dev/ptmx'])
  ops.push(...ipcDevOps(spec, ctx))
  for (const [name, target] of [['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']]) {
    ops.push(['symlink', target, `/dev/${name}`])
  }
  return ops
}

function etcOps(spec: SandboxSpec, ctx: PlanContext): PlanOp[] {
  const {uid, gid} = spec.process.user
  const resolv = spec.network === 'host' ? ctx.hostResolvConf ?? '' : '# this sandbox has no network\n'
  return [
    ['mkdir', '/etc', '755'],
    ['file', '/etc/passwd', '644', passwdFile(sandboxUsers(uid, gid))],
    ['file', '/etc/group', '644', groupFile(sandboxGroups(gid))],
    ['file', '/etc/hosts', '644', hostsFile(spec.hostname, spec.extraHosts)],
    ['file', '/etc/hostname', '644', spec.hostname + '\n'],
    ['file', '/etc/nsswitch.conf', '644', NSSWITCH],
    ['file', '/etc/resolv.conf', '644', resolv],
  ]
}

export function buildPlan(spec: SandboxSpec, ctx: PlanContext = {}): PlanOp[] {
  const ops: PlanOp[] = [['version', '1']]
  const joined = new Set((ctx.joins ?? []).map((j) => j.kind))
  for (const ns of ['pid', 'mount', 'uts', 'ipc', 'cgroup']) {
    if (!joined.has(ns as 'pid') && !(ns === 'ipc' && ctx.ipcHost)) ops.push(['ns', ns])
  }
  if (spec.network === 'none' && !joined.has('net')) ops.push(['ns', 'net'], ['loopback'])
  ops.push(...usernsOps(spec, joined.has('user')))
  for (const j of ctx.joins ?? []) ops.push(['join', j.kind, String(j.pid), String(j.start)])
  ops.push(['hostname', spec.hostname])
  for (const p of ctx.cgroupProcs ?? []) ops.push(['cgroup', p])
  if (ctx.cgroupProcs?.length && ctx.cgroupOwnerRecord) ops.push(['cgroupowner', ctx.cgroupOwnerRecord])
  if (ctx.cgroupProcs?.length) {
    for (const f of ctx.cgroupStatFiles ?? []) ops.push(['cgstat', f])
    if (ctx.cgroupFinish) ops.push(['cgfinish'])
  }

  // --- the root
  const writable = !spec.root.readOnly
  ops.push(['root', String(spec.root.sizeBytes), writable ? 'rw' : 'ro'])
  let topLevel: ReadonlySet<string>
  if (spec.root.type === 'host') {
    ops.push(...hostRootOps(writable))
    ops.push(...etcOps(spec, ctx))
    ops.push(...hostEtcOps())
    // /etc is a mount of its own (an overlay, rootfs.ts): read-only with the root
    if (!writable) ops.push(['readonly', '/etc'])
    ops.push(['mkdir', '/root', '700'])
    topLevel = hostTopLevel()
  } else {
    const r = dirRootOps(spec.root.path!, writable)
    ops.push(...r.ops)
    topLevel = r.topLevel
  }

  // --- kernel file systems, with Docker's masks
  ops.push(['proc', '/proc'])
  ops.push(['sysfs', '/sys'])
  for (const p of spec.maskedPaths) ops.push(['mask', p])
  for (const p of spec.readonlyPaths) ops.push(['readonly', p])
  ops.push(...devOps(spec, ctx))
  if (!spec.mounts.some((m) => m.destination === '/tmp')) {
    ops.push(['tmpfs', '/tmp', String(DEFAULT_TMP_SIZE), '1777', 'nosuid,nodev'])
  }

  // --- the caller's mounts, in order
  for (const m of spec.mounts) {
    if (m.type === 'bind') {
      // As root with remapping, a writable volume is idmapped: the volume's owner on the
      // host is the sandbox's user inside, and what it writes stays the owner's.
      const idmap = !m.readOnly && spec.userns !== 'host' && isRoot() ? ',idmap' : ''
      // a host-root-owned source is mapped too when the filter refuses set-id modes (root-volumes.ts)
      const rootmap = idmap && spec.seccomp.restrictSetid ? ',rootmap' : ''
      ops.push(['bind', m.source, m.destination, (m.readOnly ? 'ro,' : '') + 'nosuid,nodev' + idmap + rootmap])
    } else {
      const flags = ['nosuid', 'nodev', ...(m.readOnly ? ['ro'] : []), ...(m.noexec ? ['noexec'] : [])]
      ops.push(['tmpfs', m.destination, String(m.sizeBytes), m.mode.toString(8), flags.join(',')])
    }
  }

  // A working directory on the root's own tmpfs is created; one inside a mount must exist.
  const cwd = spec.process.cwd
  const first = cwd.split('/')[1] ?? ''
  const inMount = spec.mounts.some((m) => isWithin(cwd, m.destination))
  if (cwd !== '/' && !inMount && !topLevel.has(first) && !['proc', 'sys', 'dev', 'tmp'].includes(first)) {
    ops.push(['mkdir', cwd, '755'])
  }

  // --- the process
  for (const r of spec.process.rlimits) ops.push(['rlimit', r.name, String(r.soft), String(r.hard)])
  const {uid, gid, groups} = spec.process.user
  const userOp = ['user', String(uid), String(gid)]
  for (const g of groups) userOp.push(String(g))
  ops.push(userOp)
  ops.push(['caps', capabilityMask(spec.process.capabilities)])
  // A non-root user keeps added capabilities only as ambient ones (Podman's choice; Docker drops them).
  if (uid !== 0) ops.push(['ambient', capabilityMask(spec.process.capabilities)])
  if (spec.seccomp.bpfPath) ops.push(['seccomp', spec.seccomp.bpfPath])
  for (const [k, v] of Object.entries(spec.process.env)) ops.push(['env', `${k}=${v}`])
  ops.push(['cwd', cwd])
  if (spec.process.init) ops.push(['init'])
  if (spec.timeoutMs > 0) ops.push(['timeout', String(spec.timeoutMs)])
  ops.push(['exec', ...spec.process.args])
  return ops
}

const ALL_SAFE = /^[A-Za-z0-9._/=:,@+-]+$/

const UNSAFE = /[^A-Za-z0-9._/=:,@+-]/gu

function percentEncode(ch: string): string {
  let out = ''
  for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).padStart(2, '0')
  return out
}

export function encodeToken(t: string): string {
  if (t === '') return '%'
  if (ALL_SAFE.test(t)) return t // most tokens: paths, numbers, flags
  return t.replace(UNSAFE, percentEncode) // file contents: only the few unsafe characters
}

/** One line per op. Plain loops, here and in the other per-sandbox string builders
 * (etc.ts, seccomp/index.ts): V8's optimized map() hands join() or a spread arrays of
 * another elements kind than the ones it saw before optimizing, and each such site threw
 * the caller's optimized code away once per batch (3 deopts in the first 420 sandboxes,
 * each recompiling buildSpec or buildPlan); without them the background compiling over
 * those sandboxes went from 0.85 to 0.66 ms of CPU per sandbox. */
export function serializePlan(ops: PlanOp[]): string {
  let out = ''
  for (const op of ops) {
    for (let i = 0; i < op.length; i++) out += (i === 0 ? '' : ' ') + encodeToken(op[i])
    out += '\n'
  }
  return out + 'end\n'
}
