/**
 * Submissions in: a directory, a .tar, .tar.gz/.tgz or .zip, unpacked into a fresh
 * directory we created. The archive libraries (tar, yauzl) only parse; this file
 * decides what is written: regular files and directories, and symlinks whose target
 * stays inside the submission. Refused, with a per-submission error (the batch goes
 * on): absolute paths, "..", device files, FIFOs, sockets, hard links (in a directory:
 * any file with more than one link; in a tar: a link to something not already
 * extracted), more files or bytes than the caps (zip bombs), and nesting too deep.
 * Nothing is ever written through a link: every file is created with O_EXCL|O_NOFOLLOW
 * in a directory whose every component we checked with lstat.
 */
import {createHash} from 'node:crypto'
import {closeSync, constants, copyFileSync, createReadStream, fchmodSync, fstatSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, symlinkSync, writeSync, type Stats} from 'node:fs'
import {basename, join, posix} from 'node:path'

import {Parser, type ReadEntry} from 'tar'
import yauzl from 'yauzl'

const {O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY} = constants

export interface ExtractLimits {
  /** total bytes of file content */
  maxBytes: number
  maxFiles: number
  maxDepth: number
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {maxBytes: 64 * 1024 * 1024, maxFiles: 5000, maxDepth: 32}

export class SubmissionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SubmissionError'
  }
}

export interface Extracted {
  kind: 'directory' | 'tar' | 'tar.gz' | 'zip'
  files: number
  bytes: number
  /** sha256 of the archive's bytes, or of the directory's sorted (path, mode, content) list */
  sha256: string
}

export function submissionKind(path: string): Extracted['kind'] | null {
  if (/\.(tar\.gz|tgz)$/i.test(path)) return 'tar.gz'
  if (/\.tar$/i.test(path)) return 'tar'
  if (/\.zip$/i.test(path)) return 'zip'
  return null
}

/** A submission's id in reports: its file name without the archive extension. */
export function submissionId(path: string): string {
  // ids name report files (--out DIR/gradescope/ID/): only safe characters, never "." or ".."
  const name = basename(path.replace(/\/+$/, '')).replace(/\.(tar\.gz|tgz|tar|zip)$/i, '')
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (m) => '_'.repeat(m.length)).slice(0, 100)
  return clean || 'submission'
}

/** Writes entries below dest, refusing anything unsafe; one instance per submission. */
class Writer {
  files = 0
  bytes = 0
  private made = new Set<string>([''])
  private regular = new Set<string>()

  constructor(
    readonly dest: string,
    readonly limits: ExtractLimits,
    readonly owner: {uid: number; gid: number} | null,
  ) {}

  /** Checks an entry's name and returns its clean relative form ('' for the root). */
  clean(raw: string): string {
    if (raw.includes('\0')) throw new SubmissionError(`"${raw.slice(0, 80)}": the name holds a NUL byte`)
    if (raw.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(raw)) throw new SubmissionError(`"${raw.slice(0, 200)}" is an absolute path`)
    if (raw.includes('\\')) throw new SubmissionError(`"${raw.slice(0, 200)}" holds a backslash (a Windows path?)`)
    const parts = raw.split('/').filter((p) => p !== '' && p !== '.')
    if (parts.includes('..')) throw new SubmissionError(`"${raw.slice(0, 200)}" climbs out with ".."`)
    if (parts.length > this.limits.maxDepth) throw new SubmissionError(`"${raw.slice(0, 200)}" is nested deeper than ${this.limits.maxDepth} directories`)
    if (parts.some((p) => Buffer.byteLength(p) > 255)) throw new SubmissionError(`"${raw.slice(0, 200)}": a name is longer than 255 bytes`)
    return parts.join('/')
  }

  private count(rel: string): void {
    if (++this.files > this.limits.maxFiles) throw new SubmissionError(`more than ${this.limits.maxFiles} files (at ${rel})`)
  }

  private own(p: string): void {
    if (this.owner) lchownSync(p, this.owner.uid, this.owner.gid)
  }

