/**
 * The batch's scratch area on the host: extracted submissions, per-test copies and the
 * checkers' inputs. As root it is a size-capped tmpfs of our own (a submission that
 * writes without end fills its cap, not the host's disk); elsewhere a plain temporary
 * directory. It is removed at the end, also on failure and Ctrl-C; if the CLI is killed
 * outright, the next `lab grade` removes it (its name carries the owner's pid).
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const PREFIX = 'lab-grade-'

export interface Scratch {
  dir: string
  /** a tmpfs we mounted (unmounted by remove) */
  tmpfs: boolean
  sizeBytes: number | null
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function mountedAt(dir: string): boolean {
  try {
    // field 5 of mountinfo is the mount point (octal escapes for spaces, which our names never have)
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir)
  } catch {
    return false
  }
}

function unmount(dir: string): void {
  // lazy: a shell of the teacher sitting in the directory must not keep it
  for (let i = 0; i < 4 && mountedAt(dir); i++) execFileSync('umount', ['-l', dir], {stdio: 'ignore'})
}

/** Removes scratch areas whose lab process is gone (killed with SIGKILL, a crash). */
export function sweepStaleScratch(base = tmpdir()): string[] {
  const removed: string[] = []
  let names: string[] = []
  try {
    names = readdirSync(base)
  } catch {
    return removed
  }
  for (const n of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(n)
    if (!m || alive(Number(m[1]))) continue
    const dir = join(base, n)
    try {
      unmount(dir)
      rmSync(dir, {recursive: true, force: true})
      removed.push(dir)
    } catch {
      /* not ours to fix now; the next sweep tries again */
    }
  }
  return removed
}

export function createScratch(sizeBytes: number): Scratch {
  sweepStaleScratch()
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`))
  // the helper opens bind sources as the sandbox's unprivileged root: it must pass through
  chmodSync(dir, 0o711)
  if (process.getuid?.() === 0) {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0711,nosuid,nodev`, 'lab-grade', dir], {stdio: 'ignore'})
      return {dir, tmpfs: true, sizeBytes}
    } catch {
      /* no mount(8) or not allowed: a plain directory, capped per file by RLIMIT_FSIZE */
    }
  }
  return {dir, tmpfs: false, sizeBytes: null}
}

export function removeScratch(s: Scratch): void {
  if (s.tmpfs) {
    try {
      unmount(s.dir)
    } catch {
      /* removed below as far as possible; the sweep retries */
    }
  }
  rmSync(s.dir, {recursive: true, force: true})
}
