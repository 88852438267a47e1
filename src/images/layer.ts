/**
 * Unpacking one layer (a tar changeset, plain, gzip or zstd) into a private directory, hardened
 * against what a hostile layer can try:
 * - names are relative paths; absolute names, ".." and NUL bytes are refused;
 * - nothing is ever written through a symlink: every parent of an entry must be a real
 *   directory of this layer (a layer that plants "a -> /etc" and then writes "a/passwd"
 *   is refused), files are created O_EXCL|O_NOFOLLOW, and symlinks are stored as links,
 *   never followed here (they are resolved only inside a sandbox's root);
 * - hard links must name an earlier file of the same layer, reached the same way;
 * - devices and fifos are refused (an OCI whiteout is a ".wh." name, not a device);
 * - owners are image ids 0–65535 (what a sandbox maps), set on the host only as root;
 * - file data, entries and the whole decompressed stream are capped (limits.ts).
 * OCI whiteouts (".wh.NAME") and opaque markers (".wh..wh..opq") are not written as files:
 * they are listed in the layer's record, for whoever stacks layers (flattening, the
 * sandbox's overlay). The caller unpacks into a fresh temporary directory and renames it
 * into place only when everything passed, so a refused layer leaves nothing behind.
 */
import {chmodSync, chownSync, closeSync, constants, createReadStream, fchmodSync, fchownSync, futimesSync, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, readSync, rmSync, symlinkSync, utimesSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {createGunzip} from 'node:zlib'

import {hasher} from './digest.js'
import {refused} from './errors.js'
import type {LayerLimits} from './limits.js'
import {readTar, type TarMember} from './tar-stream.js'
import {ZSTD_MAGIC, zstdDecompress} from './zstd.js'

export interface UnpackedLayer {
  /** sha256 of the uncompressed tar stream: the layer's name in an image config */
  diffId: string
  /** bytes of file data */
  size: number
  entries: number
  /** paths the layer deletes from the layers below */
  whiteouts: string[]
  /** directories whose lower contents the layer hides */
  opaques: string[]
  /** whether files carry the layer's owners (only as root) */
  owners: boolean
}

export type Compression = 'gzip' | 'zstd' | 'none'

/** Sniffs a blob's compression from its first bytes; bzip2 and xz are refused by name. */
export function compressionOf(path: string): Compression {
  const fd = openSync(path, 'r')
  const head = Buffer.alloc(6)
  try {
    readSync(fd, head, 0, 6, 0)
  } finally {
    closeSync(fd)
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.readUInt32LE(0) === ZSTD_MAGIC) return 'zstd'
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) throw refused('a layer is compressed with bzip2, which OCI images do not use', 'recompress it as gzip')
  if (head[0] === 0xfd && head.subarray(1, 6).toString('latin1') === '7zXZ\0') throw refused('a layer is compressed with xz, which OCI images do not use', 'recompress it as gzip')
  return 'none'
}

/** The uncompressed tar stream of a stored layer blob. */
export function openLayerStream(path: string, what = 'a layer'): Readable {
  const compression = compressionOf(path)
  const raw = createReadStream(path, {highWaterMark: 1 << 20})
  if (compression === 'none') return raw
  // pulled as the reader asks: one zstd block's output at a time is in memory
  if (compression === 'zstd') return Readable.from(zstdDecompress(raw, what), {objectMode: false})
  const gz = createGunzip({chunkSize: 1 << 18})
  raw.on('error', (e) => gz.destroy(e))
  return raw.pipe(gz)
}

/** A member's name as a relative path of parts; refuses what could leave the layer. */
export function memberParts(name: string, what: string): string[] {
  if (name.includes('\0')) throw refused(`${what}: a name holds a NUL byte`)
  if (name.startsWith('/')) throw refused(`${what}: ${name.slice(0, 200)} is an absolute name`, 'layers hold paths relative to the root')
  const parts = name.split('/').filter((c) => c !== '' && c !== '.')
  if (parts.includes('..')) throw refused(`${what}: ${name.slice(0, 200)} climbs out with ".."`, 'a layer can only hold paths below its root; nothing of it was stored')
  if (Buffer.byteLength(name) > 4096) throw refused(`${what}: a name of ${Buffer.byteLength(name)} bytes`)
  return parts
}

