/**
 * The cgroup driver: one interface, two backends (v1.ts: one hierarchy per controller;
 * v2.ts: the unified hierarchy). The engine creates one group per sandbox under a
 * parent group "lab" in each hierarchy, hands the group's cgroup.procs files to the
 * helper (which puts the sandbox in before it execs anything: on v1 the sandbox writes
 * to the `tasks` file beside each, on v2 it is cloned into the group; the helper's
 * cgroup.h says why), and when the run ends
 * kills what is left, reads the accounting and removes the group.
 *
 * The parent group lives only while some sandbox group does: a lab process keeps it for
 * its lifetime (making it again per sandbox would cost every start) and removes it at
 * exit if it is empty; a supervisor removing the last detached group, and every sweep,
 * do the same. Since another process may remove it at any moment, a group whose mkdir
 * finds no parent makes the parent again and retries.
 */
import {closeSync, openSync, readFileSync, readSync, rmdirSync, writeSync} from 'node:fs'

import {LabError} from '../../errors.js'
import type {Limits} from '../limits.js'

export type CgroupVersion = 'v1' | 'v2'

/** What the kernel counted for one sandbox; null where this kernel does not report it. */
export interface CgroupStats {
  cpuUserUs: number
  cpuSystemUs: number
  memoryPeakBytes: number | null
  /** processes the OOM killer ended inside the group (memory.events / memory.oom_control) */
  oomKills: number
  /** times usage reached the memory limit (v2 memory.events "max", v1 memory.failcnt) */
  memoryLimitHits: number
  pidsPeak: number | null
  /** forks and clones refused by pids.max (pids.events "max") */
  pidsLimitHits: number
  /** is swap use bounded as asked (memsw / memory.swap.max, or v1 swappiness 0)? */
  swapBounded: boolean
}

export interface SandboxCgroup {
  readonly id: string
  readonly version: CgroupVersion
  /** the group's directory in each hierarchy used */
  readonly paths: string[]
  /** the groups' cgroup.procs files: they name the groups for the helper (plan op cgroup) */
  readonly procsFiles: string[]
  /** the ownership record (cgroups/index.ts), removed with the group by whoever removes it */
  ownerRecord?: string
  /** false when the group counts no CPU time (a lean v1 group): take the helper's rusage */
  readonly cpuAccounting?: boolean
  /** CPU time used so far by every process of the group, in µs */
  cpuUsageUs(): Promise<number>
  /** SIGKILLs every process of the group (v2 cgroup.kill; v1 freeze, kill, thaw) and waits until it is empty */
  killAll(): Promise<void>
  stats(): Promise<CgroupStats>
  /** the counter files stats() reads, for a helper that reads them when the run ends */
  statFiles?(): string[]
  /** stats() from those files' contents (a file missing from the map is one the kernel lacks) */
  statsFrom?(contents: Record<string, string>): CgroupStats
  /** removes the group (after killAll); a group already gone is fine */
  remove(): Promise<void>
}

export interface CreateOptions {
  /**
   * The sandbox owns its PID namespace, is never paused and has no CPU-time limit: it
   * needs no freezer (its init's death takes every process) and no CPU accounting
   * group (the helper's wait4 rusage of that init covers every process of the
   * namespace, as each is reaped inside it). v1 then skips those two hierarchies,
   * two mkdirs and rmdirs per sandbox; v2 has both in the one group anyway.
   */
  lean?: boolean
}

export interface CgroupDriver {
  readonly version: CgroupVersion
  /** controllers this driver can use */
  readonly controllers: ReadonlySet<string>
  /** creates the sandbox's group with its limits applied */
  create(id: string, limits: Limits, opts?: CreateOptions): Promise<SandboxCgroup>
  /** ids of the sandbox groups that exist under the parent group */
  list(): Promise<string[]>
  /** a handle on an existing group (for clean-up of groups whose owner died) */
  open(id: string): SandboxCgroup
  /** the parent group's directory in each hierarchy */
  parentPaths(): string[]
  /** removes the parent group wherever it holds no sandbox group (the kernel refuses otherwise) */
  removeParentIfUnused(): void
}

