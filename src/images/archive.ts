/**
 * Images as files, without a registry:
 * - import/export of a flat file system (a plain tar of a root), Docker's `import`/`export`;
 * - save/load of whole images: `docker save`'s tarball in the form Docker 25 writes it
 *   (an OCI image layout with `manifest.json` and `repositories` beside it, so it is also an
 *   oci-archive), an OCI layout directory, and on load also older `docker save` tarballs.
 *   Blobs travel as they are stored, so digests survive a save and a load.
 * Nothing read is trusted: archives are unpacked as plain files only (no links, devices or
 * "..", capped), every blob is checked against its digest, manifests and configs against
 * their schemas, and every layer is unpacked by layer.ts before an image is filed.
 */
import {createReadStream, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync, existsSync, statSync, constants, openSync, writeSync, closeSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {Readable, type Writable} from 'node:stream'
import {createGunzip} from 'node:zlib'

import {assertValid} from '../validators.js'
import {applyChanges} from './changes.js'
import {checkDigest, hexOf, sha256} from './digest.js'
import {imageError, refused} from './errors.js'
import {flattenLayers} from './flatten.js'
import {compressionOf, memberParts} from './layer.js'
import {hostPlatform, INDEX_TYPES, isLayerType, jsonBytes, layerMediaType, MANIFEST_TYPES, manifestFor, MT, type Descriptor, type ImageConfig, type ImageIndex, type Manifest} from './oci.js'
import {familiarTagged, parseReference, taggedName} from './reference.js'
import type {ImageRecord, ImageStore, LayerRef, StoredLayer} from './store.js'
import {readTar} from './tar-stream.js'
import {TarWriter} from './tar-out.js'

// ------------------------------------------------------------------ import / export

export interface ImportOptions {
  tags?: string[]
  changes?: string[]
  message?: string
  /** what the history says it came from ("-" or a file name) */
  source: string
  platform?: {os: string; architecture: string}
}

/** A tarball of a root file system (plain or gzip) as a one-layer image. */
export async function importImage(store: ImageStore, src: Readable, o: ImportOptions): Promise<ImageRecord> {
  const tags = (o.tags ?? []).map((t) => {
    const r = parseReference(t)
    if (r.digest) throw imageError('bad-tag', `cannot name an imported image by digest: ${t}`, 'give NAME[:TAG]')
    return taggedName(r)
  })
  const config0 = applyChanges({}, o.changes ?? [])
  const blob = await store.putBlobStream(src, undefined, 'the imported archive')
  const compression = compressionOf(store.blobPath(blob.digest))
  const layer = await store.ensureLayer(blob.digest, undefined, `the archive ${o.source}`)
  const created = new Date().toISOString()
  const plat = o.platform ?? hostPlatform()
  const config: ImageConfig = {
    created,
    architecture: plat.architecture,
    os: plat.os,
    config: config0,
    rootfs: {type: 'layers', diff_ids: [layer.diffId]},
    history: [{created, created_by: `lab image import ${o.source}`, ...(o.message ? {comment: o.message} : {})}],
  }
  const configBytes = jsonBytes(config)
  const layers: LayerRef[] = [{digest: blob.digest, mediaType: layerMediaType('oci', compression), size: blob.size, diffId: layer.diffId}]
  return store.addImage({manifest: jsonBytes(manifestFor('oci', configBytes, layers)), config: configBytes, layers, tags})
}

/** The image's merged file system as one plain tar (whiteouts applied). */
export async function exportImage(store: ImageStore, img: ImageRecord, out: Writable): Promise<{entries: number}> {
  const layers = img.layers.map((l) => {
    const s = store.layer(l.diffId)
    if (!s) throw imageError('store-damaged', `the store has lost the layer ${l.diffId}`, 'remove the image and pull or load it again')
    return s
  })
  return exportLayers(layers, out)
}

/** Layers (bottom first, each a directory with its whiteouts and opaque directories) merged into one plain tar. */
export async function exportLayers(layers: Array<Pick<StoredLayer, 'path' | 'whiteouts' | 'opaques'>>, out: Writable): Promise<{entries: number}> {
  const tw = new TarWriter(out)
  const links = new Map<string, string>()
  let entries = 0
  for (const e of flattenLayers(layers)) {
    const owner = {uid: e.st.uid, gid: e.st.gid}
    const mtime = Math.floor(e.st.mtimeMs / 1000)
    entries++
    if (e.st.isDirectory()) await tw.dir(e.path, e.st.mode & 0o7777, owner, mtime)
    else if (e.st.isSymbolicLink()) await tw.symlink(e.path, readlinkSync(e.abs), owner, mtime)
    else if (e.st.isFile()) {
      const key = `${e.st.dev}:${e.st.ino}`
      const first = e.st.nlink > 1 ? links.get(key) : undefined
      if (first) await tw.hardlink(e.path, first, owner, mtime)
      else {
        if (e.st.nlink > 1) links.set(key, e.path)
        await tw.fileFrom(e.path, e.abs, e.st.size, e.st.mode & 0o7777, owner, mtime)
      }
    }
  }
  await tw.end()
  return {entries}
}

// ------------------------------------------------------------------ save

export type SaveFormat = 'docker-archive' | 'oci-archive' | 'oci-dir'

interface SaveItem {
  img: ImageRecord
  /** canonical "domain/path:tag" names to write for it */
  names: string[]
}

function saveItems(store: ImageStore, refs: string[]): SaveItem[] {
  const items = new Map<string, SaveItem>()
  for (const ref of refs) {
    const img = store.resolve(ref)
    const item = items.get(img.id) ?? {img, names: []}
    // by name: that name; by id: every tag the image has (docker save's rule)
    let names: string[]
    try {
      const r = parseReference(ref)
      names = !r.digest && store.tagsOf(img.id).includes(taggedName(r)) ? [taggedName(r)] : store.tagsOf(img.id)
    } catch {
      names = store.tagsOf(img.id)
    }
    for (const n of names) if (!item.names.includes(n)) item.names.push(n)
    items.set(img.id, item)
  }
  return [...items.values()]
}

function blobsOf(img: ImageRecord): string[] {
  return [img.manifest, img.id, ...img.layers.map((l) => l.digest)]
}

/** The OCI layout's index.json: one entry per name (containerd's and the spec's annotations), or one without. */
function layoutIndex(store: ImageStore, items: SaveItem[]): ImageIndex {
  const manifests: Descriptor[] = []
  for (const {img, names} of items) {
    const d = {mediaType: img.manifestMediaType, digest: img.manifest, size: store.blobSize(img.manifest)}
    if (!names.length) manifests.push(d)
    for (const n of names) manifests.push({...d, annotations: {'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': n.slice(n.lastIndexOf(':') + 1)}})
  }
  return {schemaVersion: 2, mediaType: MT.ociIndex, manifests}
}

export async function saveImages(store: ImageStore, refs: string[], format: SaveFormat, out: {stream?: Writable; dir?: string}): Promise<{images: Array<{id: string; names: string[]}>}> {
  const items = saveItems(store, refs)
  const blobs = [...new Set(items.flatMap((i) => blobsOf(i.img)))]
  for (const b of blobs) if (!store.hasBlob(b)) throw imageError('store-damaged', `the store has lost the blob ${b}`, 'remove the image and pull or load it again')
  const index = layoutIndex(store, items)
  const summary = {images: items.map((i) => ({id: i.img.id, names: i.names.map(familiarTagged)}))}
  if (format === 'oci-dir') {
    const dir = out.dir!
    mkdirSync(join(dir, 'blobs', 'sha256'), {recursive: true})
    for (const b of blobs) {
      const dest = join(dir, 'blobs', 'sha256', hexOf(b))
      if (existsSync(dest) && statSync(dest).size === store.blobSize(b)) continue
      await copyFile(store.blobPath(b), dest)
    }
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index))
    return summary
  }
  const tw = new TarWriter(out.stream!)
  await tw.dir('blobs')
  await tw.dir('blobs/sha256')
  for (const b of blobs) await tw.fileFrom(`blobs/sha256/${hexOf(b)}`, store.blobPath(b), store.blobSize(b), 0o444)
  await tw.file('oci-layout', Buffer.from(JSON.stringify({imageLayoutVersion: '1.0.0'})), 0o444)
  await tw.file('index.json', Buffer.from(JSON.stringify(index)), 0o444)
  if (format === 'docker-archive') {
    const manifest = items.map(({img, names}) => ({
      Config: `blobs/sha256/${hexOf(img.id)}`,
      RepoTags: names.map(familiarTagged),
      Layers: img.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
    }))
    await tw.file('manifest.json', Buffer.from(JSON.stringify(manifest)), 0o444)
    const repos: Record<string, Record<string, string>> = {}
    for (const {img, names} of items) {
      for (const n of names.map(familiarTagged)) {
        const c = n.lastIndexOf(':')
        ;(repos[n.slice(0, c)] ??= {})[n.slice(c + 1)] = hexOf(img.layers.at(-1)?.digest ?? img.id)
      }
    }
    if (Object.keys(repos).length) await tw.file('repositories', Buffer.from(JSON.stringify(repos)), 0o444)
  }
  await tw.end()
  return summary
}

