/**
 * A stage's state between steps, and the images its steps make: each step's result is an
 * image of the store (Docker's classic builder keeps one per step too), made by the
 * image commit code (src/images/commit.ts) on the step before, with one new layer (RUN,
 * COPY, ADD, a WORKDIR that had to be made) or none (the config instructions).
 */
import {mkdirSync, rmSync} from 'node:fs'

import {commitImage} from '../images/commit.js'
import type {HistoryEntry} from '../images/oci.js'
import type {ImageStore, LayerRef, StoredLayer} from '../images/store.js'
import type {BuildConfig} from './instructions.js'
import type {Instruction} from './parse.js'
import {EmptyTree, ImageTree} from './tree.js'

export interface StageState {
  /** the stage's current image (none yet: FROM scratch) */
  id?: string
  config: BuildConfig
  layers: StoredLayer[]
  /** ARGs declared in this stage and their values */
  args: Map<string, string>
  /** whether the stage set CMD (an ENTRYPOINT clears only an inherited one) */
  cmdSet: boolean
  /** MAINTAINER's, kept by the steps after it */
  author?: string
}

/** An image's layers, unpacked in the store. */
export async function layersOf(store: ImageStore, id: string): Promise<StoredLayer[]> {
  const rec = store.resolve(id)
  const out: StoredLayer[] = []
  for (const l of rec.layers) out.push(await store.ensureLayer(l.digest, l.diffId))
  return out
}

/** The state of a stage whose current image is `id` (none: FROM scratch). */
export async function stageState(store: ImageStore, id: string | undefined, args: Map<string, string>, cmdSet: boolean): Promise<StageState> {
  if (id === undefined) return {config: {}, layers: [], args, cmdSet}
  const cfg = store.configOf(store.resolve(id))
  return {id, config: (cfg.config ?? {}) as BuildConfig, layers: await layersOf(store, id), args, cmdSet, author: cfg.author}
}

/** The image a step makes: the stage's image, this config, and the step's layer if it made one. */
export function commitStep(store: ImageStore, st: StageState, config: BuildConfig, ins: Instruction, layer?: LayerRef): Promise<string> {
  const history: HistoryEntry = {created_by: ins.text, comment: 'lab build', ...(layer ? {} : {empty_layer: true})}
  return commitImage(store, {parent: st.id, newLayers: layer ? [layer] : [], config, history, author: st.author})
}

/** The stage's image as a tree to read (COPY destinations, --chown names). */
export function treeOf(st: StageState): ImageTree {
  return st.layers.length ? new ImageTree('the image', st.layers) : new EmptyTree()
}

/** A new layer from a directory `fill` writes (COPY, ADD, WORKDIR), in the store's work area. */
export async function layerFrom(store: ImageStore, fill: (dir: string) => Promise<void>): Promise<LayerRef> {
  // loaded on a miss only (it brings the helper's module): a cached build never writes a layer
  const {layerFromDir} = await import('../images/upper.js')
  const dir = store.tempDir()
  try {
    const root = `${dir}/layer`
    mkdirSync(root, {mode: 0o755})
    await fill(root)
    return await layerFromDir(store, root)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
