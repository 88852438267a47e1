/**
 * COPY and ADD: what they read (planned first, so the cache key can hash it before
 * anything is written) and the new layer they make.
 *
 * As Docker: a directory source copies its contents; several sources (or a glob that
 * matches several) need a destination ending in /; a relative destination is below
 * WORKDIR; new files and directories belong to 0:0 unless --chown (names are read from
 * the image's own /etc/passwd and /etc/group); --chmod sets the mode of what is copied;
 * ADD of a local tar archive (plain or gzip) unpacks it, with the store's checks for
 * untrusted layers; ADD of a URL is refused (builds are offline).
 *
 * Directories of the image the layer writes into are repeated in the layer with their
 * own mode and owner (a layer's directory replaces the attributes of the one below).
 * Sources are opened with O_NOFOLLOW and read through tree.ts, so a symlink of the
 * context is copied as a link, never followed out of it; devices and fifos are refused.
 */
import {createHash} from 'node:crypto'
import {chmodSync, closeSync, constants, fstatSync, lchownSync, lutimesSync, mkdirSync, openSync, readlinkSync, readSync, renameSync, rmSync, symlinkSync, utimesSync, writeSync, lstatSync, readdirSync} from 'node:fs'
import {join, posix} from 'node:path'

import {unpackLayer} from '../images/layer.js'
import type {LayerLimits} from '../images/limits.js'
import type {ImageTree, Tree} from './tree.js'
import {copyError} from './tree.js'

export interface Owner {
  uid: number
  gid: number
}

interface Item {
  /** where it goes, relative to the image root */
  dest: string
  kind: 'file' | 'dir' | 'link' | 'inline' | 'tar'
  abs?: string
  mode: number
  size: number
  mtime: number
  link?: string
  data?: string
}

export interface CopyPlan {
  items: Item[]
  /** a digest of what is read: names, types, modes and contents (not times, as Docker's cache) */
  hash: string
  owner?: Owner
  chmod?: number
}

export interface CopySource {
  tree?: Tree
  path?: string
  inline?: {name: string; body: string}
}

const isRoot = () => process.getuid?.() === 0

