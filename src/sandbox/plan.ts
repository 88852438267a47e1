/**
 * Spec → plan: the ordered operations the native helper replays (the bubblewrap idea:
 * set-up is data). Pure apart from reading the host's layout; snapshot-testable.
 *
 * Wire format (fd 3 of lab-helper): one operation per line, tokens separated by one
 * space, every token percent-encoded (a lone "%" is the empty string), ending "end".
 *   version 1 | ns pid|mount|uts|ipc|net|cgroup|user | hostname NAME | loopback
 *   veth BRIDGE IFNAME ADDRESS PREFIX GATEWAY|- MTU HOSTPREFIX [ADDRESS6 PREFIX6 GATEWAY6|-]   a veth pair onto a host bridge (net.h; the v6 part on an IPv6 network)
 *   pasta PATH map-gw|no-map-gw            rootless: pasta serves the new network namespace (pasta.h)
 *   pastaport tcp|udp ADDRESS HOSTPORT PORT   a port pasta publishes from the host
 *   root SIZE ro|rw                       scratch tmpfs the root is built on
 *   bind SRC DST FLAGS                     FLAGS: ro,nosuid,nodev,noexec,optional,file,idmap,rootmap,hide or -
 *                                          hide (with idmap): SRC is an overlay's only upper, its sibling .NAME.work the work dir
 *   overlay SRC DST [FLAGS]                FLAGS: nosuid,noexec; upper: the directory at DST is the upper layer
 *   layer SRC FLAGS                        an image layer (bottom first), attached on the scratch root;
 *                                          idmap: an idmapped tree with the sandbox's maps (image.c)
 *   imageroot UPPER WORK FLAGS             the overlay of the layers, what the plan put in the new
 *                                          root before it (mount points, /etc/hosts…) on top, mounted
 *                                          as the new root; UPPER and WORK: host directories side by
 *                                          side (idmap: idmapped), or both empty: on the scratch tmpfs
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
import {dirRootOps, hostEtcOps, hostRootOps, hostTopLevel, imageRootOps} from './rootfs.js'
import {pastaOps, requirePasta} from './pasta.js'
import type {SandboxSpec} from './spec.js'
import {ensurePoolLockDir, idPool, POOL_LOCK_DIR, RANGE_SIZE, rootlessRanges} from './userns.js'

type Path = string
type Ns = 'pid' | 'mount' | 'uts' | 'ipc' | 'net' | 'cgroup' | 'user'
type RlimitValue = number | 'unlimited'

/**
 * One operation of the helper's plan, typed: the first element names it, the rest are
 * its tokens in wire order (numbers are written in decimal). The grammar above is the
 * contract; plan.c replays it.
 */
export type PlanOp =
  | ['version', 1]
  | ['ns', Ns]
  | ['loopback']
  | ['veth', string, string, string, number, string, number, string]
  | ['veth', string, string, string, number, string, number, string, string, number, string]
  | ['pasta', Path, 'map-gw' | 'no-map-gw']
  | ['pastaport', 'tcp' | 'udp', string, number, number]
  | ['idpool', Path, number, number, number]
  | ['mapper', Path, Path]
  | ['uidmap' | 'gidmap', number, number, number]
  | ['setgroups', 'deny']
  | ['join', 'net' | 'ipc' | 'pid' | 'user', number, number]
  | ['hostname', string]
  | ['cgroup' | 'cgroupowner' | 'cgstat', Path]
  | ['cgfinish']
  | ['root', number, 'ro' | 'rw']
  | ['bind', Path, Path, string]
  | ['overlay', Path, Path] | ['overlay', Path, Path, string]
  | ['layer', Path, string]
  | ['imageroot', Path | '', Path | '', string]
  | ['tmpfs', Path, number, string, string]
  | ['proc' | 'sysfs' | 'devpts' | 'mqueue' | 'mask' | 'readonly' | 'joinshm', Path]
  | ['symlink', string, Path]
  | ['mkdir', Path, string]
  | ['file', Path, string, string]
  | ['rlimit', string, RlimitValue, RlimitValue]
  | ['user', number, number, ...number[]]
  | ['caps' | 'ambient', string]
  | ['seccomp' | 'cwd', Path]
  | ['env', string]
  | ['init']
  | ['timeout', number]
  | ['tty', number, number, 'stdin' | 'nostdin']
  | ['exec', ...string[]]
  // lifecycle (supervisor, exec, cp)
  | ['detach', Path]
  | ['log', Path, number, number]
  | ['restart', string, number]
  | ['keepstdin']
  | ['cputime', number, Path, number]
  | ['outputlimit', number]
  | ['caller' | 'target', number, number]
  | ['autoremove', Path]
  | ['names', Path, string]
  | ['background']
  | ['copy', 'out' | 'in', Path, ...Array<'follow' | 'archive' | 'intodir'>]

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
    const poolOp: PlanOp = ['idpool', POOL_LOCK_DIR, pool.base, RANGE_SIZE, pool.count]
    return joined ? [poolOp] : [['ns', 'user'], poolOp]
  }
  if (joined) return []
  const full = rootlessRanges()
  if (full) {
    // The caller is root inside; its subordinate ids are everyone else.
    return [
      ['ns', 'user'],
      ['mapper', full.newuidmap, full.newgidmap],
      ['uidmap', 0, process.getuid!(), 1],
      ['uidmap', 1, full.uid.start, full.uid.count],
      ['gidmap', 0, process.getgid!(), 1],
      ['gidmap', 1, full.gid.start, full.gid.count],
    ]
  }
  const {uid, gid} = spec.process.user
  return [
    ['ns', 'user'],
    ['uidmap', uid, process.getuid!(), 1],
    ['gidmap', gid, process.getgid!(), 1],
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
  /** -t: a pty of the sandbox's devpts, this size; stdin: relay the caller's input to it */
  tty?: {rows: number; cols: number; stdin: boolean}
  /** a supervised sandbox: the helper becomes its supervisor (lifecycle) */
  supervise?: SuperviseContext
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
  return [['tmpfs', '/dev/shm', DEFAULT_TMP_SIZE, '1777', 'nosuid,nodev,noexec'], ['mqueue', '/dev/mqueue']]
}

