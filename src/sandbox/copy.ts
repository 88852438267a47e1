/**
 * `lab sandbox cp`: the host side of the copy stream (the sandbox side is
 * src/sandbox-native/copy.c, which resolves every path inside the sandbox's own root).
 *
 * The stream is one header line per entry, "KIND MODE SIZE MTIME PATH", then SIZE bytes
 * for a file ("f") or the target of a symlink ("l"); "d" is a directory; "end" closes it.
 * MTIME (seconds) is kept on the copy, as docker cp keeps it. PATH is relative and
 * percent-encoded; its first component is the copied top entry. With
 * cp -a (archive) each header ends in " UID:GID", the owner to keep: docker cp -a's
 * rule; without it the receiving side owns the copy.
 *
 * Out of the sandbox, nothing the stream says is trusted: every entry is written below
 * a fresh staging directory, only into directories this stream created (never through
 * a symlink it made), with O_NOFOLLOW|O_EXCL; links that would point out of the copy
 * are refused; and only a complete stream is moved into place, so a failed copy
 * leaves the destination as it was.
 */

import {closeSync, constants as fsc, existsSync, fchownSync, futimesSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, lutimesSync, writeSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import type {Readable, Writable} from 'node:stream'

import {LabError, usageError} from '../errors.js'
import {BLOCK, decodeHeader, encodeHeader, isZeroBlock, padding, parsePax, TarFormatError, TRAILER, type TarEntry} from './tar.js'
import {eventReader, helperSpawnError, startHelper} from './helper.js'
import type {HelperError} from './result.js'

export interface CopyEnd {
  /** the sandbox's name or id, null for the host */
  sandbox: string | null
  path: string
}

/** Docker's rule: NAME:PATH names a sandbox; a local path with a colon starts with / or ./ */
export function parseCopyArg(arg: string): CopyEnd {
  if (arg === '') throw usageError('empty path', 'use SANDBOX:PATH or a local path')
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(.*)$/.exec(arg)
  if (!m || arg.startsWith('/') || arg.startsWith('.')) return {sandbox: null, path: arg}
  if (m[2] === '') throw usageError(`no path in "${arg}"`, `name a path inside the sandbox, e.g. ${m[1]}:/etc/hostname`)
  return {sandbox: m[1], path: m[2]}
}

/** The sandbox side's path: absolute and normalised ("..", "." resolved lexically; the helper resolves links inside the root). */
export function sandboxPath(p: string): string {
  if (p.includes('\0')) throw usageError('a path cannot contain a NUL byte', 'check the path')
  const abs = resolve('/', p)
  return abs
}

const SAFE = /^[A-Za-z0-9._\-/+,=:@]$/
function encodePath(p: string): string {
  let out = ''
  for (const b of Buffer.from(p, 'utf8')) {
    const ch = String.fromCharCode(b)
    out += b < 0x80 && SAFE.test(ch) ? ch : '%' + b.toString(16).padStart(2, '0')
  }
  return out
}

function decodePath(p: string): string {
  return Buffer.from(p.replace(/%([0-9a-fA-F]{2})|[^%]+/g, (m, h) => (h ? String.fromCharCode(parseInt(h, 16)) : m)), 'latin1').toString('utf8')
}

/** Plain relative components only. */
function safeRel(rel: string): boolean {
  return rel !== '' && !rel.startsWith('/') && rel.split('/').every((c) => c !== '' && c !== '.' && c !== '..' && !c.includes('\0'))
}

/** A link at depth d may climb d levels: its target stays inside what is copied. */
function linkStaysInside(target: string, depth: number): boolean {
  if (target === '' || target.startsWith('/')) return false
  let level = depth
  for (const c of target.split('/')) {
    if (c === '..') {
      if (--level < 0) return false
    } else if (c !== '' && c !== '.') level++
  }
  return true
}

export interface CopyResult {
  direction: 'out' | 'in'
  sandbox: string
  source: string
  destination: string
  files: number
  bytes: number
}

/** Runs the helper in copy mode; io gets its stdin (in) or stdout (out). */
export function runCopyHelper(plan: string, direction: 'out' | 'in', io: (stream: Readable | Writable) => Promise<void>): Promise<{error: HelperError | null; files: number; bytes: number}> {
  const {child, ctl} = startHelper(plan, [direction === 'in' ? 'pipe' : 'ignore', direction === 'out' ? 'pipe' : 'ignore', 'ignore'])
  const out = {error: null as HelperError | null, files: 0, bytes: 0}
  ctl.setEncoding('utf8')
  ctl.on('data', eventReader((ev) => {
    if (ev.event === 'error') out.error = ev as unknown as HelperError
    else if (ev.event === 'copied') Object.assign(out, {files: ev.files, bytes: ev.bytes})
  }))
  const stream = (direction === 'in' ? child.stdin : child.stdout)!
  stream.on('error', () => {})
  let ioError: unknown = null
  let safety: NodeJS.Timeout | null = null
  const work = io(stream).catch((e) => {
    ioError = e
    // Into the sandbox, the helper gets an end of input and stops on its own after what
    // it was sent: members before a refused one are written, as docker cp's stream does
    // (a kill could lose them). Out of it, nobody reads any more: stop the helper now.
    if (direction === 'in') {
      ;(stream as Writable).end()
      safety = setTimeout(() => child.kill('SIGKILL'), 30_000)
      safety.unref()
    } else child.kill('SIGKILL')
  })
  return new Promise((res, rej) => {
    child.on('error', (e) => rej(helperSpawnError(e)))
    child.on('close', async () => {
      if (safety) clearTimeout(safety)
      await work
      // A refusal on the host side (a device, a link out, anything the sender found
      // wrong before the helper saw it) is the cause; otherwise the helper's own reason
      // comes first: a broken stream is usually its consequence.
      const hostSide = ioError instanceof LabError && (ioError.code === 'cp-refused' || direction === 'in')
      if (ioError && (!out.error || hostSide)) return rej(ioError)
      res(out)
    })
  })
}

// ------------------------------------------------------------------ host → stream (in)

/** Writes the host path src as a stream (the top entry named by its basename); with
 * followLink a symlink at src itself is followed (docker cp -L), nothing below it; with
 * archive each entry carries its owner (docker cp -a). */
export async function sendHost(src: string, w: Writable, opts: {followLink?: boolean; archive?: boolean} = {}): Promise<void> {
  const write = (data: string | Buffer) =>
    new Promise<void>((res, rej) => {
      if (w.write(data)) return res()
      w.once('drain', res)
      w.once('error', rej)
    })
  const entry = async (path: string, rel: string, depth: number): Promise<void> => {
    const st = lstatSync(path)
    const owner = opts.archive ? ` ${st.uid}:${st.gid}` : ''
    if (st.isSymbolicLink()) {
      const target = readlinkSync(path)
      if (!linkStaysInside(target, depth)) throw new LabError('cp-refused', `cannot copy ${path}: a symlink pointing outside what is copied (-> ${target})`, {hint: depth === 0 ? 'add -L to copy what it points to' : 'copy what it points to instead'})
      const t = Buffer.from(target)
      await write(`l 0 ${t.length} ${secs(st.mtimeMs)} ${encodePath(rel)}${owner}\n`)
      return write(t)
    }
    if (st.isDirectory()) {
      await write(`d ${(st.mode & 0o777).toString(8)} 0 ${secs(st.mtimeMs)} ${encodePath(rel)}${owner}\n`)
      for (const name of readdirSync(path).sort()) await entry(join(path, name), `${rel}/${name}`, depth + 1)
      return
    }
    if (!st.isFile()) throw new LabError('cp-refused', `cannot copy ${path}: it is a device, fifo or socket`, {hint: 'only regular files, directories and symlinks are copied'})
    const fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK)
    try {
      let left = statSync(path).size
      await write(`f ${(st.mode & 0o777).toString(8)} ${left} ${secs(st.mtimeMs)} ${encodePath(rel)}${owner}\n`)
      const buf = Buffer.alloc(65536)
      while (left > 0) {
        let n = readSync(fd, buf, 0, Math.min(buf.length, left), null)
        if (n === 0) {
          buf.fill(0) // it shrank meanwhile: keep the framing
          n = Math.min(buf.length, left)
        }
        await write(Buffer.from(buf.subarray(0, n)))
        left -= n
      }
    } finally {
      closeSync(fd)
    }
  }
  const abs = resolve(src)
  if (!existsSync(abs) && !isLink(abs)) throw usageError(`no such file or directory: ${src}`, 'check the local path')
  const top = basename(abs)
  if (top === '' || top === '.' || top === '..') throw usageError(`cannot copy "${src}"`, 'name a file or directory')
  let from = abs
  if (opts.followLink && isLink(abs)) {
    try {
      from = realpathSync(abs)
    } catch {
      throw usageError(`${src} is a symlink to nothing (${readlinkSync(abs)})`, 'leave out -L to copy the link itself, or fix its target')
    }
  }
  await entry(from, top, 0)
  await write('end\n')
  w.end()
}