function hasGlob(s: string): boolean {
  return /[*?[]/.test(s)
}

function globRe(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) re += '\\['
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`
        i = end
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i]
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/** The clean tree paths a source names: a glob matched one component at a time. */
function expandSource(tree: Tree, path: string): string[] {
  if (!hasGlob(path)) return [tree.resolve(path, true)]
  let cur = ['']
  for (const comp of path.split('/').filter((c) => c !== '' && c !== '.')) {
    const next: string[] = []
    for (const base of cur) {
      if (comp === '..' || !hasGlob(comp)) {
        next.push(tree.resolve(comp, false, base))
        continue
      }
      const dir = tree.resolve(base, true)
      const re = globRe(comp)
      for (const n of tree.names(dir)) if (re.test(n)) next.push(dir ? `${dir}/${n}` : n)
    }
    cur = next
  }
  return cur.map((p) => tree.resolve(p, true))
}

function isTarArchive(abs: string): boolean {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const b = Buffer.alloc(512)
    const n = readSync(fd, b, 0, 512, 0)
    if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return true
    return n >= 262 && b.toString('latin1', 257, 262) === 'ustar'
  } finally {
    closeSync(fd)
  }
}

function fileHash(abs: string): string {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const h = createHash('sha256')
    const buf = Buffer.allocUnsafe(1 << 20)
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n))
    return h.digest('hex')
  } finally {
    closeSync(fd)
  }
}

/**
 * What a COPY/ADD reads and where it goes. `dest` is the destination as written,
 * `workdir` the stage's, `target` the image it writes into.
 */
export function planCopy(o: {sources: CopySource[]; dest: string; workdir: string; target: ImageTree; add: boolean; owner?: Owner; chmod?: number; instruction: string; limits: LayerLimits}): CopyPlan {
  const {instruction} = o
  let destPath = o.dest.startsWith('/') ? o.dest : posix.join(o.workdir || '/', o.dest)
  const destIsDir = o.dest.endsWith('/') || o.dest === '.' || o.dest.endsWith('/.')
  destPath = posix.normalize(destPath)
  const resolvedDest = o.target.resolve(destPath, true)
  const destEntry = resolvedDest === '' ? null : o.target.entry(resolvedDest)
  const existingDir = resolvedDest === '' || (destEntry?.st.isDirectory() ?? false)

  const matched: Array<{tree: Tree; rel: string} | {inline: {name: string; body: string}}> = []
  for (const s of o.sources) {
    if (s.inline) {
      matched.push({inline: s.inline})
      continue
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s.path!)) {
      if (o.add) throw copyError(`${instruction}: ADD of a URL (${s.path}) needs the network, which builds do not use`, 'download the file into the build context and ADD or COPY it from there')
      throw copyError(`${instruction}: COPY cannot fetch ${s.path}`, 'download the file into the build context and COPY it')
    }
    const rels = expandSource(s.tree!, s.path!)
    const found = rels.filter((r) => s.tree!.entry(r) !== null)
    if (found.length === 0) throw copyError(`${instruction}: ${s.path} was not found in ${s.tree!.what}`, s.tree!.what === 'the build context' ? 'check the path is relative to the context directory and not excluded by .dockerignore' : 'check the path exists in that stage')
    for (const rel of found) matched.push({tree: s.tree!, rel})
  }
  if (matched.length > 1 && !destIsDir && !existingDir) throw copyError(`${instruction}: several sources need a destination directory ending in /`, `write the destination as ${o.dest}/`)

  const items: Item[] = []
  const h = createHash('sha256')
  let bytes = 0
  const count = (size: number) => {
    bytes += size
    if (items.length > o.limits.maxEntries || bytes > o.limits.maxBytes) throw copyError(`${instruction}: copies more than the layer limit (${o.limits.maxEntries} entries, ${o.limits.maxBytes} bytes)`, 'copy less, or raise LAB_IMAGE_MAX_LAYER_SIZE / LAB_IMAGE_MAX_LAYER_FILES')
  }
  const push = (it: Item, digest: string) => {
    items.push(it)
    count(it.size)
    h.update(`${it.kind} ${it.dest} ${it.mode.toString(8)} ${it.link ?? ''} ${digest}\n`)
  }
  const destFor = (name: string): string => (destIsDir || existingDir ? posix.join(resolvedDest, name) : resolvedDest)

  const walk = (tree: Tree, rel: string, dest: string) => {
    const e = tree.entry(rel)!
    const st = e.st
    const mode = st.mode & 0o7777
    const mtime = st.mtimeMs / 1000
    if (st.isDirectory()) {
      if (dest !== '') push({dest, kind: 'dir', mode, size: 0, mtime}, '')
      for (const n of tree.names(rel)) walk(tree, rel ? `${rel}/${n}` : n, dest ? `${dest}/${n}` : n)
    } else if (st.isSymbolicLink()) {
      push({dest, kind: 'link', mode: 0o777, size: 0, mtime, link: readlinkSync(e.abs)}, '')
    } else if (st.isFile()) {
      tree.checkFile?.(rel, st)
      push({dest, kind: 'file', abs: e.abs, mode, size: st.size, mtime}, fileHash(e.abs))
    } else if (st.isSocket()) {
      // sockets are left out, as Docker leaves them
    } else {
      throw copyError(`${instruction}: ${rel} in ${tree.what} is a device or fifo`, 'a build copies files, directories and symlinks only: remove it from the context or list it in .dockerignore')
    }
  }

  for (const m of matched) {
    if ('inline' in m) {
      push({dest: destFor(m.inline.name), kind: 'inline', mode: 0o644, size: Buffer.byteLength(m.inline.body), mtime: Date.now() / 1000, data: m.inline.body}, createHash('sha256').update(m.inline.body).digest('hex'))
      continue
    }
    const e = m.tree.entry(m.rel)!
    if (e.st.isDirectory()) walk(m.tree, m.rel, resolvedDest)
    else if (o.add && e.st.isFile() && isTarArchive(e.abs)) {
      m.tree.checkFile?.(m.rel, e.st)
      push({dest: resolvedDest, kind: 'tar', abs: e.abs, mode: 0o755, size: e.st.size, mtime: e.st.mtimeMs / 1000}, fileHash(e.abs))
    } else walk(m.tree, m.rel, destFor(posix.basename(m.rel) || m.rel))
  }
  h.update(`owner ${o.owner ? `${o.owner.uid}:${o.owner.gid}` : ''} chmod ${o.chmod?.toString(8) ?? ''}\n`)
  return {items, hash: h.digest('hex'), owner: o.owner, chmod: o.chmod}
}

/** Writes a planned copy into an empty layer directory. */
export async function applyCopy(plan: CopyPlan, layerDir: string, target: ImageTree, scratch: () => string, limits: LayerLimits): Promise<void> {
  const owner = plan.owner ?? {uid: 0, gid: 0}
  const dirTimes: Array<[string, number]> = []
  const own = (abs: string, o: Owner) => {
    if (isRoot()) lchownSync(abs, o.uid, o.gid)
  }
  /** the parents of a path in the layer: the image's directories as they are, new ones as the copy's */
  const parents = (rel: string) => {
    const parts = rel.split('/')
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/')
      const abs = join(layerDir, p)
      let have
      try {
        have = lstatSync(abs)
      } catch {
        have = null
      }
      if (have) {
        if (!have.isDirectory()) throw copyError(`cannot copy to /${rel}: /${p} is not a directory`, 'choose another destination')
        continue
      }
      const e = target.entry(p)
      if (e && !e.st.isDirectory()) throw copyError(`cannot copy to /${rel}: /${p} is not a directory in the image`, 'choose another destination')
      mkdirSync(abs, {mode: 0o755})
      if (e) {
        chmodSync(abs, e.st.mode & 0o7777)
        own(abs, {uid: e.st.uid, gid: e.st.gid})
        dirTimes.push([abs, e.st.mtimeMs / 1000])
      } else {
        chmodSync(abs, 0o755)
        own(abs, owner)
      }
    }
  }
  for (const it of plan.items) {
    const abs = join(layerDir, it.dest)
    if (it.dest === '') continue
    parents(it.dest)
    const mode = plan.chmod ?? it.mode
    if (it.kind === 'dir') {
      try {
        mkdirSync(abs, {mode: 0o700})
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !lstatSync(abs).isDirectory()) throw copyError(`cannot copy the directory to /${it.dest}: a file is there`, 'choose another destination')
      }
      chmodSync(abs, mode)
      own(abs, owner)
      dirTimes.push([abs, it.mtime])
    } else if (it.kind === 'link') {
      removeIfFile(abs)
      symlinkSync(it.link!, abs)
      own(abs, owner)
      lutimesSync(abs, it.mtime, it.mtime)
    } else if (it.kind === 'file' || it.kind === 'inline') {
      removeIfFile(abs)
      const out = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
      try {
        if (it.kind === 'inline') writeSync(out, it.data!)
        else copyFd(it.abs!, out, it.size)
      } finally {
        closeSync(out)
      }
      chmodSync(abs, mode)
      own(abs, owner)
      utimesSync(abs, it.mtime, it.mtime)
    } else if (it.kind === 'tar') {
      const tmp = scratch()
      try {
        await unpackLayer(it.abs!, tmp, limits, `the archive ${it.dest || '/'}`)
        mkdirSync(abs, {recursive: true, mode: 0o755})
        mergeInto(join(tmp, 'root'), abs)
      } finally {
        rmSync(tmp, {recursive: true, force: true})
      }
    }
  }
  // a directory's time as its source had it, once nothing more is written into it
  for (const [abs, t] of dirTimes.reverse()) utimesSync(abs, t, t)
}

function removeIfFile(abs: string): void {
  try {
    const st = lstatSync(abs)
    if (st.isDirectory()) throw copyError(`cannot copy a file onto the directory ${abs}`, 'give a destination ending in /')
    // a later source of the same COPY replaces an earlier one, as Docker does
    rmSync(abs, {force: true})
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}

function copyFd(src: string, out: number, size: number): void {
  const fd = openSync(src, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    if (!fstatSync(fd).isFile()) throw copyError(`${src} changed while it was copied`, 'build again')
    const buf = Buffer.allocUnsafe(1 << 20)
    let left = size
    for (let n; left > 0 && (n = readSync(fd, buf, 0, Math.min(buf.length, left), null)) > 0; left -= n) writeSync(out, buf, 0, n)
  } finally {
    closeSync(fd)
  }
}

/** Moves an unpacked archive's entries into place: directories merged, the rest renamed. */
function mergeInto(from: string, to: string): void {
  for (const n of readdirSync(from)) {
    const src = join(from, n)
    const dst = join(to, n)
    let have
    try {
      have = lstatSync(dst)
    } catch {
      have = null
    }
    if (have?.isDirectory() && lstatSync(src).isDirectory()) mergeInto(src, dst)
    else renameSync(src, dst)
  }
}
