/**
 * The layer cache, as Docker's classic builder keeps it: a step's key is a digest of its
 * parent image, the instruction as written after expansion, the build arguments it sees
 * (RUN) and the content of what it reads (COPY, ADD: tree contents, not times); its value
 * is the image the step made. A hit reuses that image without running anything; an image
 * removed from the store since is a miss. Kept in the store's directory (mode 0700),
 * replaced atomically; a damaged file is an empty cache.
 */
import {join} from 'node:path'

import {sha256} from '../images/digest.js'
import type {ImageStore} from '../images/store.js'
import {readJson, writeJsonAtomic} from '../sandbox/state/atomic.js'

interface CacheFile {
  version: 1
  entries: Record<string, {image: string; created: string}>
}

export class BuildCache {
  private readonly path: string
  private data: CacheFile

  constructor(private readonly store: ImageStore) {
    this.path = join(store.root, 'build-cache.json')
    const d = readJson<CacheFile>(this.path)
    this.data = d && d.version === 1 && d.entries && typeof d.entries === 'object' ? d : {version: 1, entries: {}}
  }

  static key(parent: string, parts: unknown[]): string {
    return sha256(JSON.stringify([parent, ...parts]))
  }

  /** The image a step made before, if the store still has it. */
  get(key: string): string | undefined {
    const e = this.data.entries[key]
    if (!e) return undefined
    try {
      return this.store.resolve(e.image).id
    } catch {
      return undefined
    }
  }

  set(key: string, image: string): void {
    // read again first: another build may have added entries meanwhile
    const d = readJson<CacheFile>(this.path)
    if (d && d.version === 1 && d.entries) this.data = d
    this.data.entries[key] = {image, created: new Date().toISOString()}
    writeJsonAtomic(this.path, this.data)
  }
}
