/**
 * Read-only views of the trees a build copies from and into, never followed through a
 * symlink on the host:
 * - ContextTree: the build context, a host directory. A path that leaves it (`..`, a
 *   symlink to an absolute path or out of it) is refused by name; what .dockerignore
 *   excludes does not exist for the build.
 * - ImageTree: an image's layers merged as overlayfs merges them (whiteouts, opaque
 *   directories), for COPY --from and for the directories a COPY writes into. Symlinks
 *   are resolved inside the image (an absolute target starts at the image's root, `..`
 *   stops there), as Docker resolves them in a container's root.
 * Every lookup walks a path one component at a time with lstat, so a symlink in a
 * parent is met, never followed by the kernel.
 */
import {lstatSync, readdirSync, readlinkSync, type Stats} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import type {StoredLayer} from '../images/store.js'
import {isWhiteout} from '../images/upper.js'

export interface Entry {
  /** the host path holding it (read it with O_NOFOLLOW) */
  abs: string
  st: Stats
}

export interface Tree {
  /** for messages: "the build context", "stage build" */
  what: string
  /** the entry at a clean relative path ("" is the root), not following a final symlink */
  entry(rel: string): Entry | null
  /** names in a directory (merged, ignored ones left out) */
  names(rel: string): string[]
  /** refuses a file that may not be read (a context's hard link to another user's file) */
  checkFile?(rel: string, st: Stats): void
  /** a path given by a user or a link, resolved inside the tree (symlinks followed; the final one if follow) */
  resolve(path: string, follow: boolean, base?: string): string
}

export function copyError(message: string, hint: string): LabError {
  return new LabError('build-copy', message, {hint, exitCode: 1})
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p)
  } catch {
    return null
  }
}

/** Joins and cleans a path to components; `..` above the root is reported with null. */
function clean(base: string[], path: string, clamp: boolean): string[] | null {
  const parts = path.startsWith('/') ? [] : [...base]
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue
    if (c === '..') {
      if (parts.length === 0 && clamp) continue
      if (parts.length === 0) return null
      parts.pop()
    } else parts.push(c)
  }
  return parts
}

abstract class BaseTree implements Tree {
  abstract what: string
  /** `..` stops at the root (an image's root) rather than leaving it (refused in a context) */
  protected abstract clamp: boolean
  abstract entry(rel: string): Entry | null
  abstract names(rel: string): string[]
  /** what to do with a path that leaves the root: refuse (context) or stop at the root (image) */
  protected abstract outside(path: string, via?: string): string[]

  resolve(path: string, follow: boolean, base = ''): string {
    if (path.includes('\0')) throw copyError(`a path holds a NUL byte`, 'remove it')
    let todo = clean(base ? base.split('/') : [], path, this.clamp) ?? this.outside(path)
    let done: string[] = []
    let hops = 0
    while (todo.length) {
      const c = todo.shift()!
      const rel = [...done, c].join('/')
      const e = this.entry(rel)
      if (e && e.st.isSymbolicLink() && (todo.length > 0 || follow)) {
        if (++hops > 40) throw copyError(`too many levels of symlinks at ${rel} in ${this.what}`, 'fix the links')
        const target = readlinkSync(e.abs)
        const next = clean(target.startsWith('/') ? [] : done, target, this.clamp) ?? this.outside(target, rel)
        if (target.startsWith('/')) this.absoluteLink(rel, target)
        todo = [...next, ...todo]
        done = []
        continue
      }
      done.push(c)
    }
    return done.join('/')
  }

  protected absoluteLink(_rel: string, _target: string): void {}
}

/** The build context: a host directory, with .dockerignore applied. */
export class ContextTree extends BaseTree {
  what = 'the build context'
  protected clamp = false
  private readonly owner: number
  constructor(readonly root: string, readonly ignored: (rel: string) => boolean) {
    super()
    this.owner = lstatSync(root).uid
  }

  /**
   * A hard link is a second name of a file that may live anywhere on the file system: a
   * context of one user holding a link to a file of another (root's /etc/shadow) would
   * otherwise be read with the builder's rights. A file with more than one link is
   * read only when it belongs to the context directory's owner.
   */
  checkFile(rel: string, st: Stats): void {
    if (st.nlink > 1 && st.uid !== this.owner) throw copyError(`${rel} in the build context is a hard link to a file of another user (uid ${st.uid})`, 'copy the file into the context instead of linking it')
  }