  /** Creates every directory of rel (not rel itself), refusing a symlink or file on the way. */
  private parents(rel: string): void {
    const parts = rel.split('/').slice(0, -1)
    for (let i = 1; i <= parts.length; i++) this.dir(parts.slice(0, i).join('/'), true)
  }

  dir(rel: string, implicit = false): void {
    if (rel === '' || this.made.has(rel)) return
    if (!implicit) this.parents(rel)
    const p = join(this.dest, rel)
    let st: Stats | null = null
    try {
      st = lstatSync(p)
    } catch {
      /* absent */
    }
    if (st && !st.isDirectory()) throw new SubmissionError(`${rel} is both a ${st.isSymbolicLink() ? 'symbolic link' : 'file'} and a directory`)
    if (!st) {
      this.count(rel)
      mkdirSync(p, {mode: 0o755})
      this.own(p)
    }
    this.made.add(rel)
  }

  /** Opens rel for writing: created here, never an existing entry and never through a link. */
  open(rel: string, mode: number): number {
    if (rel === '') throw new SubmissionError('a file entry has an empty name')
    this.parents(rel)
    this.count(rel)
    let fd: number
    try {
      fd = openSync(join(this.dest, rel), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SubmissionError(`${rel} appears twice`)
      throw e
    }
    try {
      this.own(join(this.dest, rel))
      this.regular.add(rel)
    } catch (e) {
      closeSync(fd)
      throw e
    }
    return fd
  }

  write(fd: number, chunk: Buffer, rel: string): void {
    this.bytes += chunk.length
    if (this.bytes > this.limits.maxBytes) throw new SubmissionError(`more than ${this.limits.maxBytes} bytes unpacked (at ${rel}): a zip bomb?`)
    writeSync(fd, chunk)
  }

  /** Closes a file; keeps only the bit that matters to a grader (executable or not), never set-id. */
  finish(fd: number, mode: number): void {
    try {
      fchmodSync(fd, mode & 0o111 ? 0o755 : 0o644)
    } finally {
      closeSync(fd)
    }
  }

  /** A symlink is kept only when its target, read from where it sits, stays inside. */
  symlink(rel: string, target: string): void {
    if (!target || target.includes('\0')) throw new SubmissionError(`${rel}: a symbolic link without a target`)
    if (target.startsWith('/')) throw new SubmissionError(`${rel} is a symbolic link to the absolute path ${target.slice(0, 200)}`)
    const resolved = posix.normalize(posix.join(posix.dirname(rel), target))
    if (resolved === '..' || resolved.startsWith('../')) throw new SubmissionError(`${rel} is a symbolic link that points outside the submission (${target.slice(0, 200)})`)
    this.parents(rel)
    this.count(rel)
    symlinkSync(target, join(this.dest, rel))
    this.own(join(this.dest, rel))
  }

  /** A tar hard link becomes a copy of a regular file already unpacked here; anything else is refused. */
  hardlink(rel: string, targetRaw: string): void {
    const target = this.clean(targetRaw)
    if (!this.regular.has(target)) throw new SubmissionError(`${rel} is a hard link to ${targetRaw.slice(0, 200)}, which is not a file of the submission`)
    this.parents(rel)
    this.count(rel)
    const size = lstatSync(join(this.dest, target)).size
    this.bytes += size
    if (this.bytes > this.limits.maxBytes) throw new SubmissionError(`more than ${this.limits.maxBytes} bytes unpacked (at ${rel})`)
    copyFileSync(join(this.dest, target), join(this.dest, rel), constants.COPYFILE_EXCL)
    this.own(join(this.dest, rel))
    this.regular.add(rel)
  }
}

function describeEntryType(t: string): string {
  if (t === 'CharacterDevice' || t === 'BlockDevice') return 'a device file'
  if (t === 'FIFO') return 'a FIFO'
  return `a "${t}" entry`
}

async function extractTar(file: string, w: Writer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let failed: Error | null = null
    const parser = new Parser({
      strict: true,
      maxMetaEntrySize: 1024 * 1024,
      onReadEntry: (entry: ReadEntry) => {
        if (failed) {
          entry.resume()
          return
        }
        try {
          const rel = w.clean(entry.path)
          switch (entry.type) {
            case 'Directory':
              w.dir(rel)
              entry.resume()
              return
            case 'File':
            case 'OldFile':
            case 'ContiguousFile': {
              const fd = w.open(rel, entry.mode ?? 0o644)
              entry.on('data', (c: Buffer) => {
                if (failed) return
                try {
                  w.write(fd, c, rel)
                } catch (e) {
                  fail(e as Error)
                }
              })
              entry.on('end', () => w.finish(fd, entry.mode ?? 0o644))
              return
            }
            case 'SymbolicLink':
              w.symlink(rel, entry.linkpath ?? '')
              entry.resume()
              return
            case 'Link':
              w.hardlink(rel, entry.linkpath ?? '')
              entry.resume()
              return
            default:
              throw new SubmissionError(`${rel || entry.path} is ${describeEntryType(entry.type)}, which a submission may not contain`)
          }
        } catch (e) {
          entry.resume()
          fail(e as Error)
        }
      },
    })
    const input = createReadStream(file)
    function fail(e: Error) {
      if (failed) return
      failed = e
      input.destroy()
      reject(e)
    }
    parser.on('error', (e: Error) => fail(new SubmissionError(`not a readable tar archive (${e.message})`)))
    parser.on('warn', (code: string, message: string | Error) => {
      // a truncated or damaged archive is a submission error, not half a submission
      if (/TAR_BAD_ARCHIVE|TAR_ENTRY_INVALID|TAR_ABORT|ZLIB/.test(code)) fail(new SubmissionError(`not a readable tar archive (${typeof message === 'string' ? message : message.message})`))
    })
    input.on('error', (e) => fail(e))
    parser.on('end', () => {
      if (!failed) resolve()
    })
    input.pipe(parser as unknown as NodeJS.WritableStream)
  })
}

