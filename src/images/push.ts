/**
 * `lab image push`: an image's blobs (layers, then config) sent unless the registry has
 * them (HEAD), then its manifest under the tag. What is sent is what is stored, so the
 * digest stays the same. As Docker's and containerd's pushers do:
 * - a blob this store knows to be in another repository of the same registry (an image
 *   pulled from or pushed to it holds it) is mounted from there
 *   (POST /blobs/uploads/?mount=DIGEST&from=REPO): no bytes sent; a registry that does
 *   not mount answers 202 with an upload session, which is used instead;
 * - a small blob goes in one monolithic upload (POST, then PUT ?digest= with the bytes);
 *   a large one in chunks (PATCH with Content-Range, each at the Location the last one
 *   returned, then PUT ?digest=), no smaller than the registry's OCI-Chunk-Min-Length;
 * - once pushed, the image records the repository's digest (RepoDigests), so the next
 *   push of an image sharing its layers to another repository mounts them.
 * LAB_PUSH_CHUNK_SIZE sets the chunk size (default 32m; blobs above it are chunked).
 */
import {createReadStream} from 'node:fs'

import {LabError} from '../errors.js'
import {parseSize} from '../sandbox/units.js'
import {hexOf} from './digest.js'
import {imageError} from './errors.js'
import {Progress} from './progress.js'
import {parseReference, repositoryOf, taggedName} from './reference.js'
import {errorText, insecureFromEnv, RegistryClient} from './registry/client.js'
import type {ImageRecord, ImageStore} from './store.js'

export interface PushResult {
  reference: string
  digest: string
  size: number
  blobs: Array<{digest: string; status: 'exists' | 'mounted' | 'pushed'; from?: string; chunks?: number}>
}

export const DEFAULT_CHUNK = 32 * 1024 * 1024
/** mount sources tried per blob before uploading it, as Docker's pusher limits them */
const MAX_MOUNT_TRIES = 3

export function chunkSize(env: NodeJS.ProcessEnv = process.env): number {
  return env.LAB_PUSH_CHUNK_SIZE ? parseSize(env.LAB_PUSH_CHUNK_SIZE, 'LAB_PUSH_CHUNK_SIZE', {min: 64 * 1024}) : DEFAULT_CHUNK
}

/** Other repositories of domain that this store knows hold digest (from RepoDigests). */
export function mountSources(store: ImageStore, digest: string, domain: string, target: string): string[] {
  const out: string[] = []
  for (const {image} of store.list()) {
    if (image.id !== digest && !image.layers.some((l) => l.digest === digest)) continue
    for (const rd of image.repoDigests) {
      let r
      try {
        r = parseReference(rd)
      } catch {
        continue
      }
      if (r.domain === domain && r.path !== target && !out.includes(r.path)) out.push(r.path)
    }
  }
  return out
}

export async function pushImage(store: ImageStore, ref: string, o: {stateDir?: string; insecure?: string[]; progress?: Progress; env?: NodeJS.ProcessEnv} = {}): Promise<PushResult> {
  const chunk = chunkSize(o.env)
  const r = parseReference(ref)
  if (r.digest) throw imageError('bad-tag', `push a tag, not a digest: ${ref}`, 'tag the image first: lab image tag IMAGE NAME:TAG')
  const img = store.resolve(ref)
  const client = new RegistryClient(r.domain, {stateDir: o.stateDir, insecure: [...(o.insecure ?? []), ...insecureFromEnv()]})
  const scope = `repository:${r.path}:pull,push`
  const progress = o.progress ?? new Progress(null)
  progress.line(`The push refers to repository [${repositoryOf(r)}]`)
  const blobs: PushResult['blobs'] = []
  const items = [...img.layers.map((l) => ({digest: l.digest, size: l.size})), {digest: img.id, size: store.blobSize(img.id)}]
  for (const b of items) {
    const label = hexOf(b.digest).slice(0, 12)
    const head = await client.request('HEAD', `${r.path}/blobs/${b.digest}`, scope)
    await head.body?.cancel()
    if (head.status === 200) {
      progress.set(label, 'Layer already exists')
      blobs.push({digest: b.digest, status: 'exists'})
      continue
    }
    // a mount from a repository that holds the blob, else an upload session to send it in
    let session: {url: string; minChunk: number} | null = null
    let mountedFrom: string | null = null
    for (const from of mountSources(store, b.digest, r.domain, r.path).slice(0, MAX_MOUNT_TRIES)) {
      progress.set(label, `Mounting from ${from}`)
      const res = await client.request('POST', `${r.path}/blobs/uploads/?mount=${encodeURIComponent(b.digest)}&from=${encodeURIComponent(from)}`, `${scope} repository:${from}:pull`, {headers: {'content-length': '0'}})
      await res.body?.cancel()
      if (res.status === 201) {
        mountedFrom = from
        break
      }
      const loc = res.headers.get('location')
      if (res.status === 202 && loc) {
        // the registry would not mount (no access to the source, or not there): upload into this session
        session = {url: await locationUrl(client, loc), minChunk: minChunkOf(res.headers.get('oci-chunk-min-length'))}
        break
      }
    }
    if (mountedFrom) {
      progress.set(label, `Mounted from ${mountedFrom}`)
      blobs.push({digest: b.digest, status: 'mounted', from: mountedFrom})
      continue
    }
    progress.set(label, 'Pushing', 0, b.size)
    session ??= await startUpload(client, r.path, scope)
    const size = Math.max(chunk, session.minChunk)
    const chunks = b.size > size ? await uploadChunked(client, store, b, session.url, size, scope, (n) => progress.set(label, 'Pushing', n, b.size)) : await uploadMonolithic(client, store, b, session.url, scope)
    progress.set(label, 'Pushed')
    blobs.push({digest: b.digest, status: 'pushed', ...(chunks > 1 ? {chunks} : {})})
  }
  const manifest = store.readBlob(img.manifest)
  const tag = r.tag ?? 'latest'
  const put = await client.request('PUT', `${r.path}/manifests/${tag}`, scope, {headers: {'content-type': img.manifestMediaType}, body: manifest})
  if (put.status !== 201) throw imageError('registry', `${client.host} refused the manifest: ${await errorText(put)}`)
  await put.body?.cancel()
  const claimed = put.headers.get('docker-content-digest')
  if (claimed && claimed !== img.manifest) throw new LabError('image-registry', `${client.host} filed the manifest as ${claimed}, not ${img.manifest}`, {hint: 'the registry rewrote the manifest; pull it to see what it holds'})
  await recordPushed(store, img, repositoryOf(r))
  progress.end()
  progress.line(`${tag}: digest: ${img.manifest} size: ${manifest.length}`)
  return {reference: taggedName(r), digest: img.manifest, size: manifest.length, blobs}
}

