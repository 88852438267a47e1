/**
 * `lab image pull`: a manifest by tag or digest (an index resolved to this machine's
 * platform, or --platform's), its config and layers fetched in parallel and each checked
 * against its digest and size before it enters the store; a download cut off is resumed
 * with a Range request (also by the next pull, from the partial file a killed one left).
 * Layers the store already has are not fetched again. A mirror, when set, is asked first
 * for docker.io images, as Docker's registry-mirrors are.
 */
import {closeSync, createReadStream, mkdirSync, openSync, renameSync, rmSync, statSync, writev, ftruncateSync} from 'node:fs'
import {promisify} from 'node:util'
import {join} from 'node:path'

import type {Hash} from 'node:crypto'

import {withLock} from '../sandbox/state/lock.js'
import {assertValid} from '../validators.js'
import {hasher, hexOf, sha256} from './digest.js'
import {imageError, refused} from './errors.js'
import {hostPlatform, INDEX_TYPES, isLayerType, MANIFEST_TYPES, MT, type Descriptor, type ImageConfig, type ImageIndex, type Manifest, type Platform} from './oci.js'
import {Progress} from './progress.js'
import {parseReference, repositoryOf, taggedName, type Reference} from './reference.js'
import {errorText, insecureFromEnv, RegistryClient, type Resp} from './registry/client.js'
import type {ImageRecord, ImageStore, LayerRef} from './store.js'

const writevAsync = promisify(writev)

export const ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ')
const MAX_MANIFEST = 4 << 20

export interface PullOptions {
  stateDir?: string
  platform?: Platform
  insecure?: string[]
  /** a registry to ask first for docker.io images: host[:port] */
  mirror?: string
  progress?: Progress
  concurrency?: number
}

export interface PullResult {
  id: string
  digest: string
  reference: string
  layers: Array<{digest: string; status: 'exists' | 'pulled'}>
}

export function parsePlatform(s: string): Platform {
  const m = /^([a-z0-9]+)\/([a-z0-9_]+)(?:\/([a-z0-9]+))?$/.exec(s)
  if (!m) throw imageError('bad-platform', `--platform ${s} is not OS/ARCH[/VARIANT]`, 'e.g. --platform linux/amd64 or linux/arm64/v8')
  return {os: m[1], architecture: m[2], ...(m[3] ? {variant: m[3]} : {})}
}

async function readCapped(r: Resp, cap: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of r.body as AsyncIterable<Buffer>) {
    n += c.length
    if (n > cap) {
      r.body.destroy()
      throw refused(`${what} is larger than ${cap} bytes`)
    }
    chunks.push(c)
  }
  return Buffer.concat(chunks)
}

/** Picks the platform's manifest from an index: os and architecture, then the variant when asked. */
export function selectPlatform(index: ImageIndex, want: Platform): Descriptor {
  const fits = index.manifests.filter((m) => m.platform?.os === want.os && m.platform.architecture === want.architecture && MANIFEST_TYPES.includes(m.mediaType))
  const pick = want.variant ? fits.find((m) => m.platform?.variant === want.variant) : fits[0]
  if (!pick) {
    const have = index.manifests.filter((m) => m.platform).map((m) => [m.platform!.os, m.platform!.architecture, m.platform!.variant].filter(Boolean).join('/'))
    throw imageError('no-platform', `no ${[want.os, want.architecture, want.variant].filter(Boolean).join('/')} variant of the image (it has ${have.join(', ') || 'none named'})`, 'pick one with --platform')
  }
  return pick
}

class Source {
  constructor(readonly client: RegistryClient, readonly repo: string) {}
  get scope() {
    return `repository:${this.repo}:pull`
  }