/** Whole seconds since the epoch, the stream's times. */
function secs(ms: number): number {
  return Math.floor(ms / 1000)
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}

// ------------------------------------------------------------------ stream → host (out)

/** Reads the helper's stream: header lines and the bytes that follow them. */
class StreamReader {
  private buf: Buffer = Buffer.alloc(0)
  private ended = false
  private waiters: Array<() => void> = []
  constructor(private r: Readable, private endedEarly = (): LabError => new LabError('cp-stream', 'the copy stream ended early', {hint: 'see the error above; run `lab doctor`'})) {
    r.on('data', (c: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c
      if (this.buf.length > 1 << 20) r.pause() // back-pressure: the helper waits while we write
      this.waiters.splice(0).forEach((f) => f())
    })
    r.on('end', () => {
      this.ended = true
      this.waiters.splice(0).forEach((f) => f())
    })
  }

  private async more(): Promise<void> {
    if (this.ended) throw this.endedEarly()
    const wait = new Promise<void>((res) => this.waiters.push(res))
    this.r.resume()
    await wait
  }

  async line(): Promise<string> {
    for (;;) {
      const nl = this.buf.indexOf(10)
      if (nl >= 0) {
        const l = this.buf.subarray(0, nl).toString('latin1')
        this.buf = this.buf.subarray(nl + 1)
        return l
      }
      if (this.buf.length > 16384) throw new LabError('cp-stream', 'malformed copy stream (header too long)')
      await this.more()
    }
  }

