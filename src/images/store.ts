/**
 * The image store, under lab's data directory (src/sandbox/state/paths.ts):
 *
 *   images/                 0700: no other host user can list, read or reach anything below,
 *                           so set-id files of a layer are never usable from the host
 *     blobs/sha256/HEX      content-addressed blobs: manifests, configs, layers as fetched
 *     layers/HEX/root       a layer unpacked once, named by its diff id, shared by every image
 *     layers/HEX/layer.json its record: size, entries, whiteouts, opaque directories
 *     index.json            images (by id: the config's digest) and tags, written atomically
 *     lock                  held while index.json changes
 *     tmp/t<pid>-…          work in progress; renamed into place only when complete and
 *                           verified, swept when its process is gone
 *
 * Blobs and layers are immutable once in place. A blob or layer no image refers to is
 * removed by `rm` and `prune` (under the lock, so an image being added keeps its parts).
 */
import {createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {Writable, type Readable} from 'node:stream'

import {LabError} from '../errors.js'
import {stateRoots} from '../sandbox/state/paths.js'
import {readJson, writeJsonAtomic} from '../sandbox/state/atomic.js'
import {withLock} from '../sandbox/state/lock.js'
import {sweepStaleTemp} from '../util/stale-temp.js'
import {assertValid} from '../validators.js'
import {checkDigest, hasher, hexOf, isDigest, sha256} from './digest.js'
import {imageError, notFound, refused} from './errors.js'
import {unpackLayer, type UnpackedLayer} from './layer.js'
import {layerLimits, type LayerLimits} from './limits.js'
import {familiarDigested, familiarTagged, parseReference, repositoryOf, taggedName} from './reference.js'
import type {ImageConfig, Manifest} from './oci.js'

export interface LayerRef {
  /** the blob's digest (compressed, as in the manifest) */
  digest: string
  mediaType: string
  /** the blob's size */
  size: number
  diffId: string
}

export interface ImageRecord {
  /** the config's digest: Docker's image id */
  id: string
  /** the manifest's digest */
  manifest: string
  manifestMediaType: string
  layers: LayerRef[]
  /** "domain/path@sha256:…" under which the manifest is known */
  repoDigests: string[]
  /** when it entered this store */
  added: string
}

interface Index {
  version: 1
  images: Record<string, ImageRecord>
  /** "domain/path:tag" → image id */
  tags: Record<string, string>
}

export interface StoredLayer extends UnpackedLayer {
  path: string
}

const EMPTY_INDEX = (): Index => ({version: 1, images: {}, tags: {}})

export class ImageStore {
  readonly root: string
  readonly blobs: string
  readonly layers: string
  readonly tmp: string
  private readonly indexPath: string
  private readonly lockPath: string
  readonly limits: LayerLimits

  constructor(stateDir?: string, limits: LayerLimits = layerLimits()) {
    const data = stateRoots(stateDir).data
    mkdirSync(data, {recursive: true, mode: 0o711})
    this.root = join(data, 'images')
    this.blobs = join(this.root, 'blobs', 'sha256')
    this.layers = join(this.root, 'layers')
    this.tmp = join(this.root, 'tmp')
    this.indexPath = join(this.root, 'index.json')
    this.lockPath = join(this.root, 'lock')
    this.limits = limits
    mkdirSync(this.root, {recursive: true, mode: 0o700})
    chmodSync(this.root, 0o700) // whatever umask or an earlier version left
    for (const d of [this.blobs, this.layers, this.tmp]) mkdirSync(d, {recursive: true, mode: 0o700})
    sweepStaleTemp('t', this.tmp)
  }

  // ------------------------------------------------------------------ index

  private index(): Index {
    const ix = readJson<Index>(this.indexPath)
    return ix && ix.version === 1 && ix.images && ix.tags ? ix : EMPTY_INDEX()
  }

  private async mutate<T>(fn: (ix: Index) => T | Promise<T>): Promise<T> {
    return withLock(this.lockPath, 'the image store', async () => {
      const ix = this.index()
      const out = await fn(ix)
      writeJsonAtomic(this.indexPath, ix)
      return out
    })
  }

  // ------------------------------------------------------------------ blobs

  blobPath(digest: string): string {
    return join(this.blobs, hexOf(checkDigest(digest, 'a blob')))
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest))
  }

  /** A work directory of this process, swept if it dies. */
  tempDir(): string {
    return mkdtempSync(join(this.tmp, `t${process.pid}-`))
  }

  /** Reads a small blob (manifest, config) and checks it still hashes to its name. */
  readBlob(digest: string): Buffer {
    let data: Buffer
    try {
      data = readFileSync(this.blobPath(digest))
    } catch {
      throw imageError('store-damaged', `the store has lost the blob ${digest}`, 'remove the image and pull or load it again')
    }
    if (sha256(data) !== digest) throw imageError('store-damaged', `the stored blob ${digest} does not match its digest`, 'remove the image and pull or load it again')
    return data
  }

  putBlobBytes(data: Buffer, expected?: string): string {
    const digest = sha256(data)
    if (expected !== undefined && expected !== digest) throw refused(`content claimed to be ${expected} has the digest ${digest}`)
    if (!this.hasBlob(digest)) {
      const dir = this.tempDir()
      try {
        const tmp = join(dir, 'blob')
        writeFileExcl(tmp, data)
        renameSync(tmp, this.blobPath(digest))
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    }
    return digest
  }

  /**
   * Streams a blob in, hashing as it comes; it is renamed to its name only when complete
   * and (if given) matching the expected digest and size.
   */
  async putBlobStream(src: Readable, expected?: {digest: string; size?: number}, what = 'a blob'): Promise<{digest: string; size: number}> {
    const dir = this.tempDir()
    try {
      const tmp = join(dir, 'blob')
      const h = hasher()
      let size = 0
      const cap = expected?.size
      const out = createWriteStream(tmp, {flags: 'wx', mode: 0o600})
      await pipeline(src, new Writable({
        write(chunk: Buffer, _enc, cb) {
          size += chunk.length
          if (cap !== undefined && size > cap) return cb(refused(`${what} is longer than its stated ${cap} bytes`))
          h.update(chunk)
          if (!out.write(chunk)) out.once('drain', () => cb())
          else cb()
        },
        final(cb) {
          out.end(cb)
        },
      }))
      const digest = `sha256:${h.digest('hex')}`
      if (expected && expected.size !== undefined && size !== expected.size) throw refused(`${what} has ${size} bytes, not the ${expected.size} its manifest states (truncated?)`, 'fetch or copy it again; nothing of it was stored')
      if (expected && digest !== expected.digest) throw refused(`${what} does not match its digest: expected ${expected.digest}, got ${digest}`, 'the source is damaged or was tampered with; nothing of it was stored')
      if (!this.hasBlob(digest)) renameSync(tmp, this.blobPath(digest))
      return {digest, size}
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }

  blobStream(digest: string): Readable {
    return createReadStream(this.blobPath(digest))
  }

  blobSize(digest: string): number {
    return statSync(this.blobPath(digest)).size
  }

  // ------------------------------------------------------------------ layers

  layerPath(diffId: string): string {
    return join(this.layers, hexOf(checkDigest(diffId, 'a layer')))
  }

  layer(diffId: string): StoredLayer | null {
    const rec = readJson<UnpackedLayer>(join(this.layerPath(diffId), 'layer.json'))
    return rec ? {...rec, path: join(this.layerPath(diffId), 'root')} : null
  }

  /**
   * The unpacked layer of a stored blob, unpacked now unless some image already has it.
   * With expectedDiffId (from the image config), a layer whose content differs is refused.
   */
  async ensureLayer(blobDigest: string, expectedDiffId?: string, what = `the layer ${blobDigest.slice(7, 19)}`): Promise<StoredLayer> {
    if (expectedDiffId) {
      const have = this.layer(expectedDiffId)
      if (have) return have
    }
    const dir = this.tempDir()
    try {
      const info = await unpackLayer(this.blobPath(blobDigest), dir, this.limits, what)
      if (expectedDiffId && info.diffId !== expectedDiffId) throw refused(`${what} unpacks to ${info.diffId}, not the ${expectedDiffId} the image config names`, 'the image is damaged or was tampered with; nothing of it was stored')
      writeJsonAtomic(join(dir, 'layer.json'), info)
      const dest = this.layerPath(info.diffId)
      if (!existsSync(dest)) {
        try {
          renameSync(dir, dest)
        } catch (e) {
          // another command unpacked the same layer meanwhile: theirs is as good
          if (!['EEXIST', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e
        }
      }
      return this.layer(info.diffId)!
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }

  // ------------------------------------------------------------------ images

  /**
   * Files an image whose blobs and layers are in the store: validates the manifest and
   * config, checks every part is present, then records it and its tags in one step.
   */
  async addImage(a: {manifest: Buffer; config: Buffer; layers: LayerRef[]; tags?: string[]; repository?: string}): Promise<ImageRecord> {
    const manifestDigest = this.putBlobBytes(a.manifest)
    const m = JSON.parse(a.manifest.toString('utf8')) as Manifest
    await assertValid('image-manifest', m, 'the image manifest')
    const configDigest = this.putBlobBytes(a.config, m.config.digest)
    const config = JSON.parse(a.config.toString('utf8')) as ImageConfig
    await assertValid('image-config', config, 'the image config')
    const diffIds = config.rootfs.diff_ids
    if (diffIds.length !== a.layers.length || a.layers.some((l, i) => l.diffId !== diffIds[i] || l.digest !== m.layers[i]?.digest)) {
      throw refused('the image config\'s layers (rootfs.diff_ids) do not match its manifest\'s')
    }
    const mediaType = m.mediaType ?? 'application/vnd.oci.image.manifest.v1+json'
    return this.mutate((ix) => {
      for (const l of a.layers) {
        if (!this.hasBlob(l.digest) || !this.layer(l.diffId)) throw imageError('store-busy', `a layer of the image (${l.digest.slice(0, 19)}) was removed meanwhile by another command`, 'run the command again')
      }
      const prev = ix.images[configDigest]
      const repoDigests = new Set(prev?.repoDigests ?? [])
      if (a.repository) repoDigests.add(`${a.repository}@${manifestDigest}`)
      const rec: ImageRecord = {id: configDigest, manifest: manifestDigest, manifestMediaType: mediaType, layers: a.layers, repoDigests: [...repoDigests].sort(), added: prev?.added ?? new Date().toISOString()}
      // a different manifest for the same config (pulled again, recompressed): the newest counts
      ix.images[configDigest] = rec
      for (const t of a.tags ?? []) ix.tags[t] = configDigest
      return rec
    })
  }

  list(): Array<{image: ImageRecord; tags: string[]}> {
    const ix = this.index()
    const tagsOf = tagsById(ix)
    return Object.values(ix.images)
      .map((image) => ({image, tags: tagsOf.get(image.id) ?? []}))
      .sort((a, b) => b.image.added.localeCompare(a.image.added))
  }

  tagsOf(id: string): string[] {
    return tagsById(this.index()).get(id) ?? []
  }

  /** An image by full or short id (any unique hex prefix), tag, or name@digest. */
  resolve(ref: string): ImageRecord {
    const r = resolveIn(this.index(), ref)
    if (!r) throw notFound(ref)
    return r.image
  }

  manifestOf(img: ImageRecord): Manifest {
    return JSON.parse(this.readBlob(img.manifest).toString('utf8')) as Manifest
  }

  configOf(img: ImageRecord): ImageConfig {
    return JSON.parse(this.readBlob(img.id).toString('utf8')) as ImageConfig
  }

  /** Unpacked size: what the layers hold, as Docker's SIZE column shows it. */
  sizeOf(img: ImageRecord): number {
    return img.layers.reduce((n, l) => n + (this.layer(l.diffId)?.size ?? 0), 0)
  }

  async tag(source: string, target: string): Promise<{id: string; tag: string}> {
    const t = parseReference(target)
    if (t.digest) throw imageError('bad-tag', `a tag cannot have a digest: ${target}`, 'write NAME[:TAG]')
    return this.mutate((ix) => {
      const r = resolveIn(ix, source)
      if (!r) throw notFound(source)
      ix.tags[taggedName(t)] = r.image.id
      return {id: r.image.id, tag: familiarTagged(taggedName(t))}
    })
  }

  /**
   * `docker image rm`: by tag, it untags (and deletes the image when that was its last
   * name); by id, it deletes the image, which needs -f when the image has several names.
   */
  async remove(ref: string, opts: {force?: boolean; noPrune?: boolean; inUse?: Map<string, string>} = {}): Promise<Array<{Untagged?: string; Deleted?: string}>> {
    return this.mutate((ix) => {
      const r = resolveIn(ix, ref)
      if (!r) throw notFound(ref)
      const out: Array<{Untagged?: string; Deleted?: string}> = []
      const id = r.image.id
      const names = [...(tagsById(ix).get(id) ?? [])]
      // docker rmi's conflict: the image a sandbox runs on is not deleted without -f
      // (a tag among several may still go)
      const user = opts.inUse?.get(id)
      const deletes = r.by === 'tag' ? names.length <= 1 : r.by === 'digest' ? names.length === 0 || opts.force : names.length <= 1 || opts.force
      if (user && deletes && !opts.force) {
        throw new LabError('image-conflict', `unable to remove ${ref}: sandbox ${user} runs on image ${id.slice(7, 19)}`, {hint: `remove the sandbox first (lab sandbox rm ${user}), or use -f`, exitCode: 1})
      }
      if (r.by === 'tag') {
        delete ix.tags[r.key]
        out.push({Untagged: familiarTagged(r.key)})
        if (names.length > 1) return out
      } else if (r.by === 'digest') {
        r.image.repoDigests = r.image.repoDigests.filter((d) => d !== r.key)
        out.push({Untagged: familiarDigested(r.key)})
        if (names.length > 0 && !opts.force) return out
      } else if (names.length > 1 && !opts.force) {
        throw new LabError('image-conflict', `unable to delete ${id.slice(7, 19)}: it is referenced in ${names.length} tags (${names.map(familiarTagged).join(', ')})`, {hint: 'remove the tags one by one, or use -f to delete the image and all of them', exitCode: 1})
      }
      for (const n of names) {
        if (ix.tags[n] === id) {
          delete ix.tags[n]
          if (r.by !== 'tag') out.push({Untagged: familiarTagged(n)})
        }
      }
      for (const d of r.image.repoDigests) if (r.by !== 'digest' || d !== r.key) out.push({Untagged: familiarDigested(d)})
      delete ix.images[id]
      out.push({Deleted: id})
      if (!opts.noPrune) for (const x of this.collect(ix)) out.push({Deleted: x})
      return out
    })
  }

  /** `docker image prune`: dangling (untagged) images, or with all every image. */
  async prune(opts: {all?: boolean; inUse?: Map<string, string>} = {}): Promise<{ImagesDeleted: Array<{Untagged?: string; Deleted?: string}>; SpaceReclaimed: number}> {
    return this.mutate((ix) => {
      const tagsOf = tagsById(ix)
      const deleted: Array<{Untagged?: string; Deleted?: string}> = []
      for (const img of Object.values(ix.images)) {
        const tags = tagsOf.get(img.id) ?? []
        if ((tags.length && !opts.all) || opts.inUse?.has(img.id)) continue
        for (const t of tags) {
          delete ix.tags[t]
          deleted.push({Untagged: familiarTagged(t)})
        }
        delete ix.images[img.id]
        deleted.push({Deleted: img.id})
      }
      const before = this.usage()
      const gone = this.collect(ix)
      const reclaimed = Math.max(0, before - this.usage())
      return {ImagesDeleted: [...deleted, ...gone.map((d) => ({Deleted: d}))], SpaceReclaimed: reclaimed}
    })
  }

  /** The digests of every blob and layer on disk. */
  contents(): {blobs: string[]; layers: string[]} {
    return {blobs: readdirSync(this.blobs).map((h) => `sha256:${h}`), layers: readdirSync(this.layers).map((h) => `sha256:${h}`)}
  }

  /**
   * After a failed pull or load: removes the blobs and layers it added that no image
   * refers to, so a refused image leaves nothing behind.
   */
  async discard(blobs: string[], diffIds: string[]): Promise<void> {
    await withLock(this.lockPath, 'the image store', async () => {
      const ix = this.index()
      const used = new Set(Object.values(ix.images).flatMap((i) => [i.id, i.manifest, ...i.layers.flatMap((l) => [l.digest, l.diffId])]))
      for (const b of blobs) if (!used.has(b)) rmSync(this.blobPath(b), {force: true})
      for (const d of diffIds) if (!used.has(d)) rmSync(this.layerPath(d), {recursive: true, force: true})
    })
  }

  /** Removes blobs and layers no image refers to (the index lock is held); returns layer ids removed. */
  private collect(ix: Index): string[] {
    const blobs = new Set<string>()
    const layers = new Set<string>()
    for (const img of Object.values(ix.images)) {
      blobs.add(hexOf(img.id))
      blobs.add(hexOf(img.manifest))
      for (const l of img.layers) {
        blobs.add(hexOf(l.digest))
        layers.add(hexOf(l.diffId))
      }
    }
    const removed: string[] = []
    for (const h of readdirSync(this.blobs)) if (!blobs.has(h)) rmSync(join(this.blobs, h), {force: true})
    // downloads a killed pull left for resuming, unless a pull is at one now (its lock)
    const partial = join(this.root, 'partial')
    if (existsSync(partial)) {
      const names = readdirSync(partial)
      for (const n of names) if (!n.endsWith('.lock') && !names.includes(`${n}.lock`)) rmSync(join(partial, n), {force: true})
    }
    for (const h of readdirSync(this.layers)) {
      if (layers.has(h)) continue
      rmSync(join(this.layers, h), {recursive: true, force: true})
      removed.push(`sha256:${h}`)
    }
    return removed
  }

  /** Bytes the store holds (blobs and unpacked layers, by their records). */
  usage(): number {
    let n = 0
    for (const h of readdirSync(this.blobs)) n += statSync(join(this.blobs, h)).size
    for (const h of readdirSync(this.layers)) n += readJson<UnpackedLayer>(join(this.layers, h, 'layer.json'))?.size ?? 0
    return n
  }
}

function tagsById(ix: Index): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const [t, id] of Object.entries(ix.tags).sort()) m.set(id, [...(m.get(id) ?? []), t])
  return m
}

function resolveIn(ix: Index, ref: string): {image: ImageRecord; by: 'id' | 'tag' | 'digest'; key: string} | null {
  if (isDigest(ref)) {
    const img = ix.images[ref]
    return img ? {image: img, by: 'id', key: ref} : null
  }
  if (/^[a-f0-9]{1,64}$/.test(ref)) {
    const hits = Object.keys(ix.images).filter((id) => hexOf(id).startsWith(ref))
    // a prefix that also reads as a name (e.g. "abc") is a name when a tag has it
    const tagged = ix.tags[`docker.io/library/${ref}:latest`]
    if (hits.length === 1 && !tagged) return {image: ix.images[hits[0]], by: 'id', key: hits[0]}
    if (hits.length > 1 && !tagged) throw new LabError('image-ambiguous', `the id prefix ${ref} matches ${hits.length} images`, {hint: 'give more digits of the id', exitCode: 1})
  }
  let r
  try {
    r = parseReference(ref)
  } catch {
    return null
  }
  if (r.digest) {
    const key = `${repositoryOf(r)}@${r.digest}`
    const img = Object.values(ix.images).find((i) => i.repoDigests.includes(key)) ?? Object.values(ix.images).find((i) => i.manifest === r.digest)
    return img ? {image: img, by: 'digest', key} : null
  }
  const key = taggedName(r)
  const id = ix.tags[key]
  return id && ix.images[id] ? {image: ix.images[id], by: 'tag', key} : null
}

function writeFileExcl(path: string, data: Buffer): void {
  writeFileSync(path, data, {flag: 'wx', mode: 0o600})
}
