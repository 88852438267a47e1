/**
 * The engine's entry to cgroups: picks the backend for this host's layout (detect.ts),
 * records which lab process owns each sandbox group, and sweeps away groups whose
 * owner died (a CLI killed with SIGKILL cannot remove its own).
 *
 * Ownership: before a group is made, <ownerDir>/<id> gets "PID STARTTIME" of the lab
 * process; it is removed after the group. A group whose record is missing or names a
 * process that no longer runs (same pid, other start time = reused pid) is stale.
 */
// Synchronous file calls throughout: these are small files of pseudo file systems, and the
// first asynchronous one of a run would start libuv's thread pool only to wait for it.
import {mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../../errors.js'
import {pidAlive} from '../../util/stale-temp.js'
import type {Limits} from '../limits.js'
import {detectCgroups, DEFAULT_CGROUP_ROOT, type CgroupLayout} from './detect.js'
import {type CgroupDriver, GROUP_ID, removeParentAtExit, type SandboxCgroup} from './driver.js'
import {CgroupV1Driver} from './v1.js'
import {CgroupV2Driver} from './v2.js'
import {createRootlessCgroup} from './rootless.js'

export type {CgroupDriver, CgroupStats, SandboxCgroup} from './driver.js'
export {detectCgroups, type CgroupLayout} from './detect.js'
export type {UnenforcedLimit} from './rootless.js'

export const DEFAULT_OWNER_DIR = '/run/lab/cgroups'

export interface CgroupOptions {
  /** the cgroup file system's root (tests point it at a fake tree) */
  root?: string
  /** where ownership records live */
  ownerDir?: string
  /** see CreateOptions.lean (driver.ts) */
  lean?: boolean
}

export function driverForLayout(layout: CgroupLayout): CgroupDriver | null {
  if (layout.mode === 'v2') return new CgroupV2Driver(layout.unified!, layout.v2Controllers)
  // Hybrid hosts: the controllers live in the v1 hierarchies; the unified mount has none.
  if (layout.mode === 'v1' || layout.mode === 'hybrid') return new CgroupV1Driver(layout.v1)
  return null
}

const drivers = new Map<string, CgroupDriver>()

/** The driver for this host (cached per root); a LabError when there are no cgroups. */
export function cgroupDriver(root = DEFAULT_CGROUP_ROOT): CgroupDriver {
  let d = drivers.get(root)
  if (!d) {
    const found = driverForLayout(detectCgroups(root))
    if (!found) throw new LabError('cgroup', `no cgroup file system at ${root}: lab cannot limit or account a sandbox`, {hint: 'mount cgroup2 on /sys/fs/cgroup (systemd does this by default), then run `lab doctor`'})
    d = removeParentAtExit(found)
    drivers.set(root, d)
  }
  return d
}

let selfStart: string | null = null

/** Field 22 of /proc/PID/stat: the start time, which tells a live owner from a reused pid. */
function startTime(stat: string): string | null {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return rest[19] ?? null
}

function ownerLine(): string {
  selfStart ??= startTime(readFileSync('/proc/self/stat', 'utf8')) ?? '0'
  return `${process.pid} ${selfStart}\n`
}

async function ownerAlive(record: string | null): Promise<boolean> {
  const [pid, start] = (record ?? '').trim().split(' ')
  if (!/^\d+$/.test(pid ?? '')) return false
  try {
    return startTime(readFileSync(`/proc/${pid}/stat`, 'utf8')) === start
  } catch {
    return false
  }
}

async function readRecord(ownerDir: string, id: string): Promise<string | null> {
  try {
    return readFileSync(join(ownerDir, id), 'utf8')
  } catch {
    return null
  }
}

/**
 * Writes an ownership record whole: a sweeper in another lab process must never read a
 * half-written (empty) record, take the group for an orphan and kill a live sandbox.
 * Written to a temporary name and renamed; no fsync, a reboot takes the groups too.
 */
export function writeOwnerRecord(ownerDir: string, id: string, line: string): void {
  const tmp = join(ownerDir, `.${id}.${process.pid}.tmp`)
  writeFileSync(tmp, line)
  renameSync(tmp, join(ownerDir, id))
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    /* already gone */
  }
}

const swept = new Set<string>()
const ownerDirsMade = new Set<string>()

/**
 * Creates the sandbox's group with its limits, owned by this process. The first call in
 * a process first sweeps groups left behind by lab processes that died.
 */
export async function createSandboxCgroup(id: string, limits: Limits, opts: CgroupOptions = {}): Promise<SandboxCgroup> {
  if (process.getuid?.() !== 0 && opts.root === undefined) return createRootlessCgroup(id, limits)
  const driver = cgroupDriver(opts.root)
  const ownerDir = opts.ownerDir ?? DEFAULT_OWNER_DIR
  const key = `${opts.root ?? DEFAULT_CGROUP_ROOT}\0${ownerDir}`
  if (!swept.has(key)) {
    swept.add(key)
    await sweepStaleCgroups(opts).catch(() => {})
  }
  if (!ownerDirsMade.has(ownerDir)) {
    mkdirSync(ownerDir, {recursive: true, mode: 0o700})
    ownerDirsMade.add(ownerDir)
  }
  const record = join(ownerDir, id)
  writeOwnerRecord(ownerDir, id, ownerLine())
  let group: SandboxCgroup
  try {
    group = await driver.create(id, limits, {lean: opts.lean})
  } catch (e) {
    unlinkQuietly(record)
    throw e
  }
  group.ownerRecord = record
  const remove = group.remove.bind(group)
  group.remove = async () => {
    await remove()
    try {
      unlinkSync(record)
    } catch {
      /* already gone */
    }
  }
  return group
}

export interface SweepReport {
  /** ids of groups removed because their owner is gone */
  removed: string[]
  /** ids still in use by a live lab process */
  kept: string[]
  /** ids that could not be removed, with the reason */
  failed: Array<{id: string; error: string}>
}

/**
 * Removes every sandbox group whose owner died: kills what is left in it, removes it in
 * every hierarchy, and drops its record. Safe to run while other lab processes run.
 */
export async function sweepStaleCgroups(opts: CgroupOptions = {}): Promise<SweepReport> {
  const driver = cgroupDriver(opts.root)
  const ownerDir = opts.ownerDir ?? DEFAULT_OWNER_DIR
  const report: SweepReport = {removed: [], kept: [], failed: []}
  const ids = new Set(await driver.list())
  let records: string[] = []
  try {
    const names = readdirSync(ownerDir)
    records = names.filter((n) => GROUP_ID.test(n))
    // a record being written by a process that died before renaming it
    for (const n of names) {
      const m = /^\.[0-9a-f]{64}\.(\d+)\.tmp$/.exec(n)
      if (m && !pidAlive(Number(m[1]))) unlinkQuietly(join(ownerDir, n))
    }
  } catch {
    /* no records yet */
  }
  for (const id of new Set([...ids, ...records])) {
    const record = await readRecord(ownerDir, id)
    if (await ownerAlive(record)) {
      report.kept.push(id)
      continue
    }
    if (ids.has(id)) {
      const group = driver.open(id)
      try {
        await group.killAll()
        await group.remove()
        report.removed.push(id)
      } catch (e) {
        report.failed.push({id, error: (e as Error).message})
        continue
      }
    }
    unlinkQuietly(join(ownerDir, id))
  }
  driver.removeParentIfUnused()
  return report
}
