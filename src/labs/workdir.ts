/**
 * Work directories. A walkthrough gets a private temporary one (fixtures, then the
 * reference solution on top) that is removed at the end — also on failure and Ctrl-C;
 * if the CLI is killed outright, the next lab run removes it (its name carries the pid
 * of the process that owned it). An exercise uses the student's directory, created
 * from the fixtures the first time.
 */
import {chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, dirname, join, resolve, sep} from 'node:path'

import {LabError} from '../errors.js'
import {VOLUME_OWNER_ID} from '../sandbox/volumes-managed.js'
import {sweepStaleTemp} from '../util/stale-temp.js'
import {copyTreeSafe, relComponents, safeStat} from './fsafe.js'
import {labProgress} from './progress.js'

import type {Lab} from './load.js'


const PREFIX = 'lab-walk-'
const STATE_PREFIX = 'lab-st-'

export function sweepStaleWorkDirs(base = tmpdir()): string[] {
  return sweepStaleTemp(PREFIX, base)
}

/**
 * The lab's writable directories. As root they belong to lab's volume user (as managed
 * volumes do), whatever is in them: a writable volume is idmapped to its owner, so every
 * sandbox — each on its own id range — writes there as that one unprivileged host id,
 * a file one run wrote is the next run's too, and "root inside is not root outside"
 * stays visible on the host. Without root, the directories are writable by any id (the
 * sandbox's ids are the caller's subordinate ones). Refuses a symlink on the way.
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
    if (process.getuid?.() === 0) giveToVolumeUser(join(dir, rel))
  }
}

/** lchown of a tree, links themselves included and never followed. */
function giveToVolumeUser(path: string): void {
  lchownSync(path, VOLUME_OWNER_ID, VOLUME_OWNER_ID)
  if (!lstatSync(path).isDirectory()) return
  for (const name of readdirSync(path)) giveToVolumeUser(join(path, name))
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

/**
 * The student's work directory for a lab: --dir; else the one the current directory is
 * in (a `lab-work/<id>` above it, or the directory `lab check` last used for this lab,
 * so the command works as written from inside the work directory too); else
 * ./lab-work/<id>.
 */
export function exerciseDir(lab: Lab, given?: string, cwd = process.cwd()): string {
  if (given !== undefined) return resolve(given)
  const here = resolve(cwd)
  for (let d = here; ; d = dirname(d)) {
    if (basename(d) === lab.id && basename(dirname(d)) === 'lab-work') return d
    if (d === dirname(d)) break
  }
  let recorded: string | undefined
  try {
    recorded = labProgress(lab.id)?.workDir
  } catch {} // a damaged progress file is reported by the commands that write it
  if (recorded && (here === recorded || here.startsWith(recorded.endsWith(sep) ? recorded : recorded + sep))) return recorded
  return join(here, 'lab-work', lab.id)
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

/**
 * Puts the starting files back: the directories sandboxes write into (the lab's
 * `writable`) are emptied first, so what earlier runs wrote there is gone and the
 * exercises start as on the first day; student files elsewhere (the answers) stay
 * unless `all`.
 */
export function resetExerciseDir(lab: Lab, dir: string, all: boolean): void {
  if (all && existsSync(dir)) {
    if (dir === '/' || dir === process.env.HOME) throw new LabError('usage', `refusing to empty ${dir}`)
    rmSync(dir, {recursive: true, force: true})
  }
  mkdirSync(dir, {recursive: true, mode: 0o755})
  for (const rel of lab.data.writable ?? []) {
    // never through a symlink: safeStat refuses one on the way
    if (safeStat(dir, rel, 'work directory')?.isDirectory()) rmSync(join(dir, rel), {recursive: true, force: true})
  }
  if (lab.hasFixtures) copyTreeSafe(join(lab.dir, 'fixtures'), dir, `${lab.id}/fixtures`, {overwrite: true})
  prepareWritable(lab, dir)
}

// ------------------------------------------------------------------ lifecycle state

/** Field 22 of /proc/PID/stat: tells a live owner from a reused pid. */
function startTimeOf(pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** The network namespace of a process (its nsfs inode), or null. */
function netnsOf(pid: string): string | null {
  try {
    return String(statSync(`/proc/${pid}/ns/net`).ino)
  } catch {
    return null
  }
}

/** Whether a network namespace still exists: a process is in it, or `ip netns` holds it. */
function netnsExists(ino: string): boolean {
  for (const d of ['/run/netns', '/var/run/netns']) {
    try {
      for (const n of readdirSync(d)) if (String(statSync(join(d, n)).ino) === ino) return true
    } catch {
      /* none named */
    }
  }
  return readdirSync('/proc').some((p) => /^\d+$/.test(p) && netnsOf(p) === ino)
}

/**
 * A private lifecycle state directory for one lab run: its sandboxes, logs and volumes
 * never mix with the user's (/var/lib/lab) and all go at the end. The path is short on
 * purpose: a supervisor's control socket lives 83 characters below it, and a socket
 * path has at most 107. An "owner" file (pid, start time and network namespace) lets the
 * next lab run clean up after a CLI that was killed outright.
 */
export function makeStateDir(): string {
  const base = tmpdir().length <= 10 ? tmpdir() : '/tmp'
  const dir = mkdtempSync(join(base, STATE_PREFIX))
  chmodSync(dir, 0o711)
  writeFileSync(join(dir, 'owner'), `${process.pid} ${startTimeOf('self') ?? 0} ${netnsOf('self') ?? 0}\n`)
  return dir
}

/** Removes every sandbox (running ones too), volume and network of a lab run, then its state directory. */
export async function removeStateDir(dir: string): Promise<void> {
  if (existsSync(join(dir, 'sandboxes'))) {
    const {lifecycle} = await import('../sandbox/lifecycle.js')
    const lc = lifecycle({stateDir: dir})
    for (const rec of lc.store.all()) await lc.remove(rec.id, {force: true, volumes: true}).catch(() => {})
    // supervisors of half-created or crashed sandboxes, runtime leftovers, cgroups
    await lc.prune({volumes: 'all'}).catch(() => {})
  }
  // the lab's networks: bridges, firewall tables and name servers are the host's
  const {removeLabNetworks} = await import('./networks.js')
  await removeLabNetworks(dir).catch(() => [])
  rmSync(dir, {recursive: true, force: true})
}

/** State directories of lab runs whose process is gone (killed with SIGKILL): removed with their sandboxes. */
export async function sweepStaleStateDirs(): Promise<string[]> {
  const removed: string[] = []
  for (const base of new Set([tmpdir(), '/tmp'])) {
    let names: string[] = []
    try {
      names = readdirSync(base).filter((n) => n.startsWith(STATE_PREFIX))
    } catch {
      continue
    }
    for (const n of names) {
      const dir = join(base, n)
      let owner = ''
      try {
        owner = readFileSync(join(dir, 'owner'), 'utf8')
      } catch {
        continue // being created right now, or not ours
      }
      const [pid, start, netns] = owner.trim().split(' ')
      if (/^\d+$/.test(pid) && startTimeOf(Number(pid)) === start) continue
      // its bridges and firewall tables are in the network namespace it ran in: only a lab
      // run there can remove them, so one elsewhere leaves the directory to it (a namespace
      // that is gone took them with it, and then anyone may drop the rest)
      if (netns && netns !== '0' && netns !== netnsOf('self') && netnsExists(netns)) continue
      await removeStateDir(dir)
      removed.push(dir)
    }
  }
  return removed
}
