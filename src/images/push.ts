/**
 * `lab image push`: an image's blobs (layers, then config) uploaded unless the registry
 * has them (HEAD), each in one monolithic upload (POST, then PUT ?digest=), then its
 * manifest under the tag. What is sent is what is stored, so the digest stays the same.
 */

import {LabError} from '../errors.js'
import {hexOf} from './digest.js'
import {imageError} from './errors.js'
import {Progress} from './progress.js'
import {parseReference, repositoryOf, taggedName} from './reference.js'
import {errorText, insecureFromEnv, RegistryClient} from './registry/client.js'
import type {ImageStore} from './store.js'

export interface PushResult {
  reference: string
  digest: string
  size: number
  blobs: Array<{digest: string; status: 'exists' | 'pushed'}>
}

export async function pushImage(store: ImageStore, ref: string, o: {stateDir?: string; insecure?: string[]; progress?: Progress} = {}): Promise<PushResult> {
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
    progress.set(label, 'Pushing', 0, b.size)
    const start = await client.request('POST', `${r.path}/blobs/uploads/`, scope, {headers: {'content-length': '0'}})
    await start.body?.cancel()
    const loc = start.headers.get('location')
    if (start.status !== 202 || !loc) throw imageError('registry', `${client.host} refused to start an upload (${start.status})`)
    const base = await locationUrl(client, loc)
    const url = `${base}${base.includes('?') ? '&' : '?'}digest=${encodeURIComponent(b.digest)}`
    const put = await client.request('PUT', url, scope, {
      headers: {'content-type': 'application/octet-stream', 'content-length': String(b.size)},
      body: () => store.blobStream(b.digest),
    })
    if (put.status !== 201) throw imageError('registry', `${client.host} refused the blob ${b.digest.slice(0, 19)}: ${await errorText(put)}`)
    await put.body?.cancel()
    progress.set(label, 'Pushed')
    blobs.push({digest: b.digest, status: 'pushed'})
  }
  const manifest = store.readBlob(img.manifest)
  const tag = r.tag ?? 'latest'
  const put = await client.request('PUT', `${r.path}/manifests/${tag}`, scope, {headers: {'content-type': img.manifestMediaType}, body: manifest})
  if (put.status !== 201) throw imageError('registry', `${client.host} refused the manifest: ${await errorText(put)}`)
  await put.body?.cancel()
  const claimed = put.headers.get('docker-content-digest')
  if (claimed && claimed !== img.manifest) throw new LabError('image-registry', `${client.host} filed the manifest as ${claimed}, not ${img.manifest}`, {hint: 'the registry rewrote the manifest; pull it to see what it holds'})
  progress.end()
  progress.line(`${tag}: digest: ${img.manifest} size: ${manifest.length}`)
  return {reference: taggedName(r), digest: img.manifest, size: manifest.length, blobs}
}

/** A Location header is relative to the registry, or a full URL on it. */
async function locationUrl(client: RegistryClient, loc: string): Promise<string> {
  return new URL(loc, `${await client.origin()}/`).toString()
}
