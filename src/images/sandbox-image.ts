/**
 * What `lab sandbox commit`, `diff` and `export` do with a recorded image sandbox: its
 * image's layers (from the store) and its upper layer (beside its record,
 * src/images/upper-dirs.ts) read from the host.
 */
import {lstatSync, readdirSync, type Stats} from 'node:fs'
import {dirname, join} from 'node:path'
import type {Writable} from 'node:stream'

import {LabError} from '../errors.js'
import type {Lifecycle} from '../sandbox/lifecycle.js'
import {readJson} from '../sandbox/state/atomic.js'
import {Store, type SandboxRecord} from '../sandbox/state/store.js'
import {exportLayers} from './archive.js'
import {applyChanges} from './changes.js'
import {commitImage} from './commit.js'
import type {UnpackedLayer} from './layer.js'
import type {RunConfig} from './oci.js'
import {ImageStore} from './store.js'
import {isWhiteout, layerFromUpper, upperChanges} from './upper.js'

type LayerView = {path: string; whiteouts: string[]; opaques: string[]}

/** The sandbox's record, its upper directory and its image's layers (bottom first). */
export function imageSandbox(lc: Lifecycle, ref: string, verb: string): {rec: SandboxRecord; upper: string; layers: LayerView[]} {
  const rec = lc.store.get(ref)
  const root = rec.spec.root
  if (root.type !== 'image' || !root.upper || !root.layers) {
    throw new LabError('not-an-image-sandbox', `sandbox ${rec.name} does not run on an image (its root is the ${root.type === 'dir' ? '--rootfs directory' : 'host\'s system directories'}), so it has no layer to ${verb}`, {hint: 'run it on an image: lab sandbox run --name NAME IMAGE -- CMD'})
  }
  const layers = root.layers.map((p) => {
    const r = readJson<UnpackedLayer>(join(dirname(p), 'layer.json'))
    if (!r) throw new LabError('image-store-damaged', `the layer ${p} of sandbox ${rec.name}'s image is gone from the store`, {hint: `the image ${root.image?.ref ?? ''} was removed; pull or load it again`})
    return {path: p, whiteouts: r.whiteouts, opaques: r.opaques}
  })
  return {rec, upper: root.upper, layers}
}

/** Whether rel is in the stacked layers (whiteouts and opaque directories applied; never
 * looked up through a layer's links). */
function inLayers(layers: LayerView[], rel: string): boolean {
  const parts = rel.split('/')
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]
    if (l.whiteouts.some((w) => rel === w || rel.startsWith(w + '/'))) return false
    let at = l.path
    let found = true
    for (let j = 0; j < parts.length; j++) {
      at = join(at, parts[j])
      let st: Stats
      try {
        st = lstatSync(at)
      } catch {
        found = false
        break
      }
      if (isWhiteout(st)) return false
      if (j < parts.length - 1 && !st.isDirectory()) return false
    }
    if (found) return true
    if (l.opaques.some((o) => o === '' || rel.startsWith(o + '/'))) return false
  }
  return false
}

export interface Change {
  /** A added, C changed, D deleted (Docker's letters) */
  Kind: 'A' | 'C' | 'D'
  Path: string
}

/** `docker diff`: what the sandbox added, changed and deleted, sorted by path. */
export function sandboxDiff(lc: Lifecycle, ref: string): Change[] {
  const {upper, layers} = imageSandbox(lc, ref, 'diff')
  const changes: Change[] = []
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const path = rel ? `${rel}/${name}` : name
      const st = lstatSync(join(dir, name))
      if (isWhiteout(st)) {
        if (inLayers(layers, path)) changes.push({Kind: 'D', Path: `/${path}`})
        continue
      }
      changes.push({Kind: inLayers(layers, path) ? 'C' : 'A', Path: `/${path}`})
      if (st.isDirectory()) walk(join(dir, name), path)
    }
  }
  walk(upper, '')
  return changes.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0))
}

export interface CommitSandboxOptions {
  changes?: string[]
  message?: string
  author?: string
  /** pause a running sandbox while its layer is read (Docker's default) */
  pause?: boolean
  tag?: string
  stateDir?: string
}

/**
 * `docker commit`: the upper layer as a new layer on the sandbox's image; the new
 * image's config is the sandbox's own (its entrypoint and command, environment, working
 * directory, the user: -u at run time or the image's) with --change applied, as Docker
 * writes it.
 */
