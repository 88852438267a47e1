/**
 * Cgroups without root. A delegated cgroup v2 subtree (one the caller may write, e.g.
 * handed out by `systemd-run --user --scope -p Delegate=yes`, or named by
 * LAB_CGROUP_PARENT) is used like the root's hierarchy. Where there is none, the
 * sandbox runs without a group and every limit that needs one is reported as not
 * enforced, by name and with the reason — never silently dropped. rlimits (--ulimit,
 * the RLIMIT_CPU backup of --cpu-time, RLIMIT_FSIZE) and the wall-clock limit still hold,
 * and the PID namespace still ends every process with the sandbox.
 */
import {accessSync, constants, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Limits} from '../limits.js'
import {detectCgroups, DEFAULT_CGROUP_ROOT} from './detect.js'
import {type CgroupDriver, type CgroupStats, removeParentAtExit, type SandboxCgroup} from './driver.js'
import {CgroupV2Driver} from './v2.js'

export interface UnenforcedLimit {
  limit: string
  value: unknown
  reason: string
}

/** Limits that only a cgroup can enforce, with the values asked for. */
export function cgroupOnlyLimits(l: Limits): Array<{limit: string; value: unknown}> {
  const out: Array<{limit: string; value: unknown}> = []
  const add = (limit: string, value: unknown) => {
    if (value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0)) out.push({limit, value})
  }
  add('memory', l.memoryBytes)
  if (l.memorySwapBytes !== l.memoryBytes) add('memory-swap', l.memorySwapBytes)
  add('cpus', l.cpus)
  add('cpu-shares', l.cpuShares)
  add('cpuset-cpus', l.cpusetCpus)
  add('pids-limit', l.pids)
  add('blkio-weight', l.blkioWeight)
  add('device-throttle', l.deviceThrottle)
  return out
}

/** The caller's own v2 group, if the caller may create groups below it. */
export function delegatedParent(root = DEFAULT_CGROUP_ROOT): string | null {
  const explicit = process.env.LAB_CGROUP_PARENT
  const layout = detectCgroups(root)
  if (layout.mode !== 'v2' || !layout.unified) return null
  let dir: string
  if (explicit) dir = explicit.startsWith('/sys/') ? explicit : join(layout.unified, explicit)
  else {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))
    if (!line) return null
    dir = join(layout.unified, line.slice(3).trim())
  }
  try {
    accessSync(dir, constants.W_OK)
    accessSync(join(dir, 'cgroup.subtree_control'), constants.W_OK)
    return dir
  } catch {
    return null
  }
}

const NO_STATS: CgroupStats = {cpuUserUs: 0, cpuSystemUs: 0, memoryPeakBytes: null, oomKills: 0, memoryLimitHits: 0, pidsPeak: null, pidsLimitHits: 0, swapBounded: false}

/** A sandbox without a cgroup: nothing to join, nothing to remove. */
export function ungroupedSandbox(id: string, limits: Limits, reason: string): SandboxCgroup & {unenforced: UnenforcedLimit[]} {
  return {
    id,
    version: 'v2',
    paths: [],
    procsFiles: [],
    unenforced: [
      ...cgroupOnlyLimits(limits).map((x) => ({...x, reason})),
      ...(limits.cpuTimeMs !== null ? [{limit: 'cpu-time', value: limits.cpuTimeMs, reason: 'enforced per process only (RLIMIT_CPU), not for all processes together'}] : []),
    ],
    cpuUsageUs: async () => 0,
    killAll: async () => {},
    stats: async () => ({...NO_STATS}),
    remove: async () => {},
  }
}

const delegated = new Map<string, CgroupDriver>()

/** A group in the caller's delegated subtree, or an ungrouped sandbox that says why. */
export async function createRootlessCgroup(id: string, limits: Limits): Promise<SandboxCgroup & {unenforced?: UnenforcedLimit[]}> {
  const parent = delegatedParent()
  if (parent) {
    try {
      const controllers = readFileSync(join(parent, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean)
      let driver = delegated.get(parent)
      if (!driver) delegated.set(parent, (driver = removeParentAtExit(new CgroupV2Driver(parent, controllers))))
      return await driver.create(id, limits)
    } catch (e) {
      return ungroupedSandbox(id, limits, `the delegated cgroup ${parent} refused a group: ${(e as Error).message}`)
    }
  }
  return ungroupedSandbox(id, limits, 'lab runs without root and no delegated cgroup v2 subtree is writable (see `lab doctor`; e.g. run lab under `systemd-run --user --scope -p Delegate=yes`, or set LAB_CGROUP_PARENT)')
}