const S_IFMT = 0o170000
const S_IFLNK = 0o120000
const S_IFDIR = 0o040000
const S_IFREG = 0o100000

async function extractZip(file: string, w: Writer): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, {lazyEntries: true, autoClose: true, strictFileNames: true, validateEntrySizes: true}, (err, z) => (err ? reject(new SubmissionError(`not a readable zip archive (${err.message})`)) : resolve(z!))),
  )
  await new Promise<void>((resolve, reject) => {
    let done = false
    const fail = (e: Error) => {
      if (done) return
      done = true
      zip.close()
      reject(e instanceof SubmissionError ? e : new SubmissionError(`not a readable zip archive (${e.message})`))
    }
    zip.on('error', fail)
    zip.on('end', () => {
      if (!done) {
        done = true
        resolve()
      }
    })
    zip.on('entry', (entry: yauzl.Entry) => {
      try {
        const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff
        const type = unixMode & S_IFMT
        const isDir = entry.fileName.endsWith('/') || type === S_IFDIR
        const rel = w.clean(entry.fileName)
        if (type !== 0 && type !== S_IFREG && type !== S_IFDIR && type !== S_IFLNK) throw new SubmissionError(`${rel} is a special file (mode ${type.toString(8)}), which a submission may not contain`)
        // the declared size is only a first check; the real bytes are counted as they come
        if (entry.uncompressedSize > w.limits.maxBytes - w.bytes) throw new SubmissionError(`${rel} unpacks to ${entry.uncompressedSize} bytes, more than the ${w.limits.maxBytes} allowed: a zip bomb?`)
        if (isDir) {
          w.dir(rel)
          zip.readEntry()
          return
        }
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return fail(err ?? new Error('no data'))
          if (type === S_IFLNK) {
            const parts: Buffer[] = []
            let n = 0
            stream.on('data', (c: Buffer) => {
              n += c.length
              if (n <= 4096) parts.push(c)
            })
            stream.on('error', fail)
            stream.on('end', () => {
              try {
                w.symlink(rel, Buffer.concat(parts).toString('utf8'))
                zip.readEntry()
              } catch (e) {
                fail(e as Error)
              }
            })
            return
          }
          let fd: number
          try {
            fd = w.open(rel, unixMode)
          } catch (e) {
            stream.destroy()
            return fail(e as Error)
          }
          stream.on('data', (c: Buffer) => {
            try {
              w.write(fd, c, rel)
            } catch (e) {
              stream.destroy()
              closeSync(fd)
              fd = -1
              fail(e as Error)
            }
          })
          stream.on('error', (e) => fail(e))
          stream.on('end', () => {
            if (fd >= 0) w.finish(fd, unixMode)
            if (!done) zip.readEntry()
          })
        })
      } catch (e) {
        fail(e as Error)
      }
    })
    zip.readEntry()
  })
}

