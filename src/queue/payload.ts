/**
 * Payloads travel content-addressed: every file is stored once in Redis under its
 * SHA-256 (lab:blob:HASH), and a job carries only the hash of a manifest — the list of
 * paths, modes and file hashes, itself a blob. A file shared by 2,000 jobs (the spec,
 * the grader's files) is uploaded once and fetched once per worker, which keeps it in a
 * cache keyed by the same hash. The worker re-hashes everything it fetches and refuses
 * a job whose bytes do not match: a tampered or truncated payload never runs.
 *
 * Trees are walked with lstat and never through a link: links travel as links (their
 * target text) and are recreated as such, so the receiving side applies the same rules
 * as a local run (a submission directory with a link is rejected there, as it is here).
 */
import {createHash} from 'node:crypto'
import {chmodSync, closeSync, copyFileSync, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync, constants} from 'node:fs'
import {basename, join} from 'node:path'

import type {Redis} from 'ioredis'

import {LabError} from '../errors.js'
import {blobKey, KEEP_SECONDS} from './keys.js'
import {readFdFully} from '../util/read-fd.js'

export interface ManifestEntry {
  path: string
  type: 'file' | 'dir' | 'symlink'
  /** files: executable or not */
  exec?: boolean
  size?: number
  sha256?: string
  target?: string
}

export interface Manifest {
  format: 'lab-payload'
  version: 1
  entries: ManifestEntry[]
  bytes: number
}

export interface PackedTree {
  manifest: Manifest
  /** hash → how to read its bytes (read again only when the queue lacks it) */
  blobs: Map<string, () => Buffer>
  manifestSha: string
}

export const DEFAULT_PAYLOAD_CAP = 64 * 1024 * 1024
export const DEFAULT_PAYLOAD_FILES = 10000

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

/** Why a tree cannot travel (a file type or a hard link a local run would refuse too, or the cap). */
export class PayloadError extends LabError {
  constructor(message: string, hint = 'remove it, or raise the cap with --max-payload') {
    super('queue-payload', message, {hint})
  }
}

function readRegular(abs: string, rel: string): Buffer {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new PayloadError(`${rel} changed while it was read`)
    return readFdFully(fd, st.size)
  } finally {
    closeSync(fd)
  }
}

/**
 * A directory (or one file) → its manifest and blobs. `refuseHardLinks` and specials
 * follow the local rules; the cap counts every file's bytes, once per tree.
 */
export function packTree(root: string, opts: {cap?: number; maxFiles?: number; what: string; exclude?: (rel: string) => boolean; refuseHardLinks?: boolean}): PackedTree {
  const cap = opts.cap ?? DEFAULT_PAYLOAD_CAP
  const maxFiles = opts.maxFiles ?? DEFAULT_PAYLOAD_FILES
  const entries: ManifestEntry[] = []
  const blobs = new Map<string, () => Buffer>()
  let bytes = 0
  const addFile = (abs: string, rel: string, mode: number) => {
    const buf = readRegular(abs, rel)
    bytes += buf.length
    if (bytes > cap) throw new PayloadError(`${opts.what}: more than ${cap} bytes (the queue's payload cap)`)
    if (entries.length > maxFiles) throw new PayloadError(`${opts.what}: more than ${maxFiles} files (the queue's payload cap)`)
    const h = sha256(buf)
    blobs.set(h, () => readRegular(abs, rel))
    entries.push({path: rel, type: 'file', exec: (mode & 0o111) !== 0, size: buf.length, sha256: h})
  }
  let st
  try {
    st = lstatSync(root)
  } catch {
    throw new PayloadError(`${opts.what}: ${root} does not exist`, 'check the path')
  }
  if (st.isFile()) {
    if (opts.refuseHardLinks && st.nlink > 1) throw new PayloadError(`${opts.what}: ${root} is a hard link`, 'give a copy of the file')
    addFile(root, basename(root), st.mode)
  } else if (st.isDirectory()) {
    const visit = (rel: string) => {
      for (const name of readdirSync(rel ? join(root, rel) : root).sort()) {
        const r = rel ? `${rel}/${name}` : name
        if (opts.exclude?.(r)) continue
        const abs = join(root, r)
        const s = lstatSync(abs)
        if (s.isSymbolicLink()) entries.push({path: r, type: 'symlink', target: readlinkSync(abs)})
        else if (s.isDirectory()) {
          entries.push({path: r, type: 'dir'})
          visit(r)
        } else if (s.isFile()) {
          if (opts.refuseHardLinks && s.nlink > 1) throw new PayloadError(`${r} is a hard link (it could be any file on the host)`, 'give a copy of the file')
          addFile(abs, r, s.mode)
        } else throw new PayloadError(`${r} is ${s.isFIFO() ? 'a FIFO' : s.isSocket() ? 'a socket' : 'a device file'}, which cannot travel`, 'remove it')
      }
    }
    visit('')
  } else throw new PayloadError(`${opts.what}: ${root} is not a file or directory`, 'check the path')
  const manifest: Manifest = {format: 'lab-payload', version: 1, entries, bytes}
  const text = Buffer.from(JSON.stringify(manifest))
  const manifestSha = sha256(text)
  blobs.set(manifestSha, () => text)
  return {manifest, blobs, manifestSha}
}