  /** Exactly n bytes; null when the input ended before the first of them. */
  async exact(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (this.ended && this.buf.length === 0) return null
      await this.more()
    }
    const out = Buffer.from(this.buf.subarray(0, n))
    this.buf = this.buf.subarray(n)
    return out
  }

  async bytes(n: number, sink: (b: Buffer) => void | Promise<void>): Promise<void> {
    while (n > 0) {
      if (!this.buf.length) await this.more()
      const k = Math.min(n, this.buf.length)
      const chunk = this.buf.subarray(0, k)
      this.buf = this.buf.subarray(k)
      n -= k
      await sink(chunk)
    }
  }
}

export interface StreamEntry {
  kind: 'd' | 'f' | 'l'
  mode: number
  size: number
  /** seconds since the epoch */
  mtime: number
  /** relative, its first component the top entry */
  rel: string
  owner: {uid: number; gid: number} | null
  /** a symlink's target, checked to stay inside what is copied */
  target?: string
}

/**
 * Reads a whole copy stream, checking its structure: plain relative paths, one top
 * entry, every other entry inside a directory the stream itself made earlier (never
 * through a symlink it made), links that stay inside. onEntry consumes a file's bytes
 * with data(). Returns the top entry's name.
 */
async function readCopyStream(r: Readable, onEntry: (e: StreamEntry, data: (sink: (b: Buffer) => void | Promise<void>) => Promise<void>) => Promise<void>): Promise<string> {
  const rd = new StreamReader(r)
  const dirs = new Set<string>()
  let top: string | null = null
  for (;;) {
    const l = await rd.line()
    if (l === 'end') break
    const m = /^([dfl]) ([0-7]{1,4}) (\d{1,15}) (-?\d{1,12}) (\S+)(?: (\d{1,10}):(\d{1,10}))?$/.exec(l)
    const rel = m ? decodePath(m[5]) : ''
    if (!m || !safeRel(rel)) throw new LabError('cp-stream', 'malformed copy stream entry')
    const parts = rel.split('/')
    if (top === null) {
      if (parts.length !== 1) throw new LabError('cp-stream', 'malformed copy stream (no top entry)')
      top = parts[0]
    } else if (parts[0] !== top || parts.length < 2 || !dirs.has(parts.slice(0, -1).join('/'))) {
      throw new LabError('cp-stream', `malformed copy stream entry ${rel}`)
    }
    const e: StreamEntry = {kind: m[1] as StreamEntry['kind'], mode: parseInt(m[2], 8) & 0o777, size: Number(m[3]), mtime: Number(m[4]), rel, owner: m[6] !== undefined ? {uid: Number(m[6]), gid: Number(m[7])} : null}
    if (e.kind === 'd') dirs.add(rel)
    if (e.kind === 'l') {
      const chunks: Buffer[] = []
      if (e.size > 4096) throw new LabError('cp-stream', 'malformed copy stream (symlink target too long)')
      await rd.bytes(e.size, (b) => void chunks.push(Buffer.from(b)))
      e.target = Buffer.concat(chunks).toString('utf8')
      if (!linkStaysInside(e.target, parts.length - 1)) throw new LabError('cp-refused', `refusing ${rel}: a symlink pointing outside what is copied (-> ${e.target})`)
    }
    let consumed = e.kind !== 'f'
    await onEntry(e, async (sink) => {
      consumed = true
      await rd.bytes(e.size, sink)
    })
    if (!consumed) await rd.bytes(e.size, () => {})
  }
  if (top === null) throw new LabError('cp-stream', 'the copy stream was empty')
  return top
}

