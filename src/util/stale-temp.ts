/**
 * Temporary directories named PREFIX<pid>-…: a lab, grading or CI run makes one and
 * removes it at the end; when the process was killed outright, the next run sweeps it.
 */
import {readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** Whether a process with this pid exists (EPERM: it does, someone else's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes base/PREFIX<pid>-* whose process is gone; `remove` may do more first (e.g.
 * unmount). Returns what was removed; what cannot be removed now waits for the next sweep.
 */
export function sweepStaleTemp(prefix: string, base = tmpdir(), remove: (dir: string) => void = (d) => rmSync(d, {recursive: true, force: true})): string[] {
  const removed: string[] = []
  let names: string[] = []
  try {
    names = readdirSync(base)
  } catch {
    return removed
  }
  const re = new RegExp(`^${prefix}(\\d+)-`)
  for (const n of names) {
    const m = re.exec(n)
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue
    try {
      remove(join(base, n))
      removed.push(join(base, n))
    } catch {
      /* the next sweep tries again */
    }
  }
  return removed
}