async function copyFile(src: string, dest: string): Promise<void> {
  const fd = openSync(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644)
  try {
    for await (const chunk of createReadStream(src) as AsyncIterable<Buffer>) {
      let off = 0
      while (off < chunk.length) off += writeSync(fd, chunk, off)
    }
  } finally {
    closeSync(fd)
  }
}

// ------------------------------------------------------------------ load

export interface LoadResult {
  images: Array<{id: string; tags: string[]}>
}

/** Unpacks an archive's regular files into dir; links, devices and ".." are refused. */
async function unpackArchive(src: Readable, dir: string, maxBytes: number): Promise<void> {
  const body = await maybeGunzip(src)
  let bytes = 0
  let entries = 0
  let fd: number | null = null
  try {
    await readTar(body as AsyncIterable<Buffer>, 'the archive', (m) => {
      if (++entries > 100_000) throw refused('the archive has more than 100000 entries')
      const parts = memberParts(m.name, 'the archive')
      if (parts.length === 0) return null
      if (m.type === 'dir') {
        mkdirSafe(dir, parts)
        return null
      }
      if (m.type !== 'file') {
        // old docker save archives link identical layers; nothing else in an image archive is a link
        if (m.type === 'symlink' && parts.length === 2 && parts[1] === 'layer.tar') return null
        throw refused(`the archive holds ${m.name.slice(0, 200)}, which is not a regular file`, 'image archives hold files and directories only')
      }
      bytes += m.size
      if (bytes > maxBytes) throw refused(`the archive holds more than ${maxBytes} bytes`, 'raise LAB_IMAGE_MAX_LAYER_SIZE if it is trusted')
      const parent = mkdirSafe(dir, parts.slice(0, -1))
      const abs = join(parent, parts[parts.length - 1])
      rmSync(abs, {force: true})
      const f = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
      if (m.size === 0) {
        closeSync(f)
        return null
      }
      fd = f
      let n = 0
      return (chunk: Buffer) => {
        let off = 0
        while (off < chunk.length) off += writeSync(f, chunk, off)
        n += chunk.length
        if (n === m.size) {
          closeSync(f)
          fd = null
        }
      }
    })
  } finally {
    if (fd !== null) closeSync(fd)
    src.destroy()
  }
}