  async manifest(ref: string, expected?: Descriptor): Promise<{body: Buffer; digest: string; mediaType: string}> {
    const r = await this.client.request('GET', `${this.repo}/manifests/${ref}`, this.scope, {headers: {accept: ACCEPT}})
    if (r.status === 404) {
      await r.body?.cancel()
      throw new (await import('../errors.js')).LabError('image-not-found', `${this.client.host}/${this.repo}:${ref} was not found on the registry`, {hint: 'check the name and tag (lab image pull NAME:TAG)', exitCode: 1})
    }
    if (r.status !== 200) throw imageError('registry', `${this.client.host} answered ${r.status} for the manifest ${ref}: ${await errorText(r)}`)
    const body = await readCapped(r, MAX_MANIFEST, 'the manifest')
    const digest = sha256(body)
    const claimed = r.headers.get('docker-content-digest')
    if (ref.startsWith('sha256:') && digest !== ref) throw refused(`the manifest ${ref} does not match its digest (it hashes to ${digest})`, 'the registry is damaged or was tampered with; nothing was stored')
    if (claimed && claimed.startsWith('sha256:') && claimed !== digest) throw refused(`the manifest does not match the digest the registry states (${claimed}; it hashes to ${digest})`, 'the registry is damaged or was tampered with; nothing was stored')
    if (expected && expected.size !== body.length) throw refused(`the manifest ${ref} has ${body.length} bytes, not the ${expected.size} its index states`)
    let mediaType = (r.headers.get('content-type') ?? '').split(';')[0].trim()
    try {
      const j = JSON.parse(body.toString('utf8')) as {mediaType?: string}
      if (j.mediaType) mediaType = j.mediaType
    } catch {
      throw refused(`the manifest ${ref} is not JSON`)
    }
    return {body, digest, mediaType}
  }
}

/** Downloads one blob into the store: resumed from a partial file, verified before it counts. */
async function fetchBlob(store: ImageStore, src: Source, d: Descriptor, progress: Progress, label: string): Promise<void> {
  const partialDir = join(store.root, 'partial')
  mkdirSync(partialDir, {recursive: true, mode: 0o700})
  const partial = join(partialDir, hexOf(d.digest))
  await withLock(`${partial}.lock`, `the download of ${d.digest.slice(0, 19)}`, async () => {
    if (store.hasBlob(d.digest)) return
    let lastError: Error | null = null
    // the hash of what the partial file holds, kept as it grows (one pass over the bytes)
    let h: Hash | null = null
    let hashed = 0
    for (let attempt = 0; attempt < 4; attempt++) {
      let have = 0
      try {
        have = statSync(partial).size
      } catch {}
      if (have > d.size) {
        rmSync(partial, {force: true})
        have = 0
      }
      if (have < d.size) {
        const r = await src.client.request('GET', `${src.repo}/blobs/${d.digest}`, src.scope, {headers: have ? {range: `bytes=${have}-`} : {}})
        if (r.status === 416) {
          // nothing past what we have: the registry's blob is shorter than stated
          await r.body?.cancel()
          lastError = new Error(`${have} of ${d.size} bytes`)
          break
        }
        if (r.status !== 200 && r.status !== 206) {
          rmSync(partial, {force: true})
          throw imageError('registry', `${src.client.host} answered ${r.status} for the blob ${d.digest.slice(0, 19)}: ${await errorText(r)}`)
        }
        const fd = openSync(partial, 'a', 0o600)
        const out = new Appender(fd)
        try {
          if (r.status === 200 && have) {
            ftruncateSync(fd, 0) // no range support: start over
            have = 0
          }
          if (!h || hashed !== have) {
            // a partial file from an earlier pull: hash what it holds first
            h = hasher()
            hashed = 0
            if (have) for await (const c of createReadStream(partial, {end: have - 1}) as AsyncIterable<Buffer>) (h.update(c), (hashed += c.length))
          }
          let got = have
          progress.set(label, have ? 'Resuming' : 'Downloading', got, d.size)
          try {
            for await (const b of r.body as AsyncIterable<Buffer>) {
              got += b.length
              if (got > d.size) throw refused(`the blob ${d.digest.slice(0, 19)} is longer than the ${d.size} bytes its manifest states`)
              await out.add(b)
              h.update(b)
              hashed += b.length
              progress.set(label, 'Downloading', got, d.size)
            }
            await out.drain()
          } catch (e) {
            if ((e as {code?: string}).code?.startsWith?.('image-')) throw e
            lastError = e as Error // a connection cut: resume from what arrived
            continue
          }
        } catch (e) {
          if ((e as {code?: string}).code?.startsWith?.('image-')) {
            await out.drain().catch(() => {})
            rmSync(partial, {force: true})
          }
          throw e
        } finally {
          // what arrived is in the partial file before it is closed (and resumed from)
          await out.drain().catch(() => {})
          closeSync(fd)
        }
      }
      const size = statSync(partial).size
      if (size < d.size) {
        lastError = new Error(`${size} of ${d.size} bytes`)
        continue
      }
      if (!h || hashed !== size) {
        h = hasher()
        for await (const c of createReadStream(partial) as AsyncIterable<Buffer>) h.update(c)
      }
      const digest = `sha256:${h.digest('hex')}`
      if (digest !== d.digest) {
        rmSync(partial, {force: true})
        throw refused(`the blob ${d.digest.slice(0, 19)} from ${src.client.host} does not match its digest (it hashes to ${digest})`, 'the registry is damaged or was tampered with; nothing of it was stored')
      }
      renameSync(partial, store.blobPath(d.digest))
      progress.set(label, 'Download complete')
      return
    }
    rmSync(partial, {force: true})
    throw refused(`the blob ${d.digest.slice(0, 19)} from ${src.client.host} stays shorter than the ${d.size} bytes its manifest states (${lastError?.message ?? 'truncated'})`, 'the registry serves a truncated blob; nothing of it was stored')
  })
}

