/**
 * Work directories. A walkthrough gets a private temporary one (fixtures, then the
 * reference solution on top) that is removed at the end — also on failure and Ctrl-C;
 * if the CLI is killed outright, the next lab run removes it (its name carries the pid
 * of the process that owned it). An exercise uses the student's directory, created
 * from the fixtures the first time.
 */
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {LabError} from '../errors.js'
import {copyTreeSafe, relComponents, safeStat} from './fsafe.js'
import type {Lab} from './load.js'

const PREFIX = 'lab-walk-'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes walkthrough directories left by lab processes that no longer exist. */
export function sweepStaleWorkDirs(base = tmpdir()): string[] {
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
    rmSync(join(base, n), {recursive: true, force: true})
    removed.push(join(base, n))
  }
  return removed
}

/**
 * The lab's writable directories: root inside a sandbox is an unprivileged id on the
 * host (user namespaces), so a directory sandboxes write to through a bind mount must
 * be writable by any id. Refuses a symlink on the way.
 */
export function prepareWritable(lab: Lab, dir: string): void {
  for (const rel of lab.data.writable ?? []) {
    const parts = relComponents(rel, 'writable')
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/')
      const st = safeStat(dir, sub, 'work directory')
      if (!st) mkdirSync(join(dir, sub), {mode: 0o755})
      else if (!st.isDirectory()) throw new LabError('lab-path', `work directory: ${sub} is a file, but the lab writes into it`, {hint: `move it away, or run \`lab reset ${lab.id}\``})
    }
    chmodSync(join(dir, rel), 0o777)
  }
}

/** A fresh walkthrough directory: fixtures, then the reference solution. */
export function makeWalkthroughDir(lab: Lab): string {
  sweepStaleWorkDirs()
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-${lab.id}-`))
  // the helper opens bind sources as the sandbox's (unprivileged) root: it must be able to pass through
  chmodSync(dir, 0o711)
  if (lab.hasFixtures) copyTreeSafe(join(lab.dir, 'fixtures'), dir, `${lab.id}/fixtures`)
  if (lab.hasSolution) copyTreeSafe(join(lab.dir, 'solution'), dir, `${lab.id}/solution`, {overwrite: true})
  prepareWritable(lab, dir)
  return dir
}

export function removeWorkDir(dir: string): void {
  rmSync(dir, {recursive: true, force: true})
}

/** The student's work directory for a lab: --dir, or ./lab-work/<id>. */
export function exerciseDir(lab: Lab, given?: string): string {
  return resolve(given ?? join(process.cwd(), 'lab-work', lab.id))
}

/** Creates the student's work directory from the fixtures if it does not exist yet. */
export function ensureExerciseDir(lab: Lab, dir: string): boolean {
  const created = !existsSync(dir)
  if (created) {
    mkdirSync(dir, {recursive: true, mode: 0o755})
    if (lab.hasFixtures) copyTreeSafe(join(lab.dir, 'fixtures'), dir, `${lab.id}/fixtures`)
  }
  prepareWritable(lab, dir)
  return created
}

/** Puts the fixtures back (student files that are not fixtures stay unless `all`). */
export function resetExerciseDir(lab: Lab, dir: string, all: boolean): void {
  if (all && existsSync(dir)) {
    if (dir === '/' || dir === process.env.HOME) throw new LabError('usage', `refusing to empty ${dir}`)
    rmSync(dir, {recursive: true, force: true})
  }
  mkdirSync(dir, {recursive: true, mode: 0o755})
  if (lab.hasFixtures) copyTreeSafe(join(lab.dir, 'fixtures'), dir, `${lab.id}/fixtures`, {overwrite: true})
  prepareWritable(lab, dir)
}
