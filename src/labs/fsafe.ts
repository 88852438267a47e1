/**
 * Paths that come from a lab (fixtures, solutions, instructions) or from a student's
 * work directory are never trusted: every component is checked with lstat, so a
 * symlink, "..", an absolute path, a hard link or a device file is refused instead
 * of being followed. (We usually run as root: following a student's symlink to
 * /etc/shadow would read or overwrite the host's file.)
 */
import {copyFileSync, chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, type Stats} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../errors.js'

export const MAX_FIXTURE_BYTES = 4 * 1024 * 1024
const MAX_ENTRIES = 2000

export class UnsafePathError extends LabError {
  constructor(where: string, why: string) {
    super('lab-unsafe-path', `${where}: ${why}`, {hint: 'lab files must be plain files and directories inside the lab (no symlinks, "..", absolute paths, hard links or device files)'})
  }
}

/** Splits a relative path into components, refusing absolute paths, "." and "..". */
export function relComponents(rel: string, where: string): string[] {
  if (rel.startsWith('/')) throw new UnsafePathError(where, `"${rel}" is an absolute path`)
  if (rel.includes('\0')) throw new UnsafePathError(where, `"${rel}" contains a NUL byte`)
  const parts = rel.split('/')
  if (parts.some((p) => p === '..')) throw new UnsafePathError(where, `"${rel}" contains ".."`)
  if (parts.some((p) => p === '' || p === '.')) throw new UnsafePathError(where, `"${rel}" is not a clean relative path`)
  return parts
}

function describeType(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link'
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device file'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  return 'not a regular file or directory'
}

/**
 * lstat of base/rel where no component may be a symlink. Returns null when the path
 * does not exist. `base` itself is trusted (the lab or work directory we chose).
 */
export function safeStat(base: string, rel: string, where: string): Stats | null {
  const parts = relComponents(rel, where)
  let p = base
  for (let i = 0; i < parts.length; i++) {
    p = join(p, parts[i])
    let st: Stats
    try {
      st = lstatSync(p)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return null
      throw new LabError('lab-path', `${where}: cannot read ${rel}: ${(e as Error).message}`)
    }
    const last = i === parts.length - 1
    if (!last && !st.isDirectory()) {
      if (st.isSymbolicLink()) throw new UnsafePathError(where, `${parts.slice(0, i + 1).join('/')} is a symbolic link`)
      return null
    }
    if (last) {
      if (!st.isFile() && !st.isDirectory()) throw new UnsafePathError(where, `${rel} is ${describeType(st)}`)
      return st
    }
  }
  return null
}

/** Reads a regular file below base without following symlinks; null when absent. */
export function safeReadFile(base: string, rel: string, where: string, maxBytes = MAX_FIXTURE_BYTES): string | null {
  const st = safeStat(base, rel, where)
  if (!st) return null
  if (!st.isFile()) throw new UnsafePathError(where, `${rel} is a directory, not a file`)
  if (st.nlink > 1) throw new UnsafePathError(where, `${rel} is a hard link (it could be any file on the host)`)
  if (st.size > maxBytes) throw new LabError('lab-path', `${where}: ${rel} is larger than ${maxBytes} bytes`, {hint: 'keep lab files small'})
  return readFileSync(join(base, rel), 'utf8')
}

/** Every entry of a lab tree (fixtures/, solution/), refusing anything unsafe. Paths are relative. */
export function walkSafe(dir: string, where: string): Array<{rel: string; dir: boolean; mode: number}> {
  const out: Array<{rel: string; dir: boolean; mode: number}> = []
  const visit = (rel: string) => {
    const abs = rel === '' ? dir : join(dir, rel)
    for (const name of readdirSync(abs).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`
      const st = lstatSync(join(dir, r))
      if (st.isSymbolicLink() || (!st.isFile() && !st.isDirectory())) throw new UnsafePathError(`${where}/${r}`, `is ${describeType(st)}`)
      if (st.isFile() && st.nlink > 1) throw new UnsafePathError(`${where}/${r}`, 'is a hard link (it could be any file on the host)')
      if (st.isFile() && st.size > MAX_FIXTURE_BYTES) throw new LabError('lab-path', `${where}/${r}: larger than ${MAX_FIXTURE_BYTES} bytes`, {hint: 'keep fixtures small'})
      out.push({rel: r, dir: st.isDirectory(), mode: st.mode & 0o777})
      if (out.length > MAX_ENTRIES) throw new LabError('lab-path', `${where}: more than ${MAX_ENTRIES} files`, {hint: 'keep fixtures small'})
      if (st.isDirectory()) visit(r)
    }
  }
  visit('')
  return out
}

/** Copies a checked lab tree into dest (which we created), file by file, never following links. */
export function copyTreeSafe(src: string, dest: string, where: string, opts: {overwrite?: boolean} = {}): number {
  const entries = walkSafe(src, where)
  for (const e of entries) {
    const target = join(dest, e.rel)
    // the target may hold a student's symlink: refuse to write through it
    const existing = safeStat(dest, e.rel, 'work directory')
    if (e.dir) {
      if (!existing) mkdirSync(target, {mode: 0o755})
      continue
    }
    if (existing && !opts.overwrite) continue
    copyFileSync(join(src, e.rel), target)
    chmodSync(target, e.mode & 0o755)
  }
  return entries.length
}
