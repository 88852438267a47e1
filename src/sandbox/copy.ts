/**
 * `lab sandbox cp`: the host side of the copy stream (the sandbox side is
 * src/sandbox-native/copy.c, which resolves every path inside the sandbox's own root).
 *
 * The stream is one header line per entry, "KIND MODE SIZE PATH", then SIZE bytes for a
 * file ("f") or the target of a symlink ("l"); "d" is a directory; "end" closes it. PATH
 * is relative and percent-encoded; its first component is the copied top entry. With
 * cp -a (archive) each header ends in " UID:GID", the owner to keep: docker cp -a's
 * rule; without it the receiving side owns the copy.
 *
 * Out of the sandbox, nothing the stream says is trusted: every entry is written below
 * a fresh staging directory, only into directories this stream created (never through
 * a symlink it made), with O_NOFOLLOW|O_EXCL; links that would point out of the copy
 * are refused; and only a complete stream is moved into place, so a failed copy
 * leaves the destination as it was.
 */
import {spawn} from 'node:child_process'
import {closeSync, constants as fsc, existsSync, fchownSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import type {Duplex, Readable, Writable} from 'node:stream'

import {LabError, usageError} from '../errors.js'
import {assertHelperBuilt, eventReader, HELPER_PATH, helperSpawnError} from './helper.js'
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
  assertHelperBuilt()
  const child = spawn(HELPER_PATH, ['run'], {stdio: [direction === 'in' ? 'pipe' : 'ignore', direction === 'out' ? 'pipe' : 'ignore', 'ignore', 'pipe']})
  const ctl = child.stdio[3] as Duplex
  const out = {error: null as HelperError | null, files: 0, bytes: 0}
  ctl.setEncoding('utf8')
  ctl.on('data', eventReader((ev) => {
    if (ev.event === 'error') out.error = ev as unknown as HelperError
    else if (ev.event === 'copied') Object.assign(out, {files: ev.files, bytes: ev.bytes})
  }))
  ctl.on('error', () => {})
  ctl.write(plan)
  const stream = (direction === 'in' ? child.stdin : child.stdout)!
  stream.on('error', () => {})
  let ioError: unknown = null
  const work = io(stream).catch((e) => {
    ioError = e
    child.kill('SIGKILL')
  })
  return new Promise((res, rej) => {
    child.on('error', (e) => rej(helperSpawnError(e)))
    child.on('close', async () => {
      await work
      // A refusal on the host side (a device, a link out) is the cause; otherwise the
      // helper's own reason comes first: a broken stream is usually its consequence.
      if (ioError && (!out.error || (ioError instanceof LabError && ioError.code === 'cp-refused'))) return rej(ioError)
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
      await write(`l 0 ${t.length} ${encodePath(rel)}${owner}\n`)
      return write(t)
    }
    if (st.isDirectory()) {
      await write(`d ${(st.mode & 0o777).toString(8)} 0 ${encodePath(rel)}${owner}\n`)
      for (const name of readdirSync(path).sort()) await entry(join(path, name), `${rel}/${name}`, depth + 1)
      return
    }
    if (!st.isFile()) throw new LabError('cp-refused', `cannot copy ${path}: it is a device, fifo or socket`, {hint: 'only regular files, directories and symlinks are copied'})
    const fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK)
    try {
      let left = statSync(path).size
      await write(`f ${(st.mode & 0o777).toString(8)} ${left} ${encodePath(rel)}${owner}\n`)
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

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}

// ------------------------------------------------------------------ stream → host (out)

/** Reads a stream into a staging directory; returns the top entry's path in it. With
 * archive, entries get the owners the stream names (the sandbox's ids, as docker cp -a). */
export async function receiveHost(r: Readable, staging: string, opts: {archive?: boolean} = {}): Promise<string> {
  let buf: Buffer = Buffer.alloc(0)
  let ended = false
  const waiters: Array<() => void> = []
  r.on('data', (c: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c
    if (buf.length > 1 << 20) r.pause() // back-pressure: the helper waits while we write
    waiters.splice(0).forEach((f) => f())
  })
  r.on('end', () => {
    ended = true
    waiters.splice(0).forEach((f) => f())
  })
  const more = async () => {
    if (ended) throw new LabError('cp-stream', 'the copy stream ended early', {hint: 'see the error above; run `lab doctor`'})
    const wait = new Promise<void>((res) => waiters.push(res))
    r.resume()
    await wait
  }
  const line = async (): Promise<string> => {
    for (;;) {
      const nl = buf.indexOf(10)
      if (nl >= 0) {
        const l = buf.subarray(0, nl).toString('latin1')
        buf = buf.subarray(nl + 1)
        return l
      }
      if (buf.length > 16384) throw new LabError('cp-stream', 'malformed copy stream (header too long)')
      await more()
    }
  }
  const bytes = async (n: number, sink: (b: Buffer) => void) => {
    while (n > 0) {
      if (!buf.length) await more()
      const k = Math.min(n, buf.length)
      sink(buf.subarray(0, k))
      buf = buf.subarray(k)
      n -= k
    }
  }
  // only directories this stream made may receive entries: never a symlink it made
  const dirs = new Set<string>()
  let top: string | null = null
  for (;;) {
    const l = await line()
    if (l === 'end') break
    const m = /^([dfl]) ([0-7]{1,4}) (\d{1,15}) (\S+)(?: (\d{1,10}):(\d{1,10}))?$/.exec(l)
    const rel = m ? decodePath(m[4]) : ''
    if (!m || !safeRel(rel)) throw new LabError('cp-stream', 'malformed copy stream entry')
    const parts = rel.split('/')
    if (top === null) {
      if (parts.length !== 1) throw new LabError('cp-stream', 'malformed copy stream (no top entry)')
      top = parts[0]
    } else if (parts[0] !== top || parts.length < 2 || !dirs.has(parts.slice(0, -1).join('/'))) {
      throw new LabError('cp-stream', `malformed copy stream entry ${rel}`)
    }
    const dest = join(staging, rel)
    const mode = parseInt(m[2], 8) & 0o777
    const size = Number(m[3])
    const owner = opts.archive && m[5] !== undefined ? {uid: Number(m[5]), gid: Number(m[6]), rel} : null
    if (m[1] === 'd') {
      mkdirSync(dest, {mode: mode | 0o700})
      if (owner) keepOwner(() => lchownSync(dest, owner.uid, owner.gid), owner)
      dirs.add(rel)
    } else if (m[1] === 'l') {
      const chunks: Buffer[] = []
      if (size > 4096) throw new LabError('cp-stream', 'malformed copy stream (symlink target too long)')
      await bytes(size, (b) => chunks.push(Buffer.from(b)))
      const target = Buffer.concat(chunks).toString('utf8')
      if (!linkStaysInside(target, parts.length - 1)) throw new LabError('cp-refused', `refusing ${rel}: a symlink pointing outside what is copied (-> ${target})`)
      symlinkSync(target, dest)
      if (owner) keepOwner(() => lchownSync(dest, owner.uid, owner.gid), owner)
    } else {
      const fd = openSync(dest, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, mode)
      try {
        await bytes(size, (b) => writeSync(fd, b))
        if (owner) keepOwner(() => fchownSync(fd, owner.uid, owner.gid), owner)
      } finally {
        closeSync(fd)
      }
    }
  }
  if (top === null) throw new LabError('cp-stream', 'the copy stream was empty')
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
