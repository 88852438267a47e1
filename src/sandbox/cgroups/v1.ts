/**
 * cgroup v1 backend: one hierarchy per controller (memory, pids, cpuacct, freezer always;
 * cpu, cpuset, blkio only when a limit needs them), each with a group lab/<id>.
 * Killing is freeze-and-kill: a frozen group cannot fork while its pids are read and
 * killed, so nothing slips out between the read and the kill.
 */
import {existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {usageError} from '../../errors.js'
import type {Limits} from '../limits.js'
import {
  type CgroupDriver,
  type CgroupStats,
  cgroupError,
  type CreateOptions,
  GROUP_ID,
  killPids,
  parseKeyed,
  parseNumber,
  parsePids,
  PARENT_GROUP,
  readControl,
  removeGroupDir,
  rmdirIfUnused,
  type SandboxCgroup,
  sleep,
  waitEmpty,
  withParent,
  writeControl,
} from './driver.js'

const CFS_PERIOD_US = 100_000

interface Features {
  memsw: boolean
  usageUserSys: boolean
  blkioWeightFile: string | null
}

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 'v1' as const
  readonly controllers: ReadonlySet<string>
  private readonly prepared = new Map<string, Promise<void>>()
  private features: Features | null = null

  /** hierarchies: controller → directory of its hierarchy's root (possibly shared) */
  constructor(private readonly hierarchies: Record<string, string>) {
    this.controllers = new Set(Object.keys(hierarchies))
  }

  private parentDir(controller: string): string {
    return join(this.hierarchies[controller], PARENT_GROUP)
  }

  /** Feature probes are read once per process, from the hierarchies' roots. */
  private probe(): Features {
    if (this.features) return this.features
    const h = this.hierarchies
    this.features = {
      memsw: h.memory !== undefined && existsSync(join(h.memory, 'memory.memsw.limit_in_bytes')),
      usageUserSys: h.cpuacct !== undefined && existsSync(join(h.cpuacct, 'cpuacct.usage_user')),
      blkioWeightFile: h.blkio === undefined ? null : existsSync(join(h.blkio, 'blkio.weight')) ? 'blkio.weight' : existsSync(join(h.blkio, 'blkio.bfq.weight')) ? 'blkio.bfq.weight' : null,
    }
    return this.features
  }

  /** The parent group lab/ in a hierarchy, made once per process. */
  private prepare(controller: string): Promise<void> {
    let p = this.prepared.get(controller)
    if (!p) {
      p = (async () => {
        const dir = this.parentDir(controller)
        try {
          mkdirSync(dir, {recursive: true})
        } catch (e) {
          throw cgroupError('mkdir', dir, e)
        }
        if (controller === 'cpuset') {
          // A new cpuset group starts with no CPUs and no memory nodes, and tasks cannot
          // join it until both are set: give lab/ the root's, and let children copy them.
          for (const f of ['cpuset.cpus', 'cpuset.mems']) {
            if (!(await readControl(join(dir, f)))?.trim()) await writeControl(join(dir, f), (await readControl(join(this.hierarchies.cpuset, f)))?.trim() ?? '')
          }
          await writeControl(join(dir, 'cgroup.clone_children'), '1')
        }
      })()
      p.catch(() => this.prepared.delete(controller))
      this.prepared.set(controller, p)
    }
    return p
  }

  /** The controllers a sandbox with these limits is put under (one dir per distinct hierarchy). */
  private controllersFor(limits: Limits, lean: boolean): string[] {
    const base = ['memory', 'pids', 'cpuacct', 'freezer']
    const extra: string[] = []
    if (limits.cpus !== null || limits.cpuShares !== null) extra.push('cpu')
    if (limits.cpusetCpus !== null) extra.push('cpuset')
    if (limits.blkioWeight !== null || limits.deviceThrottle.length > 0) extra.push('blkio')
    for (const c of extra) {
      if (!this.controllers.has(c)) throw usageError(`this host has no cgroup v1 "${c}" controller, which the ${c === 'cpu' ? '--cpus/--cpu-shares' : c === 'cpuset' ? '--cpuset-cpus' : '--blkio-weight/--device-*'} limit needs`, 'leave that limit out, or run `lab doctor`')
    }
    const want = [...base, ...extra].filter((c) => this.controllers.has(c))
    if (!lean) return want
    // A lean group skips the freezer and cpuacct hierarchies (CreateOptions), unless one
    // is co-mounted with a hierarchy it uses anyway (cpu,cpuacct): then it comes free.
    const used = new Set(want.filter((c) => c !== 'cpuacct' && c !== 'freezer').map((c) => this.hierarchies[c]))
    return want.filter((c) => (c !== 'cpuacct' && c !== 'freezer') || used.has(this.hierarchies[c]))
  }

  async create(id: string, limits: Limits, opts: CreateOptions = {}): Promise<SandboxCgroup> {
    const features = this.probe()
    const wanted = this.controllersFor(limits, opts.lean === true)
    if (limits.blkioWeight !== null && !features.blkioWeightFile) {
      throw usageError('--blkio-weight: this host\'s block I/O controller has no weight (no blkio.weight or blkio.bfq.weight)', 'leave --blkio-weight out; --device-read-bps and friends still work')
    }
    const group = this.open(id, wanted)
    await withParent(async () => {
      await Promise.all(wanted.map((c) => this.prepare(c)))
      // One mkdir per distinct hierarchy (co-mounted controllers share a directory).
      for (const p of group.paths) {
        try {
          mkdirSync(p)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue // made by an attempt before
          throw cgroupError('mkdir', p, e)
        }
      }
    }, () => this.prepared.clear())
    try {
      await this.applyLimits(group, limits, features)
    } catch (e) {
      await group.remove().catch(() => {})
      throw e
    }
    return group
  }

  private async applyLimits(g: V1Group, l: Limits, f: Features): Promise<void> {
    const writes: Array<Promise<void>> = []
    const mem = g.dir('memory')
    if (mem && l.memoryBytes !== null) {
      // memsw must stay >= the RAM limit, so RAM is set first (the group starts unlimited).
      await writeControl(join(mem, 'memory.limit_in_bytes'), String(l.memoryBytes))
      if (l.memorySwapBytes !== -1) {
        const total = l.memorySwapBytes ?? l.memoryBytes
        if (f.memsw) writes.push(writeControl(join(mem, 'memory.memsw.limit_in_bytes'), String(total)))
        // Without swap accounting, swappiness 0 keeps the group's pages out of swap.
        else if (total === l.memoryBytes) writes.push(writeControl(join(mem, 'memory.swappiness'), '0'))
      }
    }
    const pids = g.dir('pids')
    if (pids && l.pids !== null) writes.push(writeControl(join(pids, 'pids.max'), String(l.pids)))
    const cpu = g.dir('cpu')
    if (cpu && l.cpus !== null) {
      // a new group's period is already the kernel's default, 100 ms: only the quota is written
      writes.push(writeControl(join(cpu, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(l.cpus! * CFS_PERIOD_US)))))
    }
    if (cpu && l.cpuShares !== null) writes.push(writeControl(join(cpu, 'cpu.shares'), String(l.cpuShares)))
    const cpuset = g.dir('cpuset')
    if (cpuset && l.cpusetCpus !== null) writes.push(writeControl(join(cpuset, 'cpuset.cpus'), l.cpusetCpus, 'name CPUs this host has online (see /sys/devices/system/cpu/online)'))
    const blkio = g.dir('blkio')
    if (blkio && l.blkioWeight !== null && f.blkioWeightFile) writes.push(writeControl(join(blkio, f.blkioWeightFile), String(l.blkioWeight)))
    for (const t of l.deviceThrottle) {
      const file = {rbps: 'read_bps_device', wbps: 'write_bps_device', riops: 'read_iops_device', wiops: 'write_iops_device'}[t.kind]
      writes.push(writeControl(join(blkio!, `blkio.throttle.${file}`), `${t.major}:${t.minor} ${t.rate}`, `${t.path} must be a whole block device the kernel can throttle`))
    }
    await Promise.all(writes)
  }

  async list(): Promise<string[]> {
    const ids = new Set<string>()
    for (const c of new Set(Object.keys(this.hierarchies))) {
      try {
        for (const n of readdirSync(this.parentDir(c))) if (GROUP_ID.test(n)) ids.add(n)
      } catch {
        /* no parent group in this hierarchy yet */
      }
    }
    return [...ids]
  }

  parentPaths(): string[] {
    return [...new Set(Object.keys(this.hierarchies).map((c) => this.parentDir(c)))]
  }

  removeParentIfUnused(): void {
    for (const dir of this.parentPaths()) rmdirIfUnused(dir)
    this.prepared.clear()
  }

  open(id: string, controllers: string[] = Object.keys(this.hierarchies)): V1Group {
    const dirs = new Map<string, string>()
    for (const c of controllers) dirs.set(c, join(this.parentDir(c), id))
    return new V1Group(id, dirs, this.probe())
  }
}

