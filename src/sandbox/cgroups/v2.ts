/**
 * cgroup v2 backend: one group lab/<id> in the unified hierarchy. The controllers a
 * sandbox needs are enabled once per process in the root's and lab/'s
 * cgroup.subtree_control ("no internal processes": lab/ itself never holds a task).
 * Killing uses cgroup.kill (5.14+), else freeze (cgroup.freeze), kill, thaw.
 */
import {existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {usageError} from '../../errors.js'
import type {Limits} from '../limits.js'
import {
  type CgroupDriver,
  type CgroupStats,
  cgroupError,
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

const CPU_PERIOD_US = 100_000
/** The controllers lab enables for its groups, when the kernel offers them. */
const WANTED = ['cpu', 'cpuset', 'io', 'memory', 'pids']

/** Docker's cpu-shares (2..262144) on cgroup v2's cpu.weight (1..10000), as crun and runc map it. */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142)
}

/** Docker's blkio-weight (10..1000) on io.weight (1..10000), as crun maps it. */
export function blkioToIoWeight(w: number): number {
  return Math.floor(1 + ((w - 10) * 9999) / 990)
}

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 'v2' as const
  readonly controllers: ReadonlySet<string>
  private ready: Promise<void> | null = null
  private readonly parent: string
  /** probed on lab/ once it exists (the root group has none of these files) */
  private files = {kill: true, swapMax: false, ioWeight: 'io.weight'}

  /** root: the unified hierarchy's mount point; available: its root's cgroup.controllers */
  constructor(private readonly root: string, available: string[]) {
    this.controllers = new Set(available.filter((c) => WANTED.includes(c)))
    this.parent = join(root, PARENT_GROUP)
  }

  /** Enables the controllers down to lab/, once per process. */
  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      const want = [...this.controllers]
      await this.enable(this.root, want)
      try {
        mkdirSync(this.parent, {recursive: true})
      } catch (e) {
        throw cgroupError('mkdir', this.parent, e)
      }
      await this.enable(this.parent, want)
      const has = (f: string) => existsSync(join(this.parent, f))
      this.files = {kill: has('cgroup.kill') || !has('cgroup.freeze'), swapMax: has('memory.swap.max'), ioWeight: has('io.weight') ? 'io.weight' : 'io.bfq.weight'}
    })().catch((e) => {
      this.ready = null
      throw e
    })
    return this.ready
  }

  private async enable(dir: string, want: string[]): Promise<void> {
    const on = new Set(((await readControl(join(dir, 'cgroup.subtree_control'))) ?? '').trim().split(/\s+/))
    const missing = want.filter((c) => !on.has(c))
    if (missing.length === 0) return
    await writeControl(join(dir, 'cgroup.subtree_control'), missing.map((c) => '+' + c).join(' '),
      'a cgroup holding processes cannot pass controllers down ("no internal processes"); run lab from the host\'s root cgroup or a delegated one')
  }

  private need(c: string, flag: string): void {
    if (!this.controllers.has(c)) throw usageError(`this host's cgroup v2 hierarchy offers no "${c}" controller, which ${flag} needs`, 'leave that limit out, or run `lab doctor`')
  }

  async create(id: string, l: Limits): Promise<SandboxCgroup> {
    if (l.cpus !== null || l.cpuShares !== null) this.need('cpu', '--cpus/--cpu-shares')
    if (l.cpusetCpus !== null) this.need('cpuset', '--cpuset-cpus')
    if (l.blkioWeight !== null || l.deviceThrottle.length > 0) this.need('io', '--blkio-weight/--device-*')
    const g = await withParent(async () => {
      await this.prepare()
      const made = this.open(id)
      try {
        mkdirSync(made.dir)
      } catch (e) {
        throw cgroupError('mkdir', made.dir, e)
      }
      return made
    }, () => (this.ready = null))
    try {
      await this.applyLimits(g.dir, l)
    } catch (e) {
      await g.remove().catch(() => {})
      throw e
    }
    return g
  }

  private async applyLimits(dir: string, l: Limits): Promise<void> {
    const w: Array<Promise<void>> = []
    const has = (c: string) => this.controllers.has(c)
    if (has('memory') && l.memoryBytes !== null) {
      w.push(writeControl(join(dir, 'memory.max'), String(l.memoryBytes)))
      // Swap is limited apart from RAM on v2: allow only what --memory-swap adds.
      if (this.files.swapMax) {
        const swap = l.memorySwapBytes === -1 ? 'max' : String(Math.max(0, (l.memorySwapBytes ?? l.memoryBytes) - l.memoryBytes))
        w.push(writeControl(join(dir, 'memory.swap.max'), swap))
      }
    }
    if (has('pids') && l.pids !== null) w.push(writeControl(join(dir, 'pids.max'), String(l.pids)))
    if (l.cpus !== null) w.push(writeControl(join(dir, 'cpu.max'), `${Math.max(1000, Math.round(l.cpus * CPU_PERIOD_US))} ${CPU_PERIOD_US}`))
    if (l.cpuShares !== null) w.push(writeControl(join(dir, 'cpu.weight'), String(sharesToWeight(l.cpuShares))))
    if (l.cpusetCpus !== null) w.push(writeControl(join(dir, 'cpuset.cpus'), l.cpusetCpus, 'name CPUs this host has online (see /sys/devices/system/cpu/online)'))
    if (l.blkioWeight !== null) {
      // io.weight is 1..10000; BFQ's own io.bfq.weight keeps blkio's 10..1000 scale
      const weight = this.files.ioWeight === 'io.weight' ? blkioToIoWeight(l.blkioWeight) : l.blkioWeight
      w.push(writeControl(join(dir, this.files.ioWeight), `default ${weight}`))
    }
    // io.max takes one line per device with every key set on it.
    const perDevice = new Map<string, string[]>()
    for (const t of l.deviceThrottle) {
      const key = `${t.major}:${t.minor}`
      perDevice.set(key, [...(perDevice.get(key) ?? []), `${t.kind}=${t.rate}`])
    }
    for (const [dev, keys] of perDevice) w.push(writeControl(join(dir, 'io.max'), `${dev} ${keys.join(' ')}`, 'the device must be a whole block device the kernel can throttle'))
    await Promise.all(w)
  }

  async list(): Promise<string[]> {
    try {
      return readdirSync(this.parent).filter((n) => GROUP_ID.test(n))
    } catch {
      return []
    }
  }

  parentPaths(): string[] {
    return [this.parent]
  }

  removeParentIfUnused(): void {
    rmdirIfUnused(this.parent)
    this.ready = null
  }

  open(id: string): V2Group {
    return new V2Group(id, join(this.parent, id), this.files.kill)
  }
}

