/**
 * An image's file system as one tree: its layers stacked bottom to top the way an overlay
 * shows them. A layer's opaque directories hide what the layers below have in them, its
 * whiteouts delete paths, and an entry replaces a lower one of the same path (a file over
 * a directory hides the directory's contents).
 */
import {lstatSync, readdirSync, type Stats} from 'node:fs'
import {join} from 'node:path'

import type {StoredLayer} from './store.js'

export interface FlatEntry {
  /** relative path, no leading "/" */
  path: string
  /** where it is on disk */
  abs: string
  st: Stats
}

function dropSubtree(map: Map<string, FlatEntry>, path: string, self: boolean): void {
  if (self) map.delete(path)
  const prefix = path === '' ? '' : `${path}/`
  for (const k of map.keys()) if (k.startsWith(prefix) && k !== path) map.delete(k)
}

/** The merged tree, sorted so that a directory comes before what is in it. */
export function flattenLayers(layers: Array<Pick<StoredLayer, 'path' | 'whiteouts' | 'opaques'>>): FlatEntry[] {
  const map = new Map<string, FlatEntry>()
  for (const layer of layers) {
    for (const o of layer.opaques) dropSubtree(map, o, false)
    for (const w of layer.whiteouts) dropSubtree(map, w, true)
    const walk = (dir: string, rel: string) => {
      for (const name of readdirSync(dir).sort()) {
        const abs = join(dir, name)
        const path = rel ? `${rel}/${name}` : name
        const st = lstatSync(abs)
        // a whiteout's overlay marker (overlay.ts): the layer's record lists the whiteout
        if (st.isCharacterDevice() && st.rdev === 0) continue
        const lower = map.get(path)
        if (lower && lower.st.isDirectory() && !st.isDirectory()) dropSubtree(map, path, false)
        map.set(path, {path, abs, st})
        if (st.isDirectory()) walk(abs, path)
      }
    }
    walk(layer.path, '')
  }
  return [...map.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}