function devOps(spec: SandboxSpec, ctx: PlanContext): PlanOp[] {
  const ops: PlanOp[] = [['tmpfs', '/dev', 64 * 1024, '755', 'nosuid,noexec']]
  for (const n of DEV_NODES) ops.push(['bind', `/dev/${n}`, `/dev/${n}`, 'nosuid,noexec,file'])
  ops.push(['devpts', '/dev/pts'], ['symlink', 'pts/ptmx', '/dev/ptmx'])
  ops.push(...ipcDevOps(spec, ctx))
  for (const [name, target] of [['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']]) {
    ops.push(['symlink', target, `/dev/${name}`])
  }
  return ops
}

/** The host ends of a network's veths are named by it (vethPrefix + 8 random hex digits),
 * so its firewall can tell its bridge ports (src/network/firewall.ts). */
export function vethPrefix(networkId: string): string {
  return 'v' + networkId.slice(-5)
}

function resolvConf(dns: {servers: string[]; search: string[]; options: string[]}): string {
  let s = dns.servers.map((a) => `nameserver ${a}\n`).join('')
  if (dns.search.length) s += `search ${dns.search.join(' ')}\n`
  if (dns.options.length) s += `options ${dns.options.join(' ')}\n`
  return s || '# no name server\n'
}

function etcOps(spec: SandboxSpec, ctx: PlanContext): PlanOp[] {
  const {uid, gid} = spec.process.user
  const resolv = spec.network === 'host' ? ctx.hostResolvConf ?? '' : spec.bridge ? resolvConf(spec.bridge.dns) : spec.pasta ? resolvConf(spec.pasta.dns) : '# this sandbox has no network\n'
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
  const ops: PlanOp[] = [['version', 1]]
  const joined = new Set<string>((ctx.joins ?? []).map((j) => j.kind))
  for (const ns of ['pid', 'mount', 'uts', 'ipc', 'cgroup'] as const) {
    if (!joined.has(ns) && !(ns === 'ipc' && ctx.ipcHost)) ops.push(['ns', ns])
  }
  if (spec.network === 'none' && !joined.has('net')) ops.push(['ns', 'net'], ['loopback'])
  // a bridged sandbox: its own namespace with a veth pair per network (net.c); the pair
  // dies with the namespace
  if (spec.network === 'bridge' && spec.bridge && !joined.has('net')) {
    ops.push(['ns', 'net'], ['loopback'])
    spec.bridge.networks.forEach((n, i) => ops.push(['veth', n.bridge, `eth${i}`, n.address, n.prefix, n.gateway ?? '-', n.mtu, vethPrefix(n.networkId), ...(n.address6 ? [n.address6, n.prefix6!, n.gateway6 ?? '-'] : [])] as PlanOp))
  }
  // rootless: its own namespace, served by pasta under a keeper that ends with it (pasta.c)
  if (spec.network === 'pasta' && spec.pasta && !joined.has('net')) ops.push(['ns', 'net'], ['loopback'], ...pastaOps(spec.pasta, requirePasta()))
  ops.push(...usernsOps(spec, joined.has('user')))
  for (const j of ctx.joins ?? []) ops.push(['join', j.kind, j.pid, j.start])
  ops.push(['hostname', spec.hostname])
  for (const p of ctx.cgroupProcs ?? []) ops.push(['cgroup', p])
  if (ctx.cgroupProcs?.length && ctx.cgroupOwnerRecord) ops.push(['cgroupowner', ctx.cgroupOwnerRecord])
  if (ctx.cgroupProcs?.length) {
    for (const f of ctx.cgroupStatFiles ?? []) ops.push(['cgstat', f])
    if (ctx.cgroupFinish) ops.push(['cgfinish'])
  }

  // --- the root
  const writable = !spec.root.readOnly
  ops.push(['root', spec.root.sizeBytes, writable ? 'rw' : 'ro'])
  let topLevel: ReadonlySet<string>
  if (spec.root.type === 'host') {
    ops.push(...hostRootOps(writable))
    ops.push(...etcOps(spec, ctx))
    ops.push(...hostEtcOps())
    // /etc is a mount of its own (an overlay, rootfs.ts): read-only with the root
    if (!writable) ops.push(['readonly', '/etc'])
    ops.push(['mkdir', '/root', '700'])
    topLevel = hostTopLevel()
  } else if (spec.root.type === 'image') {
    // Docker's init layer: what the engine provides goes in before the overlay, under it
    ops.push(...etcOps(spec, ctx).filter((op) => op[0] === 'file' && /^\/etc\/(hosts|hostname|resolv\.conf)$/.test(op[1] as string)))
    ops.push(...imageRootOps(spec.root, spec.process.cwd, isRoot() && spec.userns !== 'host'))
    topLevel = new Set()
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
    ops.push(['tmpfs', '/tmp', DEFAULT_TMP_SIZE, '1777', 'nosuid,nodev'])
  }

  // --- the caller's mounts, in order
  for (const m of spec.mounts) {
    if (m.type === 'bind') {
      // As root with remapping, a writable volume is idmapped: the volume's owner on the
      // host is the sandbox's user inside, and what it writes stays the owner's.
      const idmap = !m.readOnly && spec.userns !== 'host' && isRoot() ? ',idmap' : ''
      // a host-root-owned source is mapped too when the filter refuses set-id modes (root-volumes.ts)
      const rootmap = idmap && spec.seccomp.restrictSetid ? ',rootmap' : ''
      const hide = m.hide && (idmap || m.readOnly) ? ',hide' : ''
      ops.push(['bind', m.source, m.destination, (m.readOnly ? 'ro,' : '') + 'nosuid,nodev' + idmap + rootmap + hide])
    } else {
      const flags = ['nosuid', 'nodev', ...(m.readOnly ? ['ro'] : []), ...(m.noexec ? ['noexec'] : [])]
      ops.push(['tmpfs', m.destination, m.sizeBytes, m.mode.toString(8), flags.join(',')])
    }
  }

  // A working directory on the root's own tmpfs is created; one inside a mount must exist.
  const cwd = spec.process.cwd
  const first = cwd.split('/')[1] ?? ''
  const inMount = spec.mounts.some((m) => isWithin(cwd, m.destination))
  if (spec.root.type !== 'image' && cwd !== '/' && !inMount && !topLevel.has(first) && !['proc', 'sys', 'dev', 'tmp'].includes(first)) {
    ops.push(['mkdir', cwd, '755'])
  }

  // --- the process
  ops.push(...processOps(spec, {uid: spec.process.user.uid, gid: spec.process.user.gid, groups: spec.process.user.groups, env: spec.process.env, cwd}))
  if (spec.process.init) ops.push(['init'])
  if (spec.timeoutMs > 0) ops.push(['timeout', spec.timeoutMs])
  if (ctx.supervise) ops.push(...superviseOps(ctx.supervise))
  else if (ctx.tty) ops.push(ttyOp(ctx.tty))
  ops.push(['exec', ...spec.process.args])
  return ops
}