/** Reads a stream into a staging directory; returns the top entry's path in it. With
 * archive, entries get the owners the stream names (the sandbox's ids, as docker cp -a). */
export async function receiveHost(r: Readable, staging: string, opts: {archive?: boolean} = {}): Promise<string> {
  // directories get their times last, deepest first: what goes into them changes them
  const dirTimes: Array<[string, number]> = []
  const top = await readCopyStream(r, async (e, data) => {
    const dest = join(staging, e.rel)
    const owner = opts.archive && e.owner ? {...e.owner, rel: e.rel} : null
    if (e.kind === 'd') {
      dirTimes.push([dest, e.mtime])
      mkdirSync(dest, {mode: e.mode | 0o700})
      if (owner) keepOwner(() => lchownSync(dest, owner.uid, owner.gid), owner)
    } else if (e.kind === 'l') {
      symlinkSync(e.target!, dest)
      lutimesSync(dest, e.mtime, e.mtime)
      if (owner) keepOwner(() => lchownSync(dest, owner.uid, owner.gid), owner)
    } else {
      const fd = openSync(dest, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, e.mode)
      try {
        await data((b) => void writeSync(fd, b))
        futimesSync(fd, e.mtime, e.mtime)
        if (owner) keepOwner(() => fchownSync(fd, owner.uid, owner.gid), owner)
      } finally {
        closeSync(fd)
      }
    }
  })
  for (let i = dirTimes.length - 1; i >= 0; i--) lutimesSync(dirTimes[i][0], dirTimes[i][1], dirTimes[i][1]) // never through a link
  return join(staging, top)
}

/** cp -a out: gives an entry the owner the stream names; only root may give files away. */
function keepOwner(chown: () => void, o: {uid: number; gid: number; rel: string}): void {
  try {
    chown()
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EPERM') throw new LabError('cp-refused', `cannot give ${o.rel} its owner ${o.uid}:${o.gid} on the host: only root can`, {hint: 'leave out -a, or run as root'})
    throw e
  }
}

/**
 * Moves a received entry to its place: into an existing directory under its own name,
 * or as dest itself (docker cp's rule); directories merge, files replace (rename: atomic).
 */
export function placeReceived(entry: string, dest: string): string {
  let target = dest
  const destSt = safeStat(dest)
  if (destSt?.isDirectory()) target = join(dest, basename(entry))
  else if (dest.endsWith('/')) throw usageError(`destination directory ${dest} does not exist`, 'create it first, or leave out the trailing /')
  else if (!safeStat(dirname(resolve(dest)))?.isDirectory()) throw usageError(`no such directory: ${dirname(dest)}`, 'the destination\'s parent directory must exist')
  move(entry, target)
  return target
}

function safeStat(p: string) {
  try {
    return statSync(p)
  } catch {
    return null
  }
}

function move(from: string, to: string): void {
  const a = lstatSync(from)
  let b = null
  try {
    b = lstatSync(to)
  } catch {}
  if (a.isDirectory() && b?.isDirectory()) {
    for (const name of readdirSync(from)) move(join(from, name), join(to, name))
    return
  }
  if (b?.isDirectory()) throw new LabError('cp-refused', `cannot overwrite directory ${to} with a non-directory`, {hint: 'remove it first or copy elsewhere'})
  if (a.isDirectory() && b) throw new LabError('cp-refused', `cannot overwrite non-directory ${to} with a directory`, {hint: 'remove it first or copy elsewhere'})
  renameSync(from, to)
}