export async function commitSandbox(lc: Lifecycle, ref: string, o: CommitSandboxOptions): Promise<{id: string; tag?: string}> {
  const {rec, upper} = imageSandbox(lc, ref, 'commit')
  const root = rec.spec.root
  const store = new ImageStore(o.stateDir ?? lc.store.roots.data)
  let parent
  try {
    parent = store.resolve(root.image!.id)
  } catch {
    throw new LabError('image-not-found', `the image sandbox ${rec.name} runs on (${root.image!.ref}) is no longer in the store`, {hint: `pull or load ${root.image!.ref} again, then commit`})
  }
  const base: RunConfig = store.configOf(parent).config ?? {}
  const entrypoint = root.image!.entrypoint
  const cmd = rec.spec.process.args.slice(entrypoint.length)
  const env = Object.entries(rec.spec.process.env).filter(([k]) => k !== 'HOSTNAME' && k !== 'HOME').map(([k, v]) => `${k}=${v}`)
  let config: RunConfig = {
    ...base,
    Env: env,
    Entrypoint: entrypoint.length ? entrypoint : null,
    Cmd: cmd.length ? cmd : null,
    WorkingDir: rec.spec.process.cwd === '/' ? base.WorkingDir ?? '' : rec.spec.process.cwd,
    // a -u given at run time is the container's User, as Docker commits it
    ...(root.image!.user !== undefined ? {User: root.image!.user} : {}),
  }
  config = applyChanges(config, o.changes ?? [])
  const st = lc.state(rec)
  const pause = (o.pause ?? true) && st.status === 'running'
  if (pause) await lc.pause(rec.id)
  let layer
  try {
    layer = await layerFromUpper(store, upper)
  } finally {
    if (pause) await lc.unpause(rec.id).catch(() => {})
  }
  const id = await commitImage(store, {
    parent: parent.id,
    newLayers: [layer],
    config,
    author: o.author,
    history: {created_by: rec.spec.process.args.join(' '), ...(o.message ? {comment: o.message} : {}), ...(o.author ? {author: o.author} : {})},
    tags: o.tag ? [o.tag] : [],
  })
  return {id, ...(o.tag ? {tag: o.tag} : {})}
}

/** `docker export`: the sandbox's merged root (its image's layers and its upper) as one flat tar. */
export async function exportSandbox(lc: Lifecycle, ref: string, out: Writable): Promise<{id: string; entries: number}> {
  const {rec, upper, layers} = imageSandbox(lc, ref, 'export')
  const r = await exportLayers([...layers, upperChanges(upper)], out)
  return {id: rec.id, entries: r.entries}
}

/** What `sandbox inspect` shows of an image sandbox, as Docker shows it: Image (the id),
 * Config.Image (the name it was run by), its ExposedPorts, Labels and Entrypoint, and
 * GraphDriver (its layers and upper). Empty for other roots. */
export function imageInspectFields(rec: SandboxRecord, stateData: string): {top: Record<string, unknown>; config: Record<string, unknown>} {
  const root = rec.spec.root
  if (root.type !== 'image' || !root.image) return {top: {}, config: {}}
  let cfg: RunConfig = {}
  try {
    const store = new ImageStore(stateData)
    cfg = store.configOf(store.resolve(root.image.id)).config ?? {}
  } catch {
    /* the image was removed since: what the record has */
  }
  return {
    top: {
      Image: root.image.id,
      GraphDriver: {Name: 'overlay', Data: {LowerDir: [...(root.layers ?? [])].reverse().join(':'), ...(root.upper ? {UpperDir: root.upper, WorkDir: root.work} : {})}},
    },
    config: {Image: root.image.ref, Entrypoint: root.image.entrypoint.length ? root.image.entrypoint : null, ExposedPorts: cfg.ExposedPorts ?? null, Labels: cfg.Labels ?? null},
  }
}

/** Image ids the sandboxes of a state directory run on → the name of one such sandbox. */
export function imagesInUse(stateDir?: string): Map<string, string> {
  const used = new Map<string, string>()
  for (const rec of new Store(stateDir).all()) {
    const id = rec.spec.root.image?.id
    if (id && !used.has(id)) used.set(id, rec.name)
  }
  return used
}