  entry(rel: string): Entry | null {
    if (rel === '') return {abs: this.root, st: lstatSync(this.root)}
    if (this.ignored(rel)) return null
    const parts = rel.split('/')
    let abs = this.root
    for (let i = 0; i < parts.length; i++) {
      abs = join(abs, parts[i])
      const st = lstatOrNull(abs)
      if (!st) return null
      if (i < parts.length - 1 && !st.isDirectory()) return null
      if (i === parts.length - 1) return {abs, st}
    }
    return null
  }

  names(rel: string): string[] {
    const e = this.entry(rel)
    if (!e || !e.st.isDirectory()) return []
    return readdirSync(e.abs).filter((n) => !this.ignored(rel ? `${rel}/${n}` : n)).sort()
  }

  protected outside(path: string, via?: string): string[] {
    if (via) throw copyError(`the symlink ${via} points out of the build context (to ${path})`, 'a build reads only files inside its context: copy the file into the context instead of linking to it')
    throw copyError(`${path} is outside the build context`, 'a build reads only files inside its context: move the file into the context directory, or build from a parent directory')
  }

  protected override absoluteLink(rel: string, target: string): void {
    throw copyError(`the symlink ${rel} points out of the build context (to ${target})`, 'a build reads only files inside its context: copy the file into the context instead of linking to it')
  }
}

/** An image's layers, merged. */
export class ImageTree extends BaseTree {
  private readonly top: StoredLayer[]
  protected clamp = true
  constructor(readonly what: string, layers: StoredLayer[]) {
    super()
    this.top = [...layers].reverse()
  }

  private inLayer(l: StoredLayer, rel: string): Entry | null {
    let abs = l.path
    const parts = rel.split('/')
    for (let i = 0; i < parts.length; i++) {
      abs = join(abs, parts[i])
      const st = lstatOrNull(abs)
      if (!st || isWhiteout(st)) return null
      if (i < parts.length - 1 && !st.isDirectory()) return null
      if (i === parts.length - 1) return {abs, st}
    }
    return null
  }

  /** whether the layer deletes the path or one of its parents */
  private hidden(l: StoredLayer, rel: string): boolean {
    if (l.whiteouts.length === 0) return false
    const parts = rel.split('/')
    for (let i = 1; i <= parts.length; i++) if (l.whiteouts.includes(parts.slice(0, i).join('/'))) return true
    return false
  }

  private opaqueAbove(l: StoredLayer, rel: string): boolean {
    const parts = rel.split('/')
    for (let i = parts.length - 1; i >= 0; i--) if (l.opaques.includes(parts.slice(0, i).join('/'))) return true
    return false
  }

  entry(rel: string): Entry | null {
    if (rel === '') {
      for (const l of this.top) return {abs: l.path, st: lstatSync(l.path)}
      return null
    }
    for (const l of this.top) {
      if (this.hidden(l, rel)) return null
      const e = this.inLayer(l, rel)
      if (e) return e
      if (this.opaqueAbove(l, rel)) return null
    }
    return null
  }

  names(rel: string): string[] {
    const seen = new Set<string>()
    const gone = new Set<string>()
    for (const l of this.top) {
      if (rel !== '' && this.hidden(l, rel)) break
      const e = rel === '' ? {abs: l.path, st: lstatSync(l.path)} : this.inLayer(l, rel)
      // a layer's whiteouts are recorded, and on disk only once it was used as a root
      for (const w of l.whiteouts) {
        const slash = w.lastIndexOf('/')
        if ((slash < 0 ? '' : w.slice(0, slash)) === rel && !seen.has(w.slice(slash + 1))) gone.add(w.slice(slash + 1))
      }
      if (e) {
        if (!e.st.isDirectory()) break
        for (const n of readdirSync(e.abs)) {
          const p = rel ? `${rel}/${n}` : n
          if (l.whiteouts.includes(p)) gone.add(n)
          else if (!gone.has(n) && !isWhiteout(lstatSync(join(e.abs, n)))) seen.add(n)
        }
        if (l.opaques.includes(rel)) break
      } else if (rel !== '' && this.opaqueAbove(l, rel)) break
    }
    return [...seen].sort()
  }

  protected outside(): string[] {
    return []
  }
}

/** An empty image (FROM scratch). */
export class EmptyTree extends ImageTree {
  constructor() {
    super('scratch', [])
  }
}
