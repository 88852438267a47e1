/**
 * What creating and starting a lifecycle sandbox resolves before anything runs: managed
 * volumes and another sandbox's volumes (--volumes-from), the namespaces it shares
 * (--network/--ipc/--pid sandbox:NAME, --ipc host) and the user namespace that owns
 * them, and what its supervisor is told (plan.ts, SuperviseContext).
 */
import {readlinkSync} from 'node:fs'
import {join} from 'node:path'

import {LabError, usageError} from '../../errors.js'
import type {SandboxCgroup} from '../cgroups/index.js'
import type {LifecycleContext} from './context.js'
import {cpuParallelism, DEFAULT_LIMITS} from '../limits.js'
import {shortId} from '../names.js'
import type {PlanContext, SuperviseContext} from '../plan.js'
import type {RunRequest} from '../request.js'
import type {BindMount, SandboxSpec} from '../spec.js'
import {processStartTime} from '../state/proc.js'
import type {SandboxRecord, Store} from '../state/store.js'
import {Volumes} from '../volumes-managed.js'
import {cpuUsageFile} from './groups.js'
import {logMaxFiles} from './logs.js'

/** The size a new pty starts with: the caller's terminal, else 24x80 as a VT100. */
export function terminalSize(): {rows: number; cols: number} {
  for (const s of [process.stdout, process.stderr]) if (s.isTTY && s.rows && s.columns) return {rows: s.rows, cols: s.columns}
  return {rows: 24, cols: 80}
}

/** What the supervisor is told besides the sandbox itself (plan.ts, SuperviseContext). */
export function superviseContext(store: Store, rec: SandboxRecord, group: SandboxCgroup, caller: boolean): SuperviseContext {
  const dir = store.dir(rec.id)
  const c: SuperviseContext = {
    runDir: store.runDir(rec.id),
    log: {file: join(dir, 'log'), maxBytes: rec.logMaxBytes, files: logMaxFiles(rec)},
    restart: rec.restart,
    keepStdin: rec.keepStdin,
    // A detached sandbox has no pty on the caller's side: its output is logged as stdout.
    tty: rec.tty ? terminalSize() : undefined,
    autoRemove: [],
  }
  // --cpu-time and --output-limit hold per run, enforced by the supervisor as the
  // foreground runSandbox enforces them (the CPU time is the cgroup's, every process).
  const limits = rec.spec.limits ?? DEFAULT_LIMITS
  if (limits.cpuTimeMs !== null) {
    const usage = cpuUsageFile(group)
    if (!usage) throw new LabError('limit-unenforceable', `cannot enforce --cpu-time for ${rec.name}: its cgroup has no CPU accounting`, {hint: 'run `lab doctor` to see the cgroup controllers this host has, or leave out --cpu-time'})
    c.cpuTime = {ms: limits.cpuTimeMs, usageFile: usage, cpus: Math.max(1, Math.ceil(cpuParallelism(limits)))}  // whole CPUs for the supervisor
  }
  if (limits.outputBytes !== null) c.outputLimitBytes = limits.outputBytes
  if (caller) c.caller = {pid: process.pid, start: processStartTime(process.pid)}
  if (rec.autoRemove || caller) {
    // (the groups, an empty parent and the owner record the supervisor removes at the
    // end of every sandbox, --rm or not: plan line cgroupowner)
    c.autoRemove.push(store.runDir(rec.id))
    for (const v of rec.volumes.filter((x) => x.anonymous)) c.autoRemove.push(join(store.dirs.volumes, v.name))
    // the record's own directory last: once it is gone the sandbox no longer exists
    c.autoRemove.push(dir)
    c.names = {dir: store.dirs.names, id: rec.id}
  }
  return c
}

export function resolveVolumes(store: Store, managed: Volumes, req: RunRequest): {mounts: BindMount[]; volumes: SandboxRecord['volumes']; hostVolumes: string[]} {
  const mounts: BindMount[] = []
  const volumes: SandboxRecord['volumes'] = []
  const hostVolumes: string[] = []
  for (const from of req.volumesFrom ?? []) {
    const [ref, mode, extra] = from.split(':')
    if (extra !== undefined || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
      throw usageError(`invalid --volumes-from "${from}"`, 'use --volumes-from NAME[:ro|rw]')
    }
    const src = store.get(ref)
    for (const m of src.spec.mounts) {
      if (m.type !== 'bind') continue
      const readOnly = mode === 'ro' ? true : mode === 'rw' ? false : m.readOnly
      mounts.push({...m, readOnly})
      const v = src.volumes.find((x) => x.destination === m.destination)
      if (v) volumes.push({...v, anonymous: false, readOnly})
    }
  }
  for (const v of req.volumes ?? []) {
    if (!Volumes.isManaged(v)) {
      hostVolumes.push(v)
      continue
    }
    const r = managed.resolve(v)
    mounts.push(r.mount)
    volumes.push(r.volume)
  }
  return {mounts, volumes, hostVolumes}
}

