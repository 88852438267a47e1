/**
 * Reading and copying what a submission left behind, without ever following a link it
 * planted. Node has no openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so a path is walked
 * one component at a time from a directory descriptor we trust: each step opens
 * /proc/self/fd/DIRFD/NAME with O_NOFOLLOW (NAME is one component, so the kernel looks
 * it up in exactly that directory and refuses a symlink with ELOOP), and fstat checks
 * the type of what was opened. Used only after every process of the run is dead.
 */
import {closeSync, constants, fstatSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, symlinkSync, writeSync, type Stats, fchmodSync} from 'node:fs'
import {join} from 'node:path'
import {readFdFully} from '../util/read-fd.js'

const {O_RDONLY, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK, O_WRONLY, O_CREAT, O_EXCL} = constants

export class BeneathError extends Error {
  constructor(
    readonly rel: string,
    readonly reason: 'missing' | 'symlink' | 'not-a-file' | 'not-a-directory' | 'hard-link' | 'too-large' | 'io',
    message: string,
  ) {
    super(message)
  }
}

function at(dirFd: number, name: string): string {
  return `/proc/self/fd/${dirFd}/${name}`
}

function describe(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device file'
  if (st.isDirectory()) return 'a directory'
  return 'not a regular file'
}

/** Opens one component below dirFd without following it. */
function openOne(dirFd: number, name: string, flags: number, rel: string): number {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new BeneathError(rel, 'io', `${rel}: "${name}" is not a plain name`)
  try {
    return openSync(at(dirFd, name), flags | O_NOFOLLOW)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new BeneathError(rel, 'missing', `${rel} does not exist`)
    if (code === 'ELOOP') throw new BeneathError(rel, 'symlink', `${rel} is a symbolic link (not followed)`)
    // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR, not ELOOP: look at what is there
    if (code === 'ENOTDIR') {
      let link = false
      try {
        link = lstatSync(at(dirFd, name)).isSymbolicLink()
      } catch {
        /* gone: report what open said */
      }
      if (link) throw new BeneathError(rel, 'symlink', `${rel} is a symbolic link (not followed)`)
      throw new BeneathError(rel, 'not-a-directory', `${rel}: a part of the path is not a directory`)
    }
    throw new BeneathError(rel, 'io', `${rel}: ${code ?? (e as Error).message}`)
  }
}

/** An O_PATH-like directory descriptor of base/rel's parent directories, walked safely. */
export function openDirBeneath(rootFd: number, parts: string[], rel: string): number {
  let fd = rootFd
  for (const p of parts) {
    const next = openOne(fd, p, O_RDONLY | O_DIRECTORY, rel)
    if (fd !== rootFd) closeSync(fd)
    fd = next
  }
  return fd === rootFd ? openSync(at(rootFd, '.'), O_RDONLY | O_DIRECTORY) : fd
}

/**
 * Reads base/rel as a regular file: no component may be a symlink, the file may not be
 * a FIFO (opened non-blocking, so a FIFO cannot hang us), a device or a hard link, and
 * at most maxBytes are read.
 */
export function readBeneath(base: string, rel: string, maxBytes: number): Buffer {
  const parts = rel.split('/')
  const root = openSync(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
  let dir = -1
  let fd = -1
  try {
    dir = openDirBeneath(root, parts.slice(0, -1), rel)
    fd = openOne(dir, parts[parts.length - 1], O_RDONLY | O_NONBLOCK, rel)
    const st = fstatSync(fd)
    if (!st.isFile()) throw new BeneathError(rel, 'not-a-file', `${rel} is ${describe(st)}, not a regular file`)
    if (st.nlink > 1) throw new BeneathError(rel, 'hard-link', `${rel} is a hard link`)
    if (st.size > maxBytes) throw new BeneathError(rel, 'too-large', `${rel} is larger than ${maxBytes} bytes`)
    return readFdFully(fd, st.size)
  } finally {
    if (fd >= 0) closeSync(fd)
    if (dir >= 0) closeSync(dir)
    closeSync(root)
  }
}

/**
 * lstat of base/rel without following a link on the way: null when it is absent or a
 * directory on its path is a link (a link planted there points nowhere we look).
 */
export function lstatBeneath(base: string, rel: string): Stats | null {
  const parts = rel.split('/')
  const root = openSync(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
  let dir = -1
  try {
    dir = openDirBeneath(root, parts.slice(0, -1), rel)
    return lstatSync(at(dir, parts[parts.length - 1]))
  } catch (e) {
    if (e instanceof BeneathError || (e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  } finally {
    if (dir >= 0) closeSync(dir)
    closeSync(root)
  }
}

export interface CopyLimits {
  maxBytes: number
  maxFiles: number
  /** make every copy readable by anyone (a read-only view for a checker) */
  readable?: boolean
}

/**
 * Copies an untrusted tree (what a build left) into dest, a fresh directory we created:
 * directories and regular files are copied through descriptors, symlinks are recreated
 * as symlinks (never followed: the copy means inside a sandbox what it meant there),
 * anything else (FIFOs, sockets, devices) is left out. Everything created is owned by
 * owner, so the next sandbox's root may write to it.
 */
export function copyBeneath(src: string, dest: string, owner: {uid: number; gid: number} | null, limits: CopyLimits): {files: number; bytes: number} {
  const total = {files: 0, bytes: 0}
  const buf = Buffer.alloc(64 * 1024)
  const own = (p: string) => {
    if (owner) lchownSync(p, owner.uid, owner.gid)
  }
  const walk = (dirFd: number, to: string, rel: string) => {
    for (const name of readdirSync(at(dirFd, '.')).sort()) {
      const r = rel ? `${rel}/${name}` : name
      if (++total.files > limits.maxFiles) throw new BeneathError(r, 'too-large', `more than ${limits.maxFiles} files`)
      let fd: number
      try {
        fd = openSync(at(dirFd, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'ELOOP') {
          const target = readlinkSync(at(dirFd, name))
          symlinkSync(target, join(to, name))
          own(join(to, name))
          continue
        }
        if (code === 'ENXIO' || code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') continue // a socket, or gone
        throw e
      }
      try {
        const st = fstatSync(fd)
        if (st.isDirectory()) {
          mkdirSync(join(to, name), {mode: 0o755})
          own(join(to, name))
          walk(fd, join(to, name), r)
        } else if (st.isFile()) {
          const out = openSync(join(to, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
          try {
            let n: number
            while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) {
              total.bytes += n
              if (total.bytes > limits.maxBytes) throw new BeneathError(r, 'too-large', `more than ${limits.maxBytes} bytes`)
              writeSync(out, buf, 0, n)
            }
            fchmodSync(out, limits.readable ? (st.mode & 0o111 ? 0o755 : 0o644) : st.mode & 0o755)
          } finally {
            closeSync(out)
          }
          own(join(to, name))
        }
        // FIFOs, sockets and devices are not copied: a test never needs them
      } finally {
        closeSync(fd)
      }
    }
  }
  const root = openSync(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
  try {
    walk(root, dest, '')
  } finally {
    closeSync(root)
  }
  return total
}