/** The stream, decompressed when it starts as gzip does (docker save | gzip). */
async function maybeGunzip(src: Readable): Promise<Readable> {
  const first = await new Promise<Buffer | null>((res, rej) => {
    const done = () => {
      src.off('readable', tryRead)
      src.off('end', onEnd)
      src.off('error', onErr)
    }
    const tryRead = () => {
      const c = src.read() as Buffer | null
      if (c !== null) {
        done()
        res(c)
      }
    }
    const onEnd = () => (done(), res(null))
    const onErr = (e: Error) => (done(), rej(e))
    src.on('readable', tryRead)
    src.on('end', onEnd)
    src.on('error', onErr)
  })
  if (!first) throw refused('the archive is empty', 'give a file written by lab image save or docker save')
  src.unshift(first)
  if (first[0] !== 0x1f || first[1] !== 0x8b) return src
  const gz = createGunzip()
  src.on('error', (e) => gz.destroy(e))
  return src.pipe(gz)
}

function mkdirSafe(root: string, parts: string[]): string {
  let d = root
  for (const p of parts) {
    d = join(d, p)
    try {
      mkdirSync(d, {mode: 0o700})
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      if (!lstatSync(d).isDirectory()) throw refused(`the archive has ${parts.join('/')} as both a file and a directory`)
    }
  }
  return d
}