class V1Group implements SandboxCgroup {
  readonly version = 'v1' as const
  readonly paths: string[]
  readonly procsFiles: string[]

  constructor(readonly id: string, private readonly dirs: Map<string, string>, private readonly features: Features) {
    this.paths = [...new Set(dirs.values())]
    this.procsFiles = this.paths.map((p) => join(p, 'cgroup.procs'))
  }

  get cpuAccounting(): boolean {
    return this.dirs.has('cpuacct')
  }

  dir(controller: string): string | undefined {
    return this.dirs.get(controller)
  }

  async cpuUsageUs(): Promise<number> {
    const d = this.dirs.get('cpuacct')
    return d ? Math.floor((parseNumber(await readControl(join(d, 'cpuacct.usage'))) ?? 0) / 1000) : 0
  }

  async killAll(): Promise<void> {
    // The common case: the PID namespace already took every process with it. Every
    // hierarchy holds the same processes (all were joined before the sandbox ran), so
    // one empty cgroup.procs says the group is empty.
    const probe = this.dirs.get('freezer') ?? this.paths[0]
    if (parsePids(await readControl(join(probe, 'cgroup.procs'))).length === 0) return
    const freezer = this.dirs.get('freezer')
    if (freezer) {
      await writeControl(join(freezer, 'freezer.state'), 'FROZEN').catch(() => {})
      // Freezing is asynchronous: wait (briefly) until every task is frozen.
      for (let i = 0; i < 100 && (await readControl(join(freezer, 'freezer.state')))?.trim() === 'FREEZING'; i++) await sleep(2)
    }
    for (let round = 0; round < 20; round++) {
      const pids = new Set<number>()
      for (const t of await Promise.all(this.procsFiles.map(readControl))) for (const p of parsePids(t)) pids.add(p)
      if (pids.size === 0) break
      killPids([...pids])
      // SIGKILL is delivered to frozen tasks once they are thawed.
      if (freezer && round === 0) await writeControl(join(freezer, 'freezer.state'), 'THAWED').catch(() => {})
      if (await waitEmpty(this.procsFiles, 100)) break
    }
    if (freezer) await writeControl(join(freezer, 'freezer.state'), 'THAWED').catch(() => {})
    await waitEmpty(this.procsFiles, 2000)
  }

