/**
 * An image as a sandbox's root: its layers resolved once to the store's unpacked
 * directories (bottom first), each marked for overlayfs (whiteouts and opaque
 * directories, written once per layer by the helper: src/sandbox-native/layer_marks.c),
 * its config, and its own user database for USER. No hashing or copying per start: the
 * first use of a layer marks it and records that in layer.json; later starts read the
 * records only.
 */
import {spawnSync} from 'node:child_process'
import {closeSync, constants, fstatSync, lstatSync, openSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {HELPER_PATH} from '../sandbox/helper.js'
import {readJson, writeJsonAtomic} from '../sandbox/state/atomic.js'
import {encodeToken} from '../sandbox/plan.js'
import type {ImageConfig} from './oci.js'
import {ImageStore, type ImageRecord, type StoredLayer} from './store.js'
import type {UnpackedLayer} from './layer.js'

export interface ImageRoot {
  /** the config's digest */
  id: string
  /** the reference it was asked for */
  ref: string
  /** unpacked layer roots, bottom first */
  layers: string[]
  config: ImageConfig
  /** the image's /etc/passwd and /etc/group (the topmost layer that has them), if any */
  passwd?: string
  group?: string
}

/** A whole-file read of a regular file of one layer, never through a link (layers are
 * untrusted: their etc may be a symlink). */
function layerFile(layer: string, rel: string): string | null | 'gone' {
  let dir = layer
  const parts = rel.split('/')
  for (let i = 0; i < parts.length - 1; i++) {
    dir = join(dir, parts[i])
    let st
    try {
      st = lstatSync(dir)
    } catch {
      return null
    }
    if (!st.isDirectory()) return 'gone' // a file or link here hides anything below
  }
  let fd: number
  try {
    fd = openSync(join(dir, parts[parts.length - 1]), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? null : 'gone'
  }
  try {
    const st = fstatSync(fd)
    if (st.isCharacterDevice() && st.rdev === 0) return 'gone' // a whiteout marker
    if (!st.isFile() || st.size > 4 << 20) return 'gone'
    return readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
}

/** A file as the stacked layers show it: the topmost layer that has (or deletes) it. */
function stackedFile(layers: StoredLayer[], rel: string): string | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]
    if (l.whiteouts.some((w) => rel === w || rel.startsWith(w + '/'))) return undefined
    const got = layerFile(l.path, rel)
    if (got === 'gone') return undefined
    if (got !== null) return got
    if (l.opaques.some((o) => rel.startsWith(o === '' ? '' : o + '/'))) return undefined
  }
  return undefined
}

interface Marked extends UnpackedLayer {
  overlayMarks?: boolean
}

/** Writes a layer's whiteouts (devices 0/0) and opaque markers (xattrs) once. */
function markLayer(store: ImageStore, layer: StoredLayer): void {
  const recPath = join(store.layerPath(layer.diffId), 'layer.json')
  const rec = readJson<Marked>(recPath)
  if (!rec || rec.overlayMarks) return
  if (layer.whiteouts.length || layer.opaques.length) {
    const lines = [...layer.whiteouts.map((w) => `w ${encodeToken(w)}`), ...layer.opaques.map((o) => `o ${encodeToken(o)}`)]
    const r = spawnSync(HELPER_PATH, ['layer-marks', layer.path], {input: lines.join('\n') + '\n', encoding: 'utf8'})
    if (r.status !== 0) {
      throw new LabError('image-marks', `cannot prepare the layer ${layer.diffId.slice(7, 19)} for an overlay: ${(r.stderr || r.error?.message || '').trim().replace(/^lab-helper: /, '')}`, {hint: 'the store needs a file system with user extended attributes (ext4, xfs, btrfs); run `lab doctor`'})
    }
  }
  writeJsonAtomic(recPath, {...rec, overlayMarks: true})
}

/** Each layer once, at its topmost place (bottom first in, bottom first out). Overlayfs
 * refuses a lower directory given twice (ELOOP), which an image has when two steps
 * wrote identical layers (docker build's empty layers) or a layer repeats; the lower
 * occurrence adds nothing, since everything it holds or deletes the upper one holds or
 * deletes over a superset of what lies below. */
export function topmostOnce<T>(layers: T[]): T[] {
  const seen = new Set<T>()
  const out: T[] = []
  for (let i = layers.length - 1; i >= 0; i--) {
    if (seen.has(layers[i])) continue
    seen.add(layers[i])
    out.push(layers[i])
  }
  return out.reverse()
}

const cache = new Map<string, {at: string; root: ImageRoot}>()

/** The image named by ref (tag, name@digest, id or a unique id prefix) as a root. */
export function imageRoot(ref: string, stateDir?: string): ImageRoot {
  const store = new ImageStore(stateDir)
  let img: ImageRecord
  try {
    img = store.resolve(ref)
  } catch (e) {
    if ((e as LabError).code === 'image-not-found') {
      throw new LabError('image-not-found', `image "${ref}" is not in the store: pull it with \`lab image pull ${ref}\` or load it`, {hint: 'see `lab image ls` for the images you have; `lab image load -i FILE` or `lab image import` add one without a registry', exitCode: 125})
    }
    throw e
  }
  const key = `${store.root}\0${img.id}`
  const hit = cache.get(key)
  if (hit && hit.at === img.manifest) return {...hit.root, ref}
  const layers = topmostOnce(img.layers.map((l) => l.diffId)).map((diffId) => {
    const s = store.layer(diffId)
    if (!s) throw new LabError('image-store-damaged', `the store has lost the layer ${diffId.slice(7, 19)} of ${ref}`, {hint: `remove the image and pull or load it again: lab image rm ${ref}`})
    return s
  })
  for (const l of layers) markLayer(store, l)
  const root: ImageRoot = {
    id: img.id,
    ref,
    layers: layers.map((l) => l.path),
    config: store.configOf(img),
    passwd: stackedFile(layers, 'etc/passwd'),
    group: stackedFile(layers, 'etc/group'),
  }
  cache.set(key, {at: img.manifest, root})
  return root
}

/** Whether PATH (absolute) is a directory in the stacked layers (never looked up
 * through a layer's links: those are the sandbox's to follow, inside its root). */
export function imageHasDir(layerPaths: string[], path: string): boolean {
  const parts = path.split('/').filter((p) => p !== '')
  for (let i = layerPaths.length - 1; i >= 0; i--) {
    let at = layerPaths[i]
    let found = true
    for (const p of parts) {
      at = join(at, p)
      let st
      try {
        st = lstatSync(at)
      } catch {
        found = false
        break
      }
      if (!st.isDirectory()) return false
    }
    if (found) return true
  }
  return false
}