const WH = '.wh.'
const OPAQUE = '.wh..wh..opq'

export async function unpackLayer(blobPath: string, dest: string, limits: LayerLimits, what = 'a layer'): Promise<UnpackedLayer> {
  const root = join(dest, 'root')
  mkdirSync(root, {mode: 0o755})
  const owners = process.getuid?.() === 0
  const whiteouts = new Set<string>()
  const opaques = new Set<string>()
  const dirs = new Map<string, {mode: number; mtime: number; uid: number; gid: number}>()
  let bytes = 0
  let entries = 0
  let streamBytes = 0
  const streamCap = limits.maxBytes + limits.maxEntries * 1536 + (1 << 20)
  const diff = hasher()

  const input = openLayerStream(blobPath, what)
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const counted: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const r = await it.next()
        if (!r.done) {
          streamBytes += r.value.length
          if (streamBytes > streamCap) throw refused(`${what} unpacks to more than ${streamCap} bytes`, 'raise LAB_IMAGE_MAX_LAYER_SIZE if the image is trusted; nothing of it was stored')
          diff.update(r.value)
        }
        return r
      },
    }),
  }

  /** The layer's own directory for parts[0..n), made as needed; never through a link. */
  const parentDir = (parts: string[], name: string): string => {
    let dir = root
    for (let i = 0; i < parts.length - 1; i++) {
      dir = join(dir, parts[i])
      let st
      try {
        st = lstatSync(dir)
      } catch {
        mkdirSync(dir, {mode: 0o755})
        if (owners) chownSync(dir, 0, 0)
        continue
      }
      if (st.isSymbolicLink()) throw refused(`${what}: ${name.slice(0, 200)} would be written through the symlink ${parts.slice(0, i + 1).join('/')}`, 'a layer may not write through its own links; nothing of it was stored')
      if (!st.isDirectory()) throw refused(`${what}: ${name.slice(0, 200)} has the non-directory ${parts.slice(0, i + 1).join('/')} as a parent`)
    }
    return dir
  }

  /** Clears the way for a new entry at abs (a later entry replaces an earlier one, as tar does). */
  const clear = (abs: string, keepDir: boolean) => {
    let st
    try {
      st = lstatSync(abs)
    } catch {
      return
    }
    if (keepDir && st.isDirectory()) return
    rmSync(abs, {recursive: true, force: true})
  }

  let openFd: number | null = null
  const onMember = (m: TarMember) => {
    if (++entries > limits.maxEntries) throw refused(`${what} has more than ${limits.maxEntries} entries`, 'raise LAB_IMAGE_MAX_LAYER_FILES if the image is trusted; nothing of it was stored')
    const parts = memberParts(m.name, what)
    if (parts.length === 0) {
      // the layer's own "./": the root directory's metadata
      if (m.type === 'dir') dirs.set(root, {mode: m.mode, mtime: m.mtime, uid: m.uid, gid: m.gid})
      return null
    }
    const base = parts[parts.length - 1]
    if (base.startsWith(WH)) {
      const dirParts = parts.slice(0, -1)
      const dir = parentDir(parts, m.name) // a whiteout's directory exists in the layer, as in Docker's
      if (base === OPAQUE) {
        if (dir !== root && !dirs.has(dir)) dirs.set(dir, {mode: 0o755, mtime: m.mtime, uid: 0, gid: 0})
        opaques.add(dirParts.join('/'))
        return null
      }
      if (base.startsWith(`${WH}${WH}`)) return null // other aufs metadata (".wh..wh.plnk"…): not content
      const target = base.slice(WH.length)
      if (target === '' || target === '.' || target === '..') throw refused(`${what}: ${m.name.slice(0, 200)} is a whiteout of nothing`)
      whiteouts.add([...dirParts, target].join('/'))
      return null
    }
    if (m.uid > 65535 || m.gid > 65535) throw refused(`${what}: ${m.name.slice(0, 200)} belongs to ${m.uid}:${m.gid}, outside the ids 0–65535 a sandbox maps`, 'rebuild the image with owners below 65536')
    const dir = parentDir(parts, m.name)
    const abs = join(dir, base)
    const mode = m.mode & 0o7777
    switch (m.type) {
      case 'dir': {
        clear(abs, true)
        try {
          mkdirSync(abs, {mode: 0o700})
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        }
        dirs.set(abs, {mode, mtime: m.mtime, uid: m.uid, gid: m.gid})
        return null
      }
      case 'file': {
        if (bytes + m.size > limits.maxBytes) throw refused(`${what} holds more than ${limits.maxBytes} bytes of files (${m.name.slice(0, 120)} alone has ${m.size})`, 'raise LAB_IMAGE_MAX_LAYER_SIZE if the image is trusted; nothing of it was stored')
        bytes += m.size
        clear(abs, false)
        const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        if (m.size === 0) {
          finishFile(fd, m, mode, owners)
          return null
        }
        openFd = fd
        let written = 0
        return (chunk: Buffer) => {
          let off = 0
          while (off < chunk.length) off += writeSync(fd, chunk, off)
          written += chunk.length
          if (written === m.size) {
            openFd = null
            finishFile(fd, m, mode, owners)
          }
        }
      }
      case 'symlink': {
        if (Buffer.byteLength(m.linkname) > 4096 || m.linkname.includes('\0') || m.linkname === '') throw refused(`${what}: ${m.name.slice(0, 200)} has a bad link target`)
        clear(abs, false)
        symlinkSync(m.linkname, abs)
        if (owners) lchownSync(abs, m.uid, m.gid)
        lutimesSync(abs, m.mtime, m.mtime)
        return null
      }
      case 'hardlink': {
        const tparts = memberParts(m.linkname, what)
        if (tparts.length === 0) throw refused(`${what}: ${m.name.slice(0, 200)} is a hard link to the root`)
        const tabs = join(parentDir(tparts, m.linkname), tparts[tparts.length - 1])
        let st
        try {
          st = lstatSync(tabs)
        } catch {
          throw refused(`${what}: ${m.name.slice(0, 200)} is a hard link to ${m.linkname.slice(0, 200)}, which the layer does not hold before it`)
        }
        if (!st.isFile() && !st.isSymbolicLink()) throw refused(`${what}: ${m.name.slice(0, 200)} is a hard link to a directory or special file`)
        if (tabs === abs) return null
        clear(abs, false)
        linkSync(tabs, abs)
        return null
      }
      case 'char':
      case 'block':
      case 'fifo':
        throw refused(`${what}: ${m.name.slice(0, 200)} is a device or fifo; lab stores neither`, 'remove device nodes from the image: a sandbox gets its own /dev')
      default:
        throw refused(`${what}: ${m.name.slice(0, 200)} has the unsupported tar entry type "${m.flag}"`, 'use regular files, directories, links and OCI whiteouts (no sparse or multi-volume entries)')
    }
  }

  try {
    await readTar(counted, what, onMember)
    // the rest of the stream (the trailer's padding) is part of the diff id
    for (;;) if ((await counted[Symbol.asyncIterator]().next()).done) break
  } finally {
    input.destroy()
    // a file the stream ended inside: readTar refused the layer, the caller drops the directory
    if (openFd !== null) closeSync(openFd)
  }
  const byDepth = [...dirs.entries()].sort((a, b) => b[0].length - a[0].length)
  for (const [abs, d] of byDepth) {
    if (owners) chownSync(abs, d.uid, d.gid)
    chmodSync(abs, d.mode)
    utimesSync(abs, d.mtime, d.mtime)
  }
  return {diffId: `sha256:${diff.digest('hex')}`, size: bytes, entries, whiteouts: [...whiteouts].sort(), opaques: [...opaques].sort(), owners}
}

function finishFile(fd: number, m: TarMember, mode: number, owners: boolean): void {
  try {
    // owner before mode: chown clears set-id bits
    if (owners) fchownSync(fd, m.uid, m.gid)
    fchmodSync(fd, mode)
    futimesSync(fd, m.mtime, m.mtime)
  } finally {
    closeSync(fd)
  }
}