/** A directory submission: walked with lstat, every entry checked, copied through descriptors. */
function extractDirectory(src: string, w: Writer, hash: ReturnType<typeof createHash>): void {
  const buf = Buffer.alloc(64 * 1024)
  const visit = (rel: string) => {
    const abs = rel ? join(src, rel) : src
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name
      const st = lstatSync(join(src, r))
      if (st.isSymbolicLink()) throw new SubmissionError(`${r} is a symbolic link (a submission directory may not contain links)`)
      if (st.isDirectory()) {
        w.dir(w.clean(r))
        hash.update(`d ${r}\0`)
        visit(r)
        continue
      }
      if (!st.isFile()) throw new SubmissionError(`${r} is ${st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device file'}, which a submission may not contain`)
      if (st.nlink > 1) throw new SubmissionError(`${r} is a hard link (it could be any file on the host)`)
      const inFd = openSync(join(src, r), O_RDONLY | O_NOFOLLOW)
      try {
        const again = fstatSync(inFd)
        if (!again.isFile() || again.ino !== st.ino || again.nlink > 1) throw new SubmissionError(`${r} changed while it was read`)
        const out = w.open(w.clean(r), st.mode)
        hash.update(`f ${r} ${st.mode & 0o111 ? 'x' : '-'}\0`)
        try {
          let n: number
          while ((n = readSync(inFd, buf, 0, buf.length, null)) > 0) {
            w.write(out, buf.subarray(0, n), r)
            hash.update(buf.subarray(0, n))
          }
        } finally {
          w.finish(out, st.mode)
        }
      } finally {
        closeSync(inFd)
      }
    }
  }
  visit('')
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256')
    createReadStream(file).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolve(h.digest('hex')))
  })
}

/**
 * Unpacks a submission into dest (an empty directory we created). Throws
 * SubmissionError for anything the submission did wrong.
 */
export async function extractSubmission(path: string, dest: string, opts: {limits?: ExtractLimits; owner?: {uid: number; gid: number} | null} = {}): Promise<Extracted> {
  const w = new Writer(dest, opts.limits ?? DEFAULT_EXTRACT_LIMITS, opts.owner ?? null)
  let st: Stats
  try {
    st = lstatSync(path)
  } catch {
    throw new SubmissionError(`${path} does not exist`)
  }
  if (st.isSymbolicLink()) {
    try {
      st = lstatSync(path.replace(/\/+$/, '') + '/.')
    } catch {
      throw new SubmissionError(`${path} is a dangling symbolic link`)
    }
  }
  if (st.isDirectory()) {
    const h = createHash('sha256')
    extractDirectory(path, w, h)
    return {kind: 'directory', files: w.files, bytes: w.bytes, sha256: h.digest('hex')}
  }
  const kind = submissionKind(path)
  if (!kind || !st.isFile()) throw new SubmissionError(`${path} is not a directory, .tar, .tar.gz or .zip`)
  if (kind === 'zip') await extractZip(path, w)
  else await extractTar(path, w)
  return {kind, files: w.files, bytes: w.bytes, sha256: await hashFile(path)}
}