/** A file named inside the unpacked archive: a plain relative path to a regular file. */
function member(dir: string, name: string, what: string): string {
  const parts = memberParts(name, 'the archive')
  const abs = join(dir, ...parts)
  let st
  try {
    st = lstatSync(abs)
  } catch {
    throw refused(`the archive names ${name.slice(0, 200)} as ${what}, but does not hold it`, 'the archive is incomplete; save it again')
  }
  if (!st.isFile()) throw refused(`the archive's ${name.slice(0, 200)} is not a regular file`)
  return abs
}

function readJsonFile(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    throw refused(`${what} is not valid JSON`)
  }
}

/** Loads what an archive or layout holds into the store. */
export async function loadImages(store: ImageStore, src: {stream?: Readable; dir?: string}): Promise<LoadResult> {
  const before = store.contents()
  try {
    return await loadAll(store, src)
  } catch (e) {
    // a refused archive leaves nothing: what this load added and no image uses goes
    const after = store.contents()
    await store.discard(after.blobs.filter((b) => !before.blobs.includes(b)), after.layers.filter((l) => !before.layers.includes(l)))
    throw e
  }
}

async function loadAll(store: ImageStore, src: {stream?: Readable; dir?: string}): Promise<LoadResult> {
  let dir = src.dir
  let work: string | null = null
  try {
    if (!dir) {
      work = store.tempDir()
      dir = join(work, 'archive')
      mkdirSync(dir, {mode: 0o700})
      await unpackArchive(src.stream!, dir, store.limits.maxBytes)
    }
    const hasIndex = existsSync(join(dir, 'index.json'))
    const hasDockerManifest = existsSync(join(dir, 'manifest.json'))
    if (!hasIndex && !hasDockerManifest) throw refused('neither an OCI layout (index.json) nor a docker save archive (manifest.json)', 'give a file written by lab image save or docker save, or an OCI layout directory')
    // docker save's manifest.json names the tags; without it the layout's annotations do
    const dockerTags = new Map<string, string[]>()
    if (hasDockerManifest) {
      const dm = readJsonFile(member(dir, 'manifest.json', 'its manifest'), 'manifest.json') as Array<{Config: string; RepoTags?: string[] | null; Layers: string[]}>
      await assertValid('docker-archive-manifest', dm, 'the archive\'s manifest.json')
      for (const e of dm) {
        const configPath = member(dir, e.Config, 'an image config')
        const id = sha256(readFileSync(configPath))
        dockerTags.set(id, [...(dockerTags.get(id) ?? []), ...(e.RepoTags ?? []).map((t) => taggedName(parseReference(t)))])
        if (!hasIndex) await loadDockerEntry(store, dir, e, configPath, dockerTags.get(id)!)
      }
    }
    const loaded: LoadResult = {images: []}
    if (hasIndex) {
      const index = readJsonFile(member(dir, 'index.json', 'its index'), 'index.json') as ImageIndex
      await assertValid('image-index', index, 'the layout\'s index.json')
      const seen = new Map<string, string[]>()
      for (const d of index.manifests) {
        const img = await loadFromLayout(store, dir, d, 0)
        const name = d.annotations?.['io.containerd.image.name'] ?? d.annotations?.['org.opencontainers.image.ref.name']
        const tags = seen.get(img.rec.id) ?? []
        if (name) {
          try {
            const r = parseReference(name)
            // a bare "latest" names no repository: no tag then, as docker load does
            if (!r.digest && (name.includes('/') || name.includes(':'))) tags.push(taggedName(r))
          } catch {}
        }
        for (const t of dockerTags.get(img.rec.id) ?? []) if (!tags.includes(t)) tags.push(t)
        seen.set(img.rec.id, tags)
      }
      for (const [id, tags] of seen) {
        if (tags.length) for (const t of tags) await store.tag(id, t)
        loaded.images.push({id, tags: tags.map(familiarTagged)})
      }
    } else {
      for (const [id, tags] of dockerTags) loaded.images.push({id, tags: tags.map(familiarTagged)})
    }
    return loaded
  } finally {
    if (work) rmSync(work, {recursive: true, force: true})
  }
}

