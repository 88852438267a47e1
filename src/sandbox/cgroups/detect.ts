/**
 * Which cgroup layout this host has, read from the cgroup root (injectable, so tests can
 * point it at a fake tree):
 *   v2      the root itself is the unified hierarchy (it has cgroup.controllers);
 *   v1      one hierarchy per controller (or co-mounted ones such as "cpu,cpuacct");
 *   hybrid  v1 hierarchies plus a unified mount (usually "unified") that holds no
 *           controllers. crun refuses these hosts; lab uses their v1 hierarchies.
 */
import {existsSync, readFileSync, readdirSync, realpathSync} from 'node:fs'
import {join} from 'node:path'

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup'

/** v1 controllers lab knows what to do with, and a few it only recognises. */
const V1_CONTROLLERS = new Set(['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio', 'freezer', 'devices', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc'])

export interface CgroupLayout {
  mode: 'v1' | 'v2' | 'hybrid' | 'none'
  root: string
  /** the unified (v2) hierarchy's mount point, if there is one */
  unified: string | null
  /** controllers available in the unified hierarchy (its root's cgroup.controllers) */
  v2Controllers: string[]
  /** v1: controller → the directory of its hierarchy */
  v1: Record<string, string>
}

export function detectCgroups(root = DEFAULT_CGROUP_ROOT): CgroupLayout {
  const controllersOf = (dir: string) => {
    try {
      return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean)
    } catch {
      return null
    }
  }
  const atRoot = controllersOf(root)
  if (atRoot) return {mode: 'v2', root, unified: root, v2Controllers: atRoot, v1: {}}

  const v1: Record<string, string> = {}
  let unified: string | null = null
  let v2Controllers: string[] = []
  let names: string[] = []
  try {
    names = readdirSync(root)
  } catch {
    return {mode: 'none', root, unified: null, v2Controllers: [], v1}
  }
  for (const name of names.sort()) {
    const dir = join(root, name)
    const c2 = controllersOf(dir)
    if (c2) {
      unified = dir
      v2Controllers = c2
      continue
    }
    if (!existsSync(join(dir, 'cgroup.procs'))) continue
    // "cpu" is often a symlink to the co-mounted "cpu,cpuacct": name the real directory.
    let real = dir
    try {
      real = realpathSync(dir)
    } catch {
      continue
    }
    for (const c of real.split('/').pop()!.split(',')) if (V1_CONTROLLERS.has(c) && !v1[c]) v1[c] = real
  }
  const hasV1 = Object.keys(v1).length > 0
  return {mode: hasV1 ? (unified ? 'hybrid' : 'v1') : unified ? 'v2' : 'none', root, unified, v2Controllers, v1}
}