const APPEND_BATCH = 1 << 20

/**
 * Appends a download to its partial file off the event loop: the socket's chunks,
 * gathered to 1 MiB, go to the thread pool in one writev while the next arrive and are
 * hashed (synchronous writes were a tenth of a pull's time on the one JavaScript thread).
 * One write is in flight at a time, so the file grows in order; add() waits when the disk
 * is behind.
 */
class Appender {
  private batch: Buffer[] = []
  private held = 0
  private inFlight: Promise<void> | null = null
  private failure: Error | null = null

  constructor(private readonly fd: number) {}

  async add(b: Buffer): Promise<void> {
    this.batch.push(b)
    this.held += b.length
    if (this.held >= APPEND_BATCH) await this.flush()
  }

  /** Everything added is in the file (or the write's error is thrown). */
  async drain(): Promise<void> {
    await this.flush()
    await this.inFlight
    this.inFlight = null
    if (this.failure) throw this.failure
  }

  private async flush(): Promise<void> {
    await this.inFlight
    if (this.failure) throw this.failure
    if (!this.held) return
    const bufs = this.batch
    this.batch = []
    this.held = 0
    this.inFlight = writevAll(this.fd, bufs).catch((e: Error) => {
      this.failure = e
    })
  }
}

async function writevAll(fd: number, bufs: Buffer[]): Promise<void> {
  while (bufs.length) {
    let n = (await writevAsync(fd, bufs)).bytesWritten
    if (n === 0 && bufs.some((b) => b.length)) throw new Error('the disk took none of a write')
    // a short write (or more buffers than one call takes): what is left of the batch
    while (bufs.length && n >= bufs[0].length) n -= bufs.shift()!.length
    if (n) bufs[0] = bufs[0].subarray(n)
  }
}

async function inParallel<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed: unknown = null
  const worker = async () => {
    while (next < items.length && failed === null) {
      const t = items[next++]
      try {
        await fn(t)
      } catch (e) {
        failed ??= e
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(n, items.length)}, worker))
  if (failed !== null) throw failed
}