/** Uploads what the queue lacks (EXISTS first, SET NX after) and renews what it has. */
export async function uploadBlobs(redis: Redis, blobs: Map<string, () => Buffer>): Promise<{uploaded: number; bytes: number; reused: number}> {
  const hashes = [...blobs.keys()]
  let uploaded = 0
  let bytes = 0
  let reused = 0
  for (let i = 0; i < hashes.length; i += 500) {
    const chunk = hashes.slice(i, i + 500)
    const have = (await redis.pipeline(chunk.map((h) => ['expire', blobKey(h), KEEP_SECONDS])).exec()) ?? []
    const p = redis.pipeline()
    chunk.forEach((h, j) => {
      if (have[j]?.[1] === 1) {
        reused++
        return
      }
      const buf = blobs.get(h)!()
      if (sha256(buf) !== h) throw new PayloadError(`a file changed while it was being sent (${h.slice(0, 12)}…)`, 'submit again once it stops changing')
      p.set(blobKey(h), buf, 'EX', KEEP_SECONDS, 'NX')
      uploaded++
      bytes += buf.length
    })
    if (p.length) await p.exec()
  }
  return {uploaded, bytes, reused}
}

/** A job's payload was not what its hash promised: never retried, never run. */
export class TamperedPayload extends LabError {
  constructor(message: string) {
    super('queue-tampered', message, {hint: 'the payload in Redis does not match its hash: submit the run again, and check who can write to this Redis'})
  }
}

const HEX64 = /^[0-9a-f]{64}$/

/** The worker's side: blobs fetched once, verified, kept on disk by hash. */
export class BlobCache {
  constructor(readonly dir: string) {
    mkdirSync(dir, {recursive: true, mode: 0o700})
  }

  /** The path of a verified copy of the blob. */
  async get(redis: Redis, hash: string): Promise<string> {
    if (!HEX64.test(hash)) throw new TamperedPayload(`"${String(hash).slice(0, 80)}" is not a SHA-256`)
    const path = join(this.dir, hash)
    if (existsSync(path)) return path
    const buf = await redis.getBuffer(blobKey(hash))
    if (!buf) throw new TamperedPayload(`blob ${hash.slice(0, 12)}… is missing from the queue (expired or removed)`)
    const got = sha256(buf)
    if (got !== hash) throw new TamperedPayload(`blob ${hash.slice(0, 12)}… has the hash ${got.slice(0, 12)}…`)
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`
    writeFileSync(tmp, buf, {mode: 0o600})
    renameSync(tmp, path)
    return path
  }

  async manifest(redis: Redis, hash: string): Promise<Manifest> {
    const raw = readFileSync(await this.get(redis, hash), 'utf8')
    let m: unknown
    try {
      m = JSON.parse(raw)
    } catch {
      throw new TamperedPayload(`manifest ${hash.slice(0, 12)}… is not JSON`)
    }
    checkManifest(m)
    return m
  }
}

const SAFE_PATH = (p: unknown): p is string => typeof p === 'string' && p.length > 0 && p.length < 4096 && !p.startsWith('/') && !p.includes('\0') && p.split('/').every((c) => c !== '' && c !== '.' && c !== '..')

/** Named checks of a manifest from the queue; it decides what the worker writes. */
export function checkManifest(m: unknown): asserts m is Manifest {
  const bad = (why: string) => {
    throw new TamperedPayload(`invalid payload manifest: ${why}`)
  }
  if (!m || typeof m !== 'object') bad('not an object')
  const x = m as Manifest
  if (x.format !== 'lab-payload' || x.version !== 1 || !Array.isArray(x.entries)) bad('not a lab payload, version 1')
  const seen = new Set<string>()
  for (const e of x.entries) {
    if (!e || typeof e !== 'object') bad('an entry is not an object')
    if (!SAFE_PATH(e.path)) bad(`path ${JSON.stringify(e.path).slice(0, 80)} is absolute, empty or has ".."`)
    if (seen.has(e.path)) bad(`${e.path} appears twice`)
    seen.add(e.path)
    if (e.type === 'file') {
      if (!HEX64.test(String(e.sha256))) bad(`${e.path}: no SHA-256`)
    } else if (e.type === 'symlink') {
      if (typeof e.target !== 'string' || e.target.length === 0 || e.target.length > 4096 || e.target.includes('\0')) bad(`${e.path}: bad link target`)
    } else if (e.type !== 'dir') bad(`${e.path}: unknown type`)
  }
}

/**
 * Writes a manifest's tree below dest (an empty directory of ours). Parents must be
 * directories this function made — never a link it made — so no entry lands outside.
 */
export async function materialize(redis: Redis, cache: BlobCache, m: Manifest, dest: string): Promise<void> {
  const dirs = new Set<string>([''])
  for (const e of m.entries) {
    const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : ''
    if (!dirs.has(parent)) throw new TamperedPayload(`invalid payload manifest: ${e.path} is not below a directory of the payload`)
    const abs = join(dest, e.path)
    if (e.type === 'dir') {
      mkdirSync(abs, {mode: 0o755})
      dirs.add(e.path)
    } else if (e.type === 'symlink') symlinkSync(e.target!, abs)
    else {
      const src = await cache.get(redis, e.sha256!)
      copyFileSync(src, abs, constants.COPYFILE_EXCL)
      chmodSync(abs, e.exec ? 0o755 : 0o644)
    }
  }
}