export function resolveShare(store: Store, req: RunRequest): NonNullable<SandboxSpec['share']> {
  const share: NonNullable<SandboxSpec['share']> = {}
  const target = (value: string, flag: string): string | null => {
    const m = /^(?:sandbox|container):(.+)$/.exec(value)
    if (!m) return null
    return store.resolve(m[1])
  }
  if (req.network !== undefined && /^(sandbox|container):/.test(req.network)) share.network = target(req.network, '--network')!
  if (req.ipc !== undefined && req.ipc !== 'private' && req.ipc !== '') {
    if (req.ipc === 'host') share.ipc = 'host'
    else {
      const t = target(req.ipc, '--ipc')
      if (!t) throw usageError(`invalid --ipc "${req.ipc}"`, 'use --ipc private (the default), host or sandbox:NAME')
      share.ipc = t
    }
  }
  if (req.pid !== undefined && req.pid !== '') {
    if (req.pid === 'host') throw usageError('--pid host is not supported', 'it would show the sandbox every host process; use --pid sandbox:NAME to share another sandbox\'s')
    const t = target(req.pid, '--pid')
    if (!t) throw usageError(`invalid --pid "${req.pid}"`, 'use --pid sandbox:NAME')
    share.pid = t
  }
  return share
}

/**
 * A sandbox's IPC, PID and network namespaces belong to its user namespace, and only a
 * process privileged there may mount /dev/mqueue, /proc or /sys for them. So a joiner
 * shares that user namespace too (joinsFor), and the combinations that cannot are
 * refused here, before anything is recorded.
 */
export function checkShareUserns(store: Store, spec: SandboxSpec): void {
  const mine = spec.userns ?? 'private'
  const share = spec.share ?? {}
  for (const [kind, flag, id] of [['net', '--network', share.network], ['ipc', '--ipc', share.ipc], ['pid', '--pid', share.pid]] as const) {
    if (!id || id === 'host') continue
    const other = store.load(id)
    if (!other) continue // joinsFor says it is gone
    const theirs = other.spec.userns ?? 'private'
    if (mine === 'host' && theirs === 'private') {
      throw usageError(`cannot join sandbox ${other.name} (${flag}) with --userns=host: its namespaces belong to its own user namespace, which a joiner shares`, `leave out --userns=host: this sandbox then runs on ${other.name}'s remapped ids`)
    }
    if (mine === 'private' && theirs === 'host' && kind !== 'net') {
      throw usageError(`cannot join sandbox ${other.name} (${flag}) with user remapping: it runs with --userns=host, so a remapped sandbox may not mount ${kind === 'ipc' ? '/dev/mqueue' : '/proc'} for its namespace`, `add --userns=host (as root), or run ${other.name} without it`)
    }
  }
}

/** The namespaces to join, from sandboxes that must be running now. */
export function joinsFor(lc: LifecycleContext, rec: SandboxRecord): NonNullable<PlanContext['joins']> {
  const joins: NonNullable<PlanContext['joins']> = []
  const owners: Array<{name: string; pid: number; start: number; ns: string}> = []
  const share = rec.spec.share ?? {}
  for (const [kind, flag, id] of [['net', '--network', share.network], ['ipc', '--ipc', share.ipc], ['pid', '--pid', share.pid]] as const) {
    if (!id || id === 'host') continue
    const other = lc.store.load(id)
    if (!other) throw new LabError('join-missing', `cannot start ${rec.name}: the sandbox named by ${flag} no longer exists (${shortId(id)})`, {hint: 'remove this sandbox and create it again with a running one to join'})
    const st = lc.state(other)
    if (st.status !== 'running') {
      throw new LabError('join-not-running', `cannot join sandbox ${other.name} (${flag}): it is ${st.status}`, {hint: `start it first: lab sandbox start ${other.name}`})
    }
    const start = processStartTime(st.pid)
    if (!start) throw new LabError('join-not-running', `cannot join sandbox ${other.name} (${flag}): it just stopped`, {hint: `start it first: lab sandbox start ${other.name}`})
    joins.push({kind, pid: st.pid, start})
    if ((other.spec.userns ?? 'private') === 'private' && (rec.spec.userns ?? 'private') === 'private') {
      let ns = ''
      try {
        ns = readlinkSync(`/proc/${st.pid}/ns/user`)
      } catch {
        throw new LabError('join-not-running', `cannot join sandbox ${other.name} (${flag}): it just stopped`, {hint: `start it first: lab sandbox start ${other.name}`})
      }
      owners.push({name: other.name, pid: st.pid, start, ns})
    }
  }
  // One user namespace owns all that is joined: it is joined too (join.c), with its ids.
  const first = owners[0]
  if (first) {
    const odd = owners.find((o) => o.ns !== first.ns)
    if (odd) throw new LabError('join-conflict', `cannot join both ${first.name} and ${odd.name}: they have different user namespaces, and a sandbox can share only one`, {hint: `join namespaces of one sandbox, or start ${odd.name} joined to ${first.name}`})
    joins.push({kind: 'user', pid: first.pid, start: first.start})
  }
  return joins
}