/** A staging directory beside dest (same filesystem: the final rename is atomic). */
export function stagingFor(dest: string): string {
  const d = safeStat(dest)?.isDirectory() ? resolve(dest) : dirname(resolve(dest))
  if (!safeStat(d)?.isDirectory()) throw usageError(`no such directory: ${d}`, 'the destination\'s parent directory must exist')
  return mkdtempSync(join(d, '.lab-cp-'))
}

export function removeStaging(dir: string): void {
  rmSync(dir, {recursive: true, force: true})
}

// ------------------------------------------------------------------ tar archives (cp -)

function writer(w: Writable): (data: Buffer | string) => Promise<void> {
  return (data) =>
    new Promise<void>((res, rej) => {
      if (w.write(data)) return res()
      w.once('drain', res)
      w.once('error', rej)
    })
}

/**
 * `cp SANDBOX:PATH -`: the helper's stream as a tar archive on w, entries checked as for
 * a copy to the host. Owners are the sandbox's ids with archive, else 0:0 (the sandbox's
 * root).
 */
export async function streamToTar(r: Readable, w: Writable, opts: {archive?: boolean} = {}): Promise<void> {
  const write = writer(w)
  await readCopyStream(r, async (e, data) => {
    const owner = opts.archive && e.owner ? e.owner : {uid: 0, gid: 0}
    const type = e.kind === 'd' ? 'dir' : e.kind === 'l' ? 'symlink' : 'file'
    await write(encodeHeader({path: e.rel, type, mode: e.kind === 'l' ? 0o777 : e.mode, ...owner, size: e.kind === 'f' ? e.size : 0, mtime: e.mtime, linkpath: e.target}))
    if (e.kind !== 'f') return
    await data((b) => write(Buffer.from(b)))
    await write(padding(e.size))
  })
  await write(TRAILER)
}

const MAX_PAX = 1 << 20

/** An archive's member name as a plain relative path; '' for the archive's own "./". */
function memberPath(name: string): string {
  if (name.startsWith('/')) throw new LabError('cp-refused', `refusing the archive: it names an absolute path (${name})`, {hint: 'create it with paths relative to a directory: tar -C DIR -c .'})
  const parts = name.split('/').filter((c) => c !== '' && c !== '.')
  if (parts.includes('..')) throw new LabError('cp-refused', `refusing the archive: ${name} climbs out with ".."`, {hint: 'create it with paths relative to a directory: tar -C DIR -c .'})
  if (name.includes('\0')) throw new LabError('cp-refused', 'refusing the archive: a name holds a NUL byte')
  return parts.join('/')
}

/**
 * `cp - SANDBOX:DIR`: a tar archive from r (stdin) as the helper's stream on w. Nothing
 * in it is trusted: names are plain relative paths (a leading "./" is dropped; absolute
 * names and ".." are refused), missing parent directories are made, symlinks must stay
 * inside their top entry, and hard links, devices, fifos and sparse or multi-volume
 * entries are refused. With archive the members' owners travel (ids inside the sandbox).
 * It streams, as docker cp does: members before a refused one have been copied.
 */