/** How the program runs: its limits, user, capabilities, filter, environment, directory. */
function processOps(spec: SandboxSpec, p: {uid: number; gid: number; groups: number[]; env: Record<string, string>; cwd: string}): PlanOp[] {
  const ops: PlanOp[] = []
  for (const r of spec.process.rlimits) ops.push(['rlimit', r.name, r.soft, r.hard])
  ops.push(['user', p.uid, p.gid, ...p.groups])
  ops.push(['caps', capabilityMask(spec.process.capabilities)])
  // A non-root user keeps added capabilities only as ambient ones (Podman's choice; Docker drops them).
  if (p.uid !== 0) ops.push(['ambient', capabilityMask(spec.process.capabilities)])
  if (spec.seccomp.bpfPath) ops.push(['seccomp', spec.seccomp.bpfPath])
  for (const [k, v] of Object.entries(p.env)) ops.push(['env', `${k}=${v}`])
  ops.push(['cwd', p.cwd])
  return ops
}

function ttyOp(t: {rows: number; cols: number; stdin: boolean}): PlanOp {
  return ['tty', t.rows, t.cols, t.stdin ? 'stdin' : 'nostdin']
}

/** What a supervised (lifecycle) sandbox adds: its supervisor, log, restart policy and per-run limits. */
export interface SuperviseContext {
  /** the supervisor's run directory: status.json, events, ctl */
  runDir: string
  log: {file: string; maxBytes: number; files: number}
  restart: {name: string; maximumRetryCount: number}
  keepStdin: boolean
  /** -t of a detached sandbox: its output is logged as stdout */
  tty?: {rows: number; cols: number}
  /** --cpu-time per run, read from the group's usage file */
  cpuTime?: {ms: number; usageFile: string; cpus: number}
  outputLimitBytes?: number
  /** a foreground run's CLI: when it dies the sandbox ends and autoRemove is removed */
  caller?: {pid: number; start: number}
  /** removed at the end (--rm) or with a dead caller, in order; the record's directory last */
  autoRemove: string[]
  names?: {dir: string; id: string}
}