function sources(r: Reference, o: PullOptions): Source[] {
  const insecure = [...(o.insecure ?? []), ...insecureFromEnv()]
  const list: Source[] = []
  const mirror = o.mirror ?? process.env.LAB_REGISTRY_MIRROR
  if (mirror && r.domain === 'docker.io') list.push(new Source(new RegistryClient(mirror.replace(/^https?:\/\//, '').replace(/\/$/, ''), {stateDir: o.stateDir, insecure}), r.path))
  list.push(new Source(new RegistryClient(r.domain, {stateDir: o.stateDir, insecure}), r.path))
  return list
}

export async function pullImage(store: ImageStore, ref: string, o: PullOptions = {}): Promise<PullResult> {
  const r = parseReference(ref)
  const progress = o.progress ?? new Progress(null)
  const want = o.platform ?? hostPlatform()
  let lastErr: unknown = null
  for (const src of sources(r, o)) {
    const added = {blobs: [] as string[], layers: [] as string[]}
    try {
      return await pullFrom(store, src, r, want, progress, o.concurrency ?? 3, added)
    } catch (e) {
      lastErr = e
      await store.discard(added.blobs, added.layers)
      // a mirror that fails is passed over; the registry's own answer is final
      const code = (e as {code?: string}).code ?? ''
      if (code === 'image-refused' || code === 'image-no-platform') throw e
    }
  }
  throw lastErr
}

async function pullFrom(store: ImageStore, src: Source, r: Reference, want: Platform, progress: Progress, concurrency: number, added: {blobs: string[]; layers: string[]}): Promise<PullResult> {
  const ref = r.digest ?? r.tag ?? 'latest'
  let m = await src.manifest(ref)
  if (INDEX_TYPES.includes(m.mediaType)) {
    const index = JSON.parse(m.body.toString('utf8')) as ImageIndex
    await assertValid('image-index', index, 'the image index')
    const pick = selectPlatform(index, want)
    m = await src.manifest(pick.digest, pick)
  }
  if (!MANIFEST_TYPES.includes(m.mediaType)) throw refused(`the registry sent a manifest of type ${m.mediaType || 'unknown'}`, 'lab reads OCI and Docker v2 schema 2 images (schema 1 is long deprecated)')
  const manifest = JSON.parse(m.body.toString('utf8')) as Manifest
  await assertValid('image-manifest', manifest, 'the image manifest')
  for (const l of manifest.layers) {
    if (!isLayerType(l.mediaType)) throw refused(`a layer has the media type ${l.mediaType}, which lab does not read`, 'foreign and non-tar layers are not supported')
  }
  progress.line(`${r.tag ?? r.digest}: Pulling from ${r.path}`)
  if (!store.hasBlob(manifest.config.digest)) {
    await fetchBlob(store, src, manifest.config, new Progress(null), 'config')
    added.blobs.push(manifest.config.digest)
  }
  const configBytes = store.readBlob(manifest.config.digest)
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig
  await assertValid('image-config', config, 'the image config')
  if (config.rootfs.diff_ids.length !== manifest.layers.length) throw refused('the image config\'s layers (rootfs.diff_ids) do not match its manifest\'s')
  const layers: LayerRef[] = manifest.layers.map((l, i) => ({digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: config.rootfs.diff_ids[i]}))
  const status: PullResult['layers'] = []
  for (const l of layers) progress.set(hexOf(l.digest).slice(0, 12), store.hasBlob(l.digest) && store.layer(l.diffId) ? 'Already exists' : 'Pulling fs layer')
  await inParallel(layers, concurrency, async (l) => {
    const label = hexOf(l.digest).slice(0, 12)
    if (store.hasBlob(l.digest) && store.layer(l.diffId)) {
      status.push({digest: l.digest, status: 'exists'})
      return
    }
    if (!store.hasBlob(l.digest)) {
      await fetchBlob(store, src, {mediaType: l.mediaType, digest: l.digest, size: l.size}, progress, label)
      added.blobs.push(l.digest)
    }
    progress.set(label, 'Extracting')
    if (!store.layer(l.diffId)) added.layers.push(l.diffId)
    await store.ensureLayer(l.digest, l.diffId)
    progress.set(label, 'Pull complete')
    status.push({digest: l.digest, status: 'pulled'})
  })
  progress.end()
  const tags = r.digest ? [] : [taggedName(r)]
  const rec: ImageRecord = await store.addImage({manifest: m.body, config: configBytes, layers, tags, repository: repositoryOf(r)})
  return {id: rec.id, digest: m.digest, reference: r.digest ? `${repositoryOf(r)}@${r.digest}` : taggedName(r), layers: layers.map((l) => status.find((s) => s.digest === l.digest)!)}
}