export async function tarToStream(r: Readable, w: Writable, opts: {archive?: boolean} = {}): Promise<void> {
  let headers = 0
  const rd = new StreamReader(r, () => headers === 0
    ? new LabError('cp-refused', 'not a tar archive: the input is shorter than one header', {hint: 'give a tar archive on stdin, e.g. tar -C DIR -c . | lab sandbox cp - SANDBOX:DIR'})
    : new LabError('cp-refused', 'the tar archive ends in the middle of an entry', {hint: 'check that the archive is complete (tar -t < FILE)'}))
  const write = writer(w)
  const dirs = new Set<string>()
  const now = secs(Date.now()) // parents the archive does not list are made now
  let pax: Record<string, string> = {}
  let longName: string | null = null
  let longLink: string | null = null
  const body = async (size: number, cap: number, what: string): Promise<Buffer> => {
    if (size > cap) throw new LabError('cp-refused', `refusing the archive: a ${what} of ${size} bytes`)
    const data = size ? (await rd.exact(size)) ?? Buffer.alloc(0) : Buffer.alloc(0)
    if (data.length !== size) throw new LabError('cp-refused', 'the tar archive ends in the middle of an entry')
    await rd.exact(padding(size).length)
    return data
  }
  const header = (kind: string, mode: number, size: number, mtime: number, rel: string, owner: string) => write(`${kind} ${(mode & 0o777).toString(8)} ${size} ${mtime} ${encodePath(rel)}${owner}\n`)
  const parents = async (parts: string[]) => {
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/')
      if (dirs.has(dir)) continue
      await header('d', 0o755, 0, now, dir, '')
      dirs.add(dir)
    }
  }
  for (;;) {
    const block = await rd.exact(BLOCK)
    if (block === null || isZeroBlock(block)) break // the end (a missing trailer is tolerated, as by tar)
    let h: {entry: TarEntry; flag: string}
    try {
      h = decodeHeader(block)
    } catch (e) {
      if (e instanceof TarFormatError) throw new LabError('cp-refused', `not a valid tar archive: ${e.message}`, {hint: 'give a tar archive on stdin (not compressed: pipe it through gunzip first)'})
      throw e
    }
    const e = h.entry
    headers++
    if (h.flag === 'x' || h.flag === 'g') {
      const rec = parsePax(await body(e.size, MAX_PAX, 'pax header'))
      if (h.flag === 'x') pax = rec
      continue
    }
    if (h.flag === 'L' || h.flag === 'K') {
      const text = (await body(e.size, 65536, 'long name')).toString('utf8').replace(/\0+$/, '')
      if (h.flag === 'L') longName = text
      else longLink = text
      continue
    }
    const name = pax.path ?? longName ?? e.path
    const link = pax.linkpath ?? longLink ?? e.linkpath
    const size = pax.size !== undefined ? Number(pax.size) : e.size
    const uid = pax.uid !== undefined ? Number(pax.uid) : e.uid
    const gid = pax.gid !== undefined ? Number(pax.gid) : e.gid
    const mtime = pax.mtime !== undefined && /^-?\d+(\.\d+)?$/.test(pax.mtime) ? Math.floor(Number(pax.mtime)) : e.mtime
    pax = {}
    longName = longLink = null
    if (!Number.isSafeInteger(size) || size < 0) throw new LabError('cp-refused', `refusing the archive: ${name} has a bad size`)
    if (e.type === 'hardlink') throw new LabError('cp-refused', `refusing the archive: ${name} is a hard link (to ${link})`, {hint: 'create the archive with tar --hard-dereference'})
    if (e.type === 'char' || e.type === 'block' || e.type === 'fifo') throw new LabError('cp-refused', `refusing the archive: ${name} is a device or fifo`, {hint: 'only regular files, directories and symlinks are copied'})
    if (e.type === 'other') throw new LabError('cp-refused', `refusing the archive: ${name} has the unsupported entry type "${h.flag}"`, {hint: 'regular files, directories and symlinks are copied; create the archive without --sparse or --multi-volume'})
    const rel = memberPath(name)
    if (Buffer.byteLength(rel) > 4000) throw new LabError('cp-refused', `refusing the archive: a name of ${Buffer.byteLength(rel)} bytes (${rel.slice(0, 60)}…)`, {hint: 'paths are at most 4000 bytes here'})
    if (rel === '') {
      // the archive's own "./": the destination directory itself, which exists
      if (e.type === 'file') await rd.bytes(size + padding(size).length, () => {})
      continue
    }
    const parts = rel.split('/')
    if (e.type === 'symlink' && !linkStaysInside(link, parts.length - 1)) {
      throw new LabError('cp-refused', `refusing the archive: ${rel} is a symlink pointing outside its top entry (-> ${link})`, {hint: 'links in an archive must stay inside the directory they are in'})
    }
    await parents(parts)
    const owner = opts.archive ? ` ${uid}:${gid}` : ''
    if (e.type === 'dir') {
      await header('d', e.mode, 0, mtime, rel, owner)
      dirs.add(rel)
      if (size) await rd.bytes(size + padding(size).length, () => {})
    } else if (e.type === 'symlink') {
      const t = Buffer.from(link)
      if (t.length > 4096) throw new LabError('cp-refused', `refusing the archive: ${rel} has a symlink target that is too long`)
      await header('l', 0, t.length, mtime, rel, owner)
      await write(t)
      if (size) await rd.bytes(size + padding(size).length, () => {})
    } else {
      await header('f', e.mode, size, mtime, rel, owner)
      await rd.bytes(size, (b) => write(Buffer.from(b)))
      await rd.bytes(padding(size).length, () => {})
    }
  }
  await write('end\n')
  w.end()
}