async function putFromLayout(store: ImageStore, dir: string, d: Descriptor): Promise<void> {
  checkDigest(d.digest, 'the layout')
  if (store.hasBlob(d.digest)) return
  const path = member(dir, `blobs/sha256/${hexOf(d.digest)}`, `the blob ${d.digest}`)
  await store.putBlobStream(createReadStream(path), {digest: d.digest, size: d.size}, `the blob ${d.digest.slice(0, 19)}`)
}

/** One entry of an OCI layout's index: a manifest, or an index whose host-platform manifest is taken. */
async function loadFromLayout(store: ImageStore, dir: string, d: Descriptor, depth: number): Promise<{rec: ImageRecord}> {
  if (depth > 2) throw refused('the layout nests indexes too deep')
  await putFromLayout(store, dir, d)
  const body = store.readBlob(d.digest)
  const parsed = JSON.parse(body.toString('utf8')) as {mediaType?: string; manifests?: unknown}
  const mediaType = parsed.mediaType ?? d.mediaType
  if (INDEX_TYPES.includes(mediaType) || (parsed.manifests && !MANIFEST_TYPES.includes(mediaType))) {
    const idx = parsed as ImageIndex
    await assertValid('image-index', idx, `the index ${d.digest.slice(0, 19)}`)
    const want = hostPlatform()
    const pick = idx.manifests.find((m) => m.platform?.os === want.os && m.platform.architecture === want.architecture)
    if (!pick) throw imageError('no-platform', `the image has no ${want.os}/${want.architecture} variant`, 'save the image for this machine\'s platform')
    return loadFromLayout(store, dir, pick, depth + 1)
  }
  const m = parsed as Manifest
  await assertValid('image-manifest', m, `the manifest ${d.digest.slice(0, 19)}`)
  await putFromLayout(store, dir, m.config)
  const config = JSON.parse(store.readBlob(m.config.digest).toString('utf8')) as ImageConfig
  await assertValid('image-config', config, 'the image config')
  if (config.rootfs.diff_ids.length !== m.layers.length) throw refused('the image config\'s layers (rootfs.diff_ids) do not match its manifest\'s')
  const layers: LayerRef[] = []
  for (const [i, l] of m.layers.entries()) {
    if (!isLayerType(l.mediaType)) throw refused(`a layer has the media type ${l.mediaType}, which lab does not read`, 'use gzip, zstd or uncompressed layers')
    await putFromLayout(store, dir, l)
    await store.ensureLayer(l.digest, config.rootfs.diff_ids[i])
    layers.push({digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: config.rootfs.diff_ids[i]})
  }
  const rec = await store.addImage({manifest: body, config: store.readBlob(m.config.digest), layers})
  return {rec}
}

/** An entry of an older docker save archive: a config file and layer.tar files, no manifests. */
async function loadDockerEntry(store: ImageStore, dir: string, e: {Config: string; Layers: string[]}, configPath: string, tags: string[]): Promise<void> {
  const configBytes = readFileSync(configPath)
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig
  await assertValid('image-config', config, 'the image config')
  if (config.rootfs.diff_ids.length !== e.Layers.length) throw refused('the image config\'s layers (rootfs.diff_ids) do not match the archive\'s manifest.json')
  const layers: LayerRef[] = []
  for (const [i, name] of e.Layers.entries()) {
    const path = member(dir, name, 'a layer')
    const blob = await store.putBlobStream(createReadStream(path), undefined, `the layer ${name.slice(0, 80)}`)
    const compression = compressionOf(store.blobPath(blob.digest))
    await store.ensureLayer(blob.digest, config.rootfs.diff_ids[i])
    layers.push({digest: blob.digest, mediaType: layerMediaType('docker', compression), size: blob.size, diffId: config.rootfs.diff_ids[i]})
  }
  await store.addImage({manifest: jsonBytes(manifestFor('docker', configBytes, layers)), config: configBytes, layers, tags})
}
