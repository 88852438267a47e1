/** What the image verbs show: Docker's rows and inspect shape, and its human sizes and ages. */
import {hexOf} from './digest.js'
import {familiarDigested, familiarTagged} from './reference.js'
import type {ImageRecord, ImageStore} from './store.js'

/** Docker's sizes: decimal units, three significant digits ("4.26MB"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let v = bytes
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${Number(v.toPrecision(3))}${units[i]}`
}

/** Docker's ages ("About a minute ago", "3 weeks ago"). */
export function humanAge(iso: string | undefined, now = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN
  if (!Number.isFinite(t)) return 'N/A'
  const s = Math.max(0, Math.round((now - t) / 1000))
  const ago = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'} ago`
  if (s < 1) return 'Less than a second ago'
  if (s < 60) return ago(s, 'second')
  const m = Math.round(s / 60)
  if (m === 1) return 'About a minute ago'
  if (m < 60) return ago(m, 'minute')
  const h = Math.round(s / 3600)
  if (h === 1) return 'About an hour ago'
  if (h < 48) return ago(h, 'hour')
  if (h < 24 * 7 * 2) return ago(Math.floor(h / 24), 'day')
  if (h < 24 * 30 * 2) return ago(Math.floor(h / 24 / 7), 'week')
  if (h < 24 * 365 * 2) return ago(Math.floor(h / 24 / 30), 'month')
  return ago(Math.floor(h / 24 / 365), 'year')
}

export function shortId(id: string): string {
  return hexOf(id).slice(0, 12)
}

export interface ImageRow {
  Repository: string
  Tag: string
  Digest: string
  ID: string
  CreatedAt: string
  CreatedSince: string
  Size: number
}

/** `image ls` rows: one per tag, one "<none>" row for an image without any. */
export function imageRows(store: ImageStore): ImageRow[] {
  const rows: ImageRow[] = []
  for (const {image, tags} of store.list()) {
    const config = store.configOf(image)
    const base = {ID: image.id, CreatedAt: config.created ?? '', CreatedSince: humanAge(config.created), Size: store.sizeOf(image)}
    const digestFor = (repo: string) => image.repoDigests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>'
    if (!tags.length) {
      const rd = image.repoDigests[0]
      rows.push({...base, Repository: rd ? familiarDigested(rd).split('@')[0] : '<none>', Tag: '<none>', Digest: rd ? rd.split('@')[1] : '<none>'})
    }
    for (const t of tags) {
      const c = t.lastIndexOf(':')
      rows.push({...base, Repository: familiarTagged(t).slice(0, familiarTagged(t).lastIndexOf(':')), Tag: t.slice(c + 1), Digest: digestFor(t.slice(0, c))})
    }
  }
  return rows
}

/** `image inspect`: Docker's field names. */
export function inspectImage(store: ImageStore, img: ImageRecord) {
  const c = store.configOf(img)
  const history = c.history ?? []
  return {
    Id: img.id,
    RepoTags: store.tagsOf(img.id).map(familiarTagged),
    RepoDigests: img.repoDigests.map(familiarDigested),
    Parent: '',
    Comment: history.at(-1)?.comment ?? '',
    Created: c.created ?? '',
    Author: c.author ?? '',
    Config: {
      User: c.config?.User ?? '',
      ExposedPorts: c.config?.ExposedPorts ?? null,
      Env: c.config?.Env ?? null,
      Entrypoint: c.config?.Entrypoint ?? null,
      Cmd: c.config?.Cmd ?? null,
      Volumes: c.config?.Volumes ?? null,
      WorkingDir: c.config?.WorkingDir ?? '',
      Labels: c.config?.Labels ?? null,
      ...(c.config?.StopSignal ? {StopSignal: c.config.StopSignal} : {}),
    },
    Architecture: c.architecture,
    ...(c.variant ? {Variant: c.variant} : {}),
    Os: c.os,
    Size: store.sizeOf(img),
    RootFS: {Type: 'layers', Layers: c.rootfs.diff_ids},
    Descriptor: {mediaType: img.manifestMediaType, digest: img.manifest, size: store.blobSize(img.manifest)},
  }
}

export interface HistoryRow {
  ID: string
  CreatedAt: string
  CreatedSince: string
  CreatedBy: string
  Size: number
  Comment: string
}

/** `image history`: newest first; only the top row knows its image id, as in Docker. */
export function historyRows(store: ImageStore, img: ImageRecord): HistoryRow[] {
  const c = store.configOf(img)
  const sizes = img.layers.map((l) => store.layer(l.diffId)?.size ?? 0)
  let li = 0
  const rows = (c.history?.length ? c.history : img.layers.map(() => ({}) as {created?: string; created_by?: string; comment?: string; empty_layer?: boolean})).map((h) => ({
    ID: '<missing>',
    CreatedAt: h.created ?? '',
    CreatedSince: humanAge(h.created),
    CreatedBy: h.created_by ?? '',
    Size: h.empty_layer ? 0 : sizes[li++] ?? 0,
    Comment: h.comment ?? '',
  }))
  rows.reverse()
  if (rows.length) rows[0].ID = img.id
  return rows
}
