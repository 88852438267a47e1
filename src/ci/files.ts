/**
 * Copying trees that steps and pull requests control, without ever following a link:
 * every entry is lstat'ed, files are opened with O_NOFOLLOW and checked again on the
 * descriptor, symbolic links are copied as links (never read through), hard-linked
 * files of another owner, devices, sockets and FIFOs are left out. Used for the job's
 * private copy of the checkout, artifacts and caches.
 */
import {closeSync, constants, copyFileSync, fstatSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, symlinkSync, writeSync, type Stats} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../errors.js'

export interface CopyOptions {
  /** stop with a LabError past this many bytes of file content */
  maxBytes?: number
  /** what the limit is called in the error */
  what?: string
  /** copy symbolic links (as links) instead of leaving them out */
  keepSymlinks?: boolean
  /** hard-linked files are copied only when this uid owns them (null: never) */
  hardLinkOwner?: number | null
  /** names left out at the top level */
  skipTop?: Set<string>
}

export interface CopyReport {
  files: number
  bytes: number
  skipped: string[]
}

// one buffer for every copy (they are synchronous): a fresh MiB for each file cost more than
// copying a small one
let copyBuf: Buffer | undefined

function copyFileNoFollow(src: string, dest: string, st: Stats): number {
  const fd = openSync(src, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  try {
    const fst = fstatSync(fd)
    if (!fst.isFile() || fst.ino !== st.ino || fst.dev !== st.dev) throw new LabError('ci-file-changed', `${src} changed while it was copied`, {hint: 'nothing may run in the workspace while lab copies it'})
    const out = openSync(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, fst.mode & 0o777)
    try {
      const buf = (copyBuf ??= Buffer.allocUnsafe(1 << 20))
      let total = 0
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null)
        if (n <= 0) break
        writeSync(out, buf, 0, n)
        total += n
      }
      return total
    } finally {
      closeSync(out)
    }
  } finally {
    closeSync(fd)
  }
}

/** Copies src (a directory or a file) to dest; dest must not exist. */
export function copyTree(src: string, dest: string, opts: CopyOptions = {}): CopyReport {
  const report: CopyReport = {files: 0, bytes: 0, skipped: []}
  const limit = opts.maxBytes ?? Infinity
  const visit = (from: string, to: string, rel: string, st: Stats, top: boolean) => {
    if (st.isSymbolicLink()) {
      if (opts.keepSymlinks) symlinkSync(readlinkSync(from), to)
      else report.skipped.push(`${rel} (a symbolic link)`)
      return
    }
    if (st.isDirectory()) {
      mkdirSync(to, {mode: (st.mode & 0o777) | 0o700})
      for (const name of readdirSync(from).sort()) {
        if (top && opts.skipTop?.has(name)) continue
        const f = join(from, name)
        visit(f, join(to, name), rel ? `${rel}/${name}` : name, lstatSync(f), false)
      }
      return
    }
    if (!st.isFile()) {
      report.skipped.push(`${rel} (not a regular file)`)
      return
    }
    if (st.nlink > 1 && (opts.hardLinkOwner === null || opts.hardLinkOwner === undefined || st.uid !== opts.hardLinkOwner)) {
      report.skipped.push(`${rel} (a hard link: it could be any file of the host)`)
      return
    }
    if (report.bytes + st.size > limit) {
      throw new LabError('ci-size-limit', `${opts.what ?? 'the copy'} is larger than its limit of ${limit} bytes (at ${rel || '.'})`, {hint: 'raise max-size, or collect fewer files'})
    }
    report.bytes += copyFileNoFollow(from, to, st)
    report.files++
  }
  visit(src, dest, '', lstatSync(src), true)
  return report
}

/** Gives a tree (that lab made) to uid:gid, links included, never following one. */
export function chownTree(dir: string, uid: number, gid: number): void {
  const st = lstatSync(dir)
  lchownSync(dir, uid, gid)
  if (st.isDirectory()) for (const n of readdirSync(dir)) chownTree(join(dir, n), uid, gid)
}

/** Size in bytes of the regular files of a tree (links not followed). */
export function treeSize(dir: string): number {
  let st: Stats
  try {
    st = lstatSync(dir)
  } catch {
    return 0
  }
  if (st.isDirectory()) return readdirSync(dir).reduce((s, n) => s + treeSize(join(dir, n)), 0)
  return st.isFile() ? st.size : 0
}

/** A fast copy of a file lab itself made (cache data into a workspace). */
export function cloneFile(src: string, dest: string): void {
  copyFileSync(src, dest, constants.COPYFILE_FICLONE)
}

/**
 * base/rel where no component may be a symlink; null when it does not exist.
 * (The last component may be a link only when allowLink: the caller copies it as one.)
 */
export function resolveInside(base: string, rel: string): {path: string; st: Stats} | null {
  const parts = rel.replace(/\/+$/, '').split('/').filter((p) => p !== '' && p !== '.')
  if (parts.some((p) => p === '..')) return null
  let p = base
  let st: Stats | null = null
  for (const part of parts) {
    p = join(p, part)
    try {
      st = lstatSync(p)
    } catch {
      return null
    }
    if (st.isSymbolicLink()) return null
  }
  return st ? {path: p, st} : {path: base, st: lstatSync(base)}
}

/** Creates base/rel component by component, refusing any component that is a link or a file. */
export function ensureDirInside(base: string, rel: string): string {
  let p = base
  for (const part of rel.split('/').filter((x) => x !== '' && x !== '.')) {
    if (part === '..') throw new LabError('ci-path', `"${rel}" contains ".."`)
    p = join(p, part)
    let st: Stats | null = null
    try {
      st = lstatSync(p)
    } catch {}
    if (!st) mkdirSync(p, {mode: 0o755})
    else if (!st.isDirectory()) throw new LabError('ci-path', `${rel}: ${part} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'} in the workspace`, {hint: 'cache and artifact paths must be plain directories of the workspace'})
  }
  return p
}