function superviseOps(c: SuperviseContext): PlanOp[] {
  const ops: PlanOp[] = [['detach', c.runDir], ['log', c.log.file, c.log.maxBytes, c.log.files], ['restart', c.restart.name, c.restart.maximumRetryCount]]
  if (c.keepStdin) ops.push(['keepstdin'])
  if (c.tty) ops.push(ttyOp({...c.tty, stdin: false}))
  if (c.cpuTime) ops.push(['cputime', c.cpuTime.ms, c.cpuTime.usageFile, c.cpuTime.cpus])
  if (c.outputLimitBytes !== undefined) ops.push(['outputlimit', c.outputLimitBytes])
  if (c.caller) ops.push(['caller', c.caller.pid, c.caller.start])
  for (const p of c.autoRemove) ops.push(['autoremove', p])
  if (c.names) ops.push(['names', c.names.dir, c.names.id])
  return ops
}

/** A running sandbox to enter: its PID 1 and that process's start time (no pid reuse). */
export interface Target {
  pid: number
  start: number
}

/**
 * exec: a program inside a running sandbox, with the sandbox's own hardening (its
 * rlimits, capabilities, seccomp filter), in its groups.
 */
export function buildExecPlan(spec: SandboxSpec, target: Target, x: {command: string[]; uid: number; gid: number; groups?: number[]; env: Record<string, string>; cwd: string; cgroupProcs: string[]; tty?: {rows: number; cols: number; stdin: boolean}; background?: boolean}): PlanOp[] {
  const ops: PlanOp[] = [['version', 1]]
  for (const p of x.cgroupProcs) ops.push(['cgroup', p])
  ops.push(...processOps(spec, {uid: x.uid, gid: x.gid, groups: x.groups ?? [], env: x.env, cwd: x.cwd}))
  ops.push(['target', target.pid, target.start])
  if (x.background) ops.push(['background'])
  if (x.tty) ops.push(ttyOp(x.tty))
  ops.push(['exec', ...x.command])
  return ops
}

/** cp: a framed stream of PATH inside the sandbox on stdout (out), or into it from stdin (in). */
export function buildCopyPlan(target: Target, direction: 'out' | 'in', path: string, opts: {follow?: boolean; archive?: boolean; intoDir?: boolean} = {}): PlanOp[] {
  const flags: Array<'follow' | 'archive' | 'intodir'> = []
  if (opts.follow) flags.push('follow')
  if (opts.archive) flags.push('archive')
  if (opts.intoDir) flags.push('intodir')
  return [['version', 1], ['target', target.pid, target.start], ['copy', direction, path, ...flags]]
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
export function serializePlan(ops: readonly PlanOp[]): string {
  let out = ''
  for (const op of ops) {
    for (let i = 0; i < op.length; i++) {
      const t = op[i]
      out += (i === 0 ? '' : ' ') + (typeof t === 'number' ? String(t) : encodeToken(t))
    }
    out += '\n'
  }
  return out + 'end\n'
}
