/**
 * A lifecycle sandbox's cgroups: made fresh for each start, handed over to its
 * supervisor, frozen and thawed (pause), read (stats), removed. The cgroup root and the
 * ownership records' directory are injectable, so tests run this against a fake tree
 * (test/cgroups/driver-fake).
 */
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../../errors.js'
import {cgroupDriver, type CgroupOptions, type CgroupStats, createSandboxCgroup, DEFAULT_OWNER_DIR, type SandboxCgroup, sweepStaleCgroups, writeOwnerRecord} from '../cgroups/index.js'
import type {Limits} from '../limits.js'
import {processStartTime} from '../state/proc.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The freezer control of a sandbox's group: v2 cgroup.freeze, v1 freezer.state. */
function freezerFile(group: SandboxCgroup): {path: string; v2: boolean} | null {
  if (group.version === 'v2') return {path: join(group.paths[0], 'cgroup.freeze'), v2: true}
  const dir = group.paths.find((p) => /\/freezer(,[^/]*)?\//.test(p) || p.includes('/freezer/'))
  return dir ? {path: join(dir, 'freezer.state'), v2: false} : null
}

/** The file the supervisor reads the group's CPU time from (v2 cpu.stat, v1 cpuacct.usage). */
export function cpuUsageFile(group: SandboxCgroup): string | null {
  if (group.version === 'v2') return join(group.paths[0], 'cpu.stat')
  const dir = group.paths.find((p) => /\/cpuacct(,[^/]*)?\//.test(p) || /\/cpu,cpuacct\//.test(p))
  return dir ? join(dir, 'cpuacct.usage') : null
}

export class SandboxGroups {
  constructor(private readonly opts: CgroupOptions = {}) {}

  private get ownerDir(): string {
    return this.opts.ownerDir ?? DEFAULT_OWNER_DIR
  }

  /** Without root, groups are the caller's delegated ones (cgroups/rootless.ts), with no
   * ownership records: root's record directory is not the caller's to touch. */
  private get records(): boolean {
    return process.getuid?.() === 0 || this.opts.root !== undefined
  }

  /** A new group with the limits (an old one from a previous run is removed first). */
  async fresh(id: string, limits: Limits): Promise<SandboxCgroup> {
    await this.remove(id)
    return createSandboxCgroup(id, limits, this.opts)
  }

  /**
   * The supervisor, not this short-lived CLI, owns a detached sandbox's group. A sandbox
   * that already ended took its group and record with it: nothing to hand over then (a
   * record written in that instant names a dead owner, and the next sweep drops it).
   */
  handOver(id: string, supervisorPid: number): void {
    if (!this.records || !this.open(id)) return
    try {
      writeOwnerRecord(this.ownerDir, id, `${supervisorPid} ${processStartTime(supervisorPid)}\n`)
    } catch {}
  }

  /** The sandbox's group if it exists now. */
  open(id: string): SandboxCgroup | null {
    try {
      const g = cgroupDriver(this.opts.root).open(id)
      return g.paths.some((p) => existsSync(p)) ? g : null
    } catch {
      return null
    }
  }

  async remove(id: string): Promise<void> {
    const g = this.open(id)
    if (g) {
      await g.killAll().catch(() => {})
      await g.remove().catch(() => {})
    }
    if (this.records) rmSync(join(this.ownerDir, id), {force: true})
  }

  /** The group's counters: live while it exists, else as its supervisor left them at the end (final). */
  async stats(id: string, final: Record<string, string> | undefined): Promise<CgroupStats | null> {
    const live = this.open(id)
    if (live) return live.stats()
    if (!final) return null
    const g = cgroupDriver(this.opts.root).open(id)
    return g.statsFrom ? g.statsFrom(final) : null
  }

  isFrozen(id: string): boolean {
    const g = this.open(id)
    const f = g && freezerFile(g)
    if (!f) return false
    try {
      const v = readFileSync(f.path, 'utf8').trim()
      return f.v2 ? v === '1' : v === 'FROZEN' || v === 'FREEZING'
    } catch {
      return false
    }
  }

  async setFrozen(id: string, name: string, frozen: boolean): Promise<void> {
    const g = this.open(id)
    const f = g && freezerFile(g)
    if (!f) throw new LabError('no-freezer', `cannot ${frozen ? 'pause' : 'unpause'} ${name}: its cgroup has no freezer`, {hint: 'run `lab doctor` to see the cgroup controllers this host has'})
    writeFileSync(f.path, f.v2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED')
    if (frozen) {
      for (let i = 0; i < 200 && !this.isFrozen(id); i++) await sleep(5)
      if (!f.v2) for (let i = 0; i < 200 && readFileSync(f.path, 'utf8').trim() !== 'FROZEN'; i++) await sleep(5)
    }
  }

  /** Removes groups whose owner (a CLI or supervisor) died. */
  async sweep(): Promise<string[]> {
    return (await sweepStaleCgroups(this.opts)).removed
  }
}
