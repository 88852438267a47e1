/**
 * The host's harmless /etc files (HOST_ETC_ENTRIES), copied once into a shared
 * directory that every sandbox's /etc stacks on: an overlay whose lower layer is this
 * copy and whose upper layer is the sandbox's scratch tmpfs, where its own passwd,
 * hosts, hostname… are written. One mount instead of one bind per file: set-up cost
 * grows with the number of mounts, and this was most of them.
 *
 * Directories (ssl, alternatives, …) are not copied: they appear as empty mount points
 * here and the host's own are bound read-only on top, so they stay live. A copy is
 * named by a fingerprint of the host files it holds (identity, size, times, link
 * targets), so a changed host file gives a new copy; the host is checked at most once a
 * second per process. Copies live in /run/lab/etc (root) or $XDG_RUNTIME_DIR/lab/etc, are
 * written to a temporary name and renamed into place (concurrent builders agree), and
 * one unused for a day is removed when a new one is made.
 */
import {createHash, randomBytes} from 'node:crypto'
import {copyFileSync, chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, type Stats} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {HOST_ETC_ENTRIES} from './etc.js'
import {stateRoots} from './state/paths.js'

/** Files larger than this stay binds (none of the usual entries comes close). */
const MAX_COPY_BYTES = 1 << 20
const FORMAT = 'lab-etc-base 1'
const RECHECK_MS = 1000
const UNUSED_MS = 24 * 3600 * 1000

export interface EtcBase {
  /** the directory the overlay stacks on */
  dir: string
  /** host /etc entries bound read-only on top of it (directories, large files) */
  binds: Array<{path: string; file: boolean}>
}

interface Entry {
  name: string
  st: Stats
  link?: string
}

function hostEntries(): Entry[] {
  const out: Entry[] = []
  for (const name of HOST_ETC_ENTRIES) {
    let st: Stats
    try {
      st = lstatSync(`/etc/${name}`)
    } catch {
      continue
    }
    if (st.isSymbolicLink()) out.push({name, st, link: readlinkSync(`/etc/${name}`)})
    else if (st.isFile() || st.isDirectory()) out.push({name, st})
    // never device nodes, sockets or FIFOs
  }
  return out
}

const copied = (e: Entry) => e.st.isFile() && e.st.size <= MAX_COPY_BYTES

function fingerprint(entries: Entry[]): string {
  const h = createHash('sha256').update(FORMAT)
  for (const e of entries) {
    const kind = e.link !== undefined ? `l:${e.link}` : copied(e) ? `f:${e.st.dev}:${e.st.ino}:${e.st.size}:${e.st.mtimeMs}:${e.st.ctimeMs}:${e.st.mode}` : e.st.isFile() ? 'bigfile' : 'dir'
    h.update(`\0${e.name}\0${kind}`)
  }
  return h.digest('hex').slice(0, 24)
}

/**
 * The directory holding the copies: ours alone, writable by no one else (the sandbox's
 * /etc comes from it), and reachable by a remapped sandbox root, which has no rights
 * over host root's files but those of "others": /run/lab must be traversable (0711,
 * not listable); the copies themselves are 0755, as readable as the host files they
 * copy, and writable by their owner only. Not below --state-dir: a private state
 * directory is often not traversable, and the copy is the same for all of them.
 */
function baseRoot(): string {
  let parent: string
  if (process.getuid?.() === 0) {
    parent = '/run/lab'
    mkdirSync(parent, {recursive: true, mode: 0o711})
    const st = statSync(parent)
    if (st.uid === 0 && (st.mode & 0o111) !== 0o111) chmodSync(parent, (st.mode & 0o7777) | 0o111)
  } else {
    const rt = process.env.XDG_RUNTIME_DIR
    parent = rt && rt.startsWith('/') ? join(rt, 'lab') : join(stateRoots().data, 'run')
  }
  const root = join(parent, 'etc')
  mkdirSync(root, {recursive: true, mode: 0o755})
  const st = lstatSync(root)
  const uid = process.getuid?.() ?? st.uid
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new LabError('etc-base', `${root} is not a directory owned by you and writable only by you`, {hint: `remove it (rm -rf ${root}); lab makes it again`})
  }
  return root
}

function build(root: string, name: string, entries: Entry[]): void {
  const tmp = join(root, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    mkdirSync(tmp, {mode: 0o755})
    for (const e of entries) {
      const dst = join(tmp, e.name)
      if (e.link !== undefined) symlinkSync(e.link, dst)
      else if (copied(e)) {
        copyFileSync(`/etc/${e.name}`, dst)
        chmodSync(dst, e.st.mode & 0o755)
        utimesSync(dst, e.st.atime, e.st.mtime)
      } else if (e.st.isDirectory()) mkdirSync(dst, {mode: 0o755})
      else copyFileSync('/dev/null', dst) // a mount point for a large file's bind
    }
    chmodSync(tmp, 0o755)
    try {
      renameSync(tmp, join(root, name))
    } catch (err) {
      // another process made the same copy first: use that one
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err
    }
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
  sweep(root, name)
}

/** Copies unused for a day and temporary ones of dead builders; a running sandbox keeps using its copy meanwhile. */
function sweep(root: string, keep: string): void {
  const now = Date.now()
  for (const n of readdirSync(root)) {
    if (n === keep) continue
    const p = join(root, n)
    try {
      const st = statSync(p)
      const stale = n.startsWith('.tmp-') ? now - st.mtimeMs > 60_000 : now - st.atimeMs > UNUSED_MS && now - st.mtimeMs > UNUSED_MS
      if (stale) rmSync(p, {recursive: true, force: true})
    } catch {
      /* raced with another sweep */
    }
  }
}

let cached: {base: EtcBase; checkedAt: number; print: string} | null = null

/** The shared copy for the host's current /etc entries, made when missing. */
export function etcBase(): EtcBase {
  const now = Date.now()
  if (cached && now - cached.checkedAt < RECHECK_MS) return cached.base
  const entries = hostEntries()
  const print = fingerprint(entries)
  if (cached && cached.print === print) {
    cached.checkedAt = now
    return cached.base
  }
  const root = baseRoot()
  const dir = join(root, print)
  try {
    statSync(dir)
  } catch {
    build(root, print, entries)
  }
  const base: EtcBase = {dir, binds: entries.filter((e) => e.link === undefined && !copied(e)).map((e) => ({path: `/etc/${e.name}`, file: e.st.isFile()}))}
  cached = {base, checkedAt: now, print}
  return base
}
