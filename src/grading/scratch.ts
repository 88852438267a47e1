/**
 * The batch's scratch area on the host: extracted submissions, per-test copies and the
 * checkers' inputs. As root it is a size-capped tmpfs of our own (a submission that
 * writes without end fills its cap, not the host's disk); elsewhere a plain temporary
 * directory. It is removed at the end, also on failure and Ctrl-C. If the CLI is killed
 * outright, a tiny guard process (a shell blocked reading a pipe from us) sees the pipe
 * close and unmounts and removes it; should the guard be gone too, the next `lab grade`
 * sweeps it (its name carries the owner's pid).
 */
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {sweepStaleTemp} from '../util/stale-temp.js'

const PREFIX = 'lab-grade-'

export interface Scratch {
  dir: string
  /** a tmpfs we mounted (unmounted by remove) */
  tmpfs: boolean
  sizeBytes: number | null
  /** removes the area if this process dies without doing it */
  guard?: ChildProcess
}

// $1 is the directory. A line from us means "done, leave it"; end of file means we died.
const GUARD = 'trap "" INT TERM HUP; if read -r done; then exit 0; fi; umount -l "$1" 2>/dev/null; rm -rf -- "$1"'

function startGuard(dir: string): ChildProcess | undefined {
  try {
    // its own session: a Ctrl-C for the batch must not end the guard before we clean up
    const g = spawn('/bin/sh', ['-c', GUARD, 'lab-grade-guard', dir], {stdio: ['pipe', 'ignore', 'ignore'], detached: true})
    g.on('error', () => {})
    g.stdin?.on('error', () => {})
    g.unref()
    ;(g.stdin as unknown as {unref?: () => void})?.unref?.()
    return g
  } catch {
    return undefined // the sweep of the next run is the fallback
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
  return sweepStaleTemp(PREFIX, base, (dir) => {
    unmount(dir)
    rmSync(dir, {recursive: true, force: true})
  })
}

export function createScratch(sizeBytes: number): Scratch {
  sweepStaleScratch()
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`))
  // the helper opens bind sources as the sandbox's unprivileged root: it must pass through
  chmodSync(dir, 0o711)
  if (process.getuid?.() === 0) {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0711,nosuid,nodev`, 'lab-grade', dir], {stdio: 'ignore'})
      return {dir, tmpfs: true, sizeBytes, guard: startGuard(dir)}
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
  s.guard?.stdin?.end('done\n')
}

/**
 * A batch's own area inside a longer-lived one (a queue worker grades batch after batch in
 * one scratch tmpfs: mounting it and starting its guard cost most of a trivial batch).
 * Removed with removeScratchWithin; what the outer area holds otherwise stays.
 */
export function scratchWithin(outer: Scratch): Scratch {
  const dir = mkdtempSync(join(outer.dir, 'batch-'))
  chmodSync(dir, 0o711)
  return {dir, tmpfs: outer.tmpfs, sizeBytes: outer.sizeBytes}
}

export function removeScratchWithin(s: Scratch): void {
  rmSync(s.dir, {recursive: true, force: true})
}