/** The parent group every sandbox group lives under, in each hierarchy. */
export const PARENT_GROUP = 'lab'
export const GROUP_ID = /^[0-9a-f]{64}$/

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function cgroupError(call: string, path: string, err: unknown, hint?: string): LabError {
  const e = err as NodeJS.ErrnoException
  return new LabError('cgroup', `cgroup set-up failed: ${call} ${path}: ${e.code ?? e.message}`, {
    hint: hint ?? (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS' ? 'lab needs to be root to create cgroups; run `lab doctor`' : 'run `lab doctor` to see what this host supports'),
    cause: err,
  })
}

/*
 * Cgroup control files live in memory and answer in microseconds, so they are read and
 * written synchronously: a thread-pool round trip per file cost more main-thread time
 * than the kernel work, and a batch makes some forty of these calls per sandbox.
 */

/** Writes one value to a cgroup file; a refused value becomes a LabError naming the file. */
export async function writeControl(path: string, value: string, hint?: string): Promise<void> {
  let fd = -1
  try {
    fd = openSync(path, 'w')
    writeSync(fd, value)
  } catch (e) {
    throw cgroupError(`write "${value}" to`, path, e, hint)
  } finally {
    if (fd >= 0) closeSync(fd)
  }
}

const readBuf = Buffer.allocUnsafe(16384)

/**
 * Reads a cgroup control file (null when it does not exist). Control files report a size
 * of 0 and are produced whole by one read, so this opens, reads once and closes.
 */
export async function readControl(path: string): Promise<string | null> {
  let fd = -1
  try {
    fd = openSync(path, 'r')
    const n = readSync(fd, readBuf, 0, readBuf.length, null)
    // a full buffer means there is more (a long cgroup.procs): read it all
    return n < readBuf.length ? readBuf.toString('utf8', 0, n) : readFileSync(path, 'utf8')
  } catch {
    return null
  } finally {
    if (fd >= 0) closeSync(fd)
  }
}

/** "key value" lines (cpu.stat, memory.events, memory.oom_control, pids.events) → numbers. */
export function parseKeyed(text: string | null): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/)
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v)
  }
  return out
}

export function parseNumber(text: string | null): number | null {
  const t = text?.trim()
  return t && /^\d+$/.test(t) ? Number(t) : null
}

export function parsePids(text: string | null): number[] {
  return (text ?? '').split('\n').filter((l) => /^\d+$/.test(l)).map(Number)
}

export function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      /* already gone */
    }
  }
}

/**
 * Removes a group directory. rmdir fails with EBUSY while the last tasks are still
 * exiting, so it is retried for a short while; a group already gone counts as removed.
 */
export async function removeGroupDir(path: string, waitMs = 2000): Promise<void> {
  const end = Date.now() + waitMs
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      rmdirSync(path)
      return
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return
      if (code !== 'EBUSY' || Date.now() > end) throw cgroupError('rmdir', path, e, 'a process of the sandbox is still in it; `lab system prune` removes it later')
    }
    await sleep(delay)
  }
}

/** The parent group is kept while this process runs and removed at its end if no sandbox group is left in it. */
export function removeParentAtExit(driver: CgroupDriver): CgroupDriver {
  process.once('exit', () => driver.removeParentIfUnused())
  return driver
}

/** rmdir that only succeeds on a group with no child groups and no tasks; nothing else is an error. */
export function rmdirIfUnused(path: string): void {
  try {
    rmdirSync(path)
  } catch {
    /* EBUSY/ENOTEMPTY: in use by a sandbox; ENOENT: already gone */
  }
}

/**
 * Runs make() (prepare the parent, mkdir the group), and when it fails because the
 * parent group was removed under it by another lab process, resets and tries again.
 */
export async function withParent<T>(make: () => Promise<T>, reset: () => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await make()
    } catch (e) {
      const code = ((e as {cause?: NodeJS.ErrnoException}).cause ?? (e as NodeJS.ErrnoException)).code
      if (code !== 'ENOENT' || attempt >= 4) throw e
      reset()
    }
  }
}

/** Waits until every file reads as no pids (or the time is up); returns whether they did. */
export async function waitEmpty(procsFiles: string[], waitMs = 2000): Promise<boolean> {
  const end = Date.now() + waitMs
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const texts = await Promise.all(procsFiles.map(readControl))
    if (texts.every((t) => parsePids(t).length === 0)) return true
    if (Date.now() > end) return false
    await sleep(delay)
  }
}