  /** stats()'s sources: counter → file, null where this group or kernel has none */
  private statSources(): Array<string | null> {
    const at = (c: string, f: string) => (this.dirs.has(c) ? join(this.dirs.get(c)!, f) : null)
    const f = this.features
    return [
      at('cpuacct', 'cpuacct.usage'),
      f.usageUserSys ? at('cpuacct', 'cpuacct.usage_user') : null,
      f.usageUserSys ? at('cpuacct', 'cpuacct.usage_sys') : null,
      f.usageUserSys ? null : at('cpuacct', 'cpuacct.stat'),
      at('memory', 'memory.max_usage_in_bytes'),
      at('memory', 'memory.oom_control'),
      at('memory', 'memory.failcnt'),
      at('pids', 'pids.peak'),
      at('pids', 'pids.events'),
      f.memsw ? at('memory', 'memory.memsw.limit_in_bytes') : null,
      f.memsw ? null : at('memory', 'memory.swappiness'),
    ]
  }

  statFiles(): string[] {
    return this.statSources().filter((p): p is string => p !== null)
  }

  async stats(): Promise<CgroupStats> {
    return this.parse(await Promise.all(this.statSources().map((p) => (p === null ? null : readControl(p)))))
  }

  statsFrom(contents: Record<string, string>): CgroupStats {
    return this.parse(this.statSources().map((p) => (p === null ? null : contents[p] ?? null)))
  }

  private parse([total, user, sys, cpuStat, peak, oom, failcnt, pidsPeak, pidsEvents, memsw, swappiness]: Array<string | null>): CgroupStats {
    let cpuUserUs = Math.floor((parseNumber(user) ?? 0) / 1000)
    let cpuSystemUs = Math.floor((parseNumber(sys) ?? 0) / 1000)
    if (cpuStat) {
      // cpuacct.stat counts USER_HZ ticks (100 per second on every Linux architecture lab runs on)
      const s = parseKeyed(cpuStat)
      cpuUserUs = (s.user ?? 0) * 10_000
      cpuSystemUs = (s.system ?? 0) * 10_000
    }
    // The user/system split is sampled (v1 has no exact one); cpuacct.usage is the exact
    // total that --cpu-time is enforced on. Scale the split to it, so that the reported
    // CPU time is the one the limit saw.
    const totalUs = Math.floor((parseNumber(total) ?? 0) / 1000)
    const splitUs = cpuUserUs + cpuSystemUs
    if (totalUs > 0 && splitUs > 0) {
      cpuUserUs = Math.round((cpuUserUs * totalUs) / splitUs)
      cpuSystemUs = totalUs - cpuUserUs
    } else if (totalUs > 0) cpuUserUs = totalUs
    return {
      cpuUserUs,
      cpuSystemUs,
      memoryPeakBytes: parseNumber(peak),
      oomKills: parseKeyed(oom).oom_kill ?? 0,
      memoryLimitHits: parseNumber(failcnt) ?? 0,
      pidsPeak: parseNumber(pidsPeak),
      pidsLimitHits: parseKeyed(pidsEvents).max ?? 0,
      // an unlimited memsw reads as a number near 2^63
      swapBounded: memsw !== null ? (parseNumber(memsw) ?? Infinity) < 2 ** 62 : swappiness?.trim() === '0',
    }
  }

  async remove(): Promise<void> {
    await Promise.all(this.paths.map((p) => removeGroupDir(p)))
  }
}