function minChunkOf(v: string | null): number {
  const n = Number(v)
  return v && Number.isSafeInteger(n) && n > 0 ? n : 0
}

async function startUpload(client: RegistryClient, repo: string, scope: string): Promise<{url: string; minChunk: number}> {
  const start = await client.request('POST', `${repo}/blobs/uploads/`, scope, {headers: {'content-length': '0'}})
  await start.body?.cancel()
  const loc = start.headers.get('location')
  if (start.status !== 202 || !loc) throw imageError('registry', `${client.host} refused to start an upload (${start.status})`)
  return {url: await locationUrl(client, loc), minChunk: minChunkOf(start.headers.get('oci-chunk-min-length'))}
}

function withDigest(url: string, digest: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`
}

async function uploadMonolithic(client: RegistryClient, store: ImageStore, b: {digest: string; size: number}, url: string, scope: string): Promise<number> {
  const put = await client.request('PUT', withDigest(url, b.digest), scope, {
    headers: {'content-type': 'application/octet-stream', 'content-length': String(b.size)},
    body: () => store.blobStream(b.digest),
  })
  if (put.status !== 201) throw imageError('registry', `${client.host} refused the blob ${b.digest.slice(0, 19)}: ${await errorText(put)}`)
  await put.body?.cancel()
  return 1
}

/** PATCH the blob in chunks of size (each at the Location the last answer gave), then PUT ?digest=. */
async function uploadChunked(client: RegistryClient, store: ImageStore, b: {digest: string; size: number}, url: string, size: number, scope: string, onProgress: (n: number) => void): Promise<number> {
  const path = store.blobPath(b.digest)
  let n = 0
  for (let start = 0; start < b.size; start += size) {
    const end = Math.min(start + size, b.size) - 1
    const res = await client.request('PATCH', url, scope, {
      headers: {'content-type': 'application/octet-stream', 'content-range': `${start}-${end}`, 'content-length': String(end - start + 1)},
      body: () => createReadStream(path, {start, end, highWaterMark: 1 << 20}),
    })
    if (res.status !== 202) throw imageError('registry', `${client.host} refused the bytes ${start}-${end} of the blob ${b.digest.slice(0, 19)}: ${await errorText(res)}`, res.status === 416 ? 'the registry lost track of the upload; push again' : undefined)
    await res.body?.cancel()
    // the registry's Range says what it holds: 0-END
    const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get('range') ?? '')
    if (range && Number(range[1]) !== end) throw imageError('registry', `${client.host} holds bytes 0-${range[1]} of the blob ${b.digest.slice(0, 19)} after a chunk that ended at ${end}`, 'push again')
    const loc = res.headers.get('location')
    if (loc) url = await locationUrl(client, loc)
    n++
    onProgress(end + 1)
  }
  const put = await client.request('PUT', withDigest(url, b.digest), scope, {headers: {'content-length': '0'}, body: Buffer.alloc(0)})
  if (put.status !== 201) throw imageError('registry', `${client.host} refused the blob ${b.digest.slice(0, 19)} at the end of its chunks: ${await errorText(put)}`)
  await put.body?.cancel()
  return n
}

/** The image's digest in the repository (RepoDigests), as Docker records it after a push. */
async function recordPushed(store: ImageStore, img: ImageRecord, repository: string): Promise<void> {
  await store.addImage({manifest: store.readBlob(img.manifest), config: store.readBlob(img.id), layers: img.layers, repository})
}

/** A Location header is relative to the registry, or a full URL on it. */
async function locationUrl(client: RegistryClient, loc: string): Promise<string> {
  return new URL(loc, `${await client.origin()}/`).toString()
}
