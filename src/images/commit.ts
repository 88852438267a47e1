/**
 * A new image from a parent (or none) and new layers: the config, history and manifest
 * written as Docker's commit writes them, filed in the store with its tags. Used by
 * `lab sandbox commit` and by builds.
 */
import {imageError} from './errors.js'
import {hostPlatform, jsonBytes, manifestFor, MT, type HistoryEntry, type ImageConfig, type RunConfig} from './oci.js'
import {parseReference, taggedName} from './reference.js'
import type {ImageStore, LayerRef} from './store.js'

export interface CommitOptions {
  /** the image the layers go on (a reference or id in the store); absent: from scratch */
  parent?: string
  /** new layers, bottom first (layerFromUpper, layerFromDir) */
  newLayers: LayerRef[]
  /** the new image's run config (Docker's config fields); absent: the parent's */
  config?: RunConfig
  /** history entries for what was added: one per new layer unless marked empty_layer;
   * absent: one plain entry per layer */
  history?: HistoryEntry | HistoryEntry[]
  author?: string
  tags?: string[]
  /** its creation time (ISO 8601); default now */
  created?: string
}

/** Files the image and returns its id (the config's digest). */
export async function commitImage(store: ImageStore, o: CommitOptions): Promise<string> {
  const tags = (o.tags ?? []).map((t) => {
    const r = parseReference(t)
    if (r.digest) throw imageError('bad-tag', `cannot name a new image by digest: ${t}`, 'give REPOSITORY[:TAG]')
    return taggedName(r)
  })
  const parent = o.parent !== undefined ? store.resolve(o.parent) : undefined
  const base: ImageConfig | undefined = parent ? store.configOf(parent) : undefined
  const created = o.created ?? new Date().toISOString()
  const plat = base ?? hostPlatform()
  const given = o.history === undefined ? [] : Array.isArray(o.history) ? o.history : [o.history]
  const history: HistoryEntry[] = given.map((h) => ({created, ...h}))
  // every new layer has its history entry (the image spec counts them against the layers)
  const layered = history.filter((h) => !h.empty_layer).length
  for (let i = layered; i < o.newLayers.length; i++) history.push({created, ...(o.author ? {author: o.author} : {})})
  const config: ImageConfig = {
    created,
    ...(o.author ? {author: o.author} : {}),
    architecture: plat.architecture,
    ...(base?.variant ? {variant: base.variant} : {}),
    os: plat.os,
    config: o.config ?? base?.config ?? {},
    rootfs: {type: 'layers', diff_ids: [...(base?.rootfs.diff_ids ?? []), ...o.newLayers.map((l) => l.diffId)]},
    history: [...(base?.history ?? []), ...history],
  }
  // an OCI manifest names Docker's layer types by their OCI names (the same bytes)
  const layers = [...(parent?.layers ?? []), ...o.newLayers].map((l) => ({...l, mediaType: OCI_NAME[l.mediaType] ?? l.mediaType}))
  const configBytes = jsonBytes(config)
  const rec = await store.addImage({manifest: jsonBytes(manifestFor('oci', configBytes, layers)), config: configBytes, layers, tags})
  return rec.id
}

const OCI_NAME: Record<string, string> = {[MT.dockerLayerGzip]: MT.ociLayerGzip, [MT.dockerLayerZstd]: MT.ociLayerZstd, [MT.dockerLayer]: MT.ociLayer}