const STAT_FILES = ['cpu.stat', 'memory.peak', 'memory.events', 'pids.peak', 'pids.events', 'memory.swap.max']

class V2Group implements SandboxCgroup {
  readonly version = 'v2' as const
  readonly paths: string[]
  readonly procsFiles: string[]

  constructor(readonly id: string, readonly dir: string, private readonly hasKill: boolean) {
    this.paths = [dir]
    this.procsFiles = [join(dir, 'cgroup.procs')]
  }

  async cpuUsageUs(): Promise<number> {
    return parseKeyed(await readControl(join(this.dir, 'cpu.stat'))).usage_usec ?? 0
  }

  async killAll(): Promise<void> {
    const events = parseKeyed(await readControl(join(this.dir, 'cgroup.events')))
    // The common case: the PID namespace already took every process with it (or the
    // group is gone: no cgroup.events).
    if (events.populated !== 1) return
    if (this.hasKill) {
      // cgroup.kill SIGKILLs every task, and new forks too, atomically.
      await writeControl(join(this.dir, 'cgroup.kill'), '1').catch(() => {})
    } else {
      await writeControl(join(this.dir, 'cgroup.freeze'), '1').catch(() => {})
      for (let i = 0; i < 100 && parseKeyed(await readControl(join(this.dir, 'cgroup.events'))).frozen !== 1; i++) await sleep(2)
      killPids(parsePids(await readControl(join(this.dir, 'cgroup.procs'))))
      await writeControl(join(this.dir, 'cgroup.freeze'), '0').catch(() => {})
    }
    await waitEmpty(this.procsFiles, 2000)
  }

  statFiles(): string[] {
    return STAT_FILES.map((f) => join(this.dir, f))
  }

  async stats(): Promise<CgroupStats> {
    const texts = await Promise.all(this.statFiles().map(readControl))
    return this.parse(texts)
  }

  statsFrom(contents: Record<string, string>): CgroupStats {
    return this.parse(this.statFiles().map((f) => contents[f] ?? null))
  }

  private parse([cpu, peak, events, pidsPeak, pidsEvents, swapMax]: Array<string | null>): CgroupStats {
    const c = parseKeyed(cpu)
    const m = parseKeyed(events)
    return {
      cpuUserUs: c.user_usec ?? 0,
      cpuSystemUs: c.system_usec ?? 0,
      memoryPeakBytes: parseNumber(peak),
      oomKills: m.oom_kill ?? 0,
      memoryLimitHits: m.max ?? 0,
      pidsPeak: parseNumber(pidsPeak),
      pidsLimitHits: parseKeyed(pidsEvents).max ?? 0,
      swapBounded: swapMax !== null && swapMax.trim() !== 'max',
    }
  }

  async remove(): Promise<void> {
    await removeGroupDir(this.dir)
  }
}
