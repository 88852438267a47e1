/**
 * Caches: directories of the workspace kept between runs under a key made of the
 * pipeline's key and the hash of the files it names (a lock file, say). A hit is
 * restored before the steps, as a writable copy or bound read-only; a miss is saved
 * after a successful job. Each entry has a size cap; the whole store is kept under its
 * own cap by evicting the least recently used entries.
 *
 * Layout: CACHE_DIR/ENTRY/{meta.json, data/PATH…}, ENTRY = sha256 of the full key.
 */
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {parseSize} from '../sandbox/units.js'
import {copyTree, ensureDirInside, resolveInside, treeSize} from './files.js'
import type {CacheFile} from './schema.js'

export const DEFAULT_CACHE_ENTRY_MAX = 512 * 1024 * 1024
export const DEFAULT_CACHE_TOTAL_MAX = 4 * 1024 * 1024 * 1024

interface Meta {
  key: string
  paths: string[]
  created: string
  lastUsed: number
  bytes: number
}

export interface CacheOutcome {
  key: string
  hit: boolean
  mode: 'copy' | 'read-only'
  saved?: boolean
  bytes?: number
  evicted?: string[]
  error?: string
}

/** sha256 over the named files' paths and contents (absent files count as absent). */
export function hashFiles(workspace: string, files: string[]): string {
  const h = createHash('sha256')
  for (const f of [...files].sort()) {
    const found = resolveInside(workspace, f)
    h.update(f + '\0')
    if (found && found.st.isFile()) h.update(readFileSync(found.path))
    else h.update('\0absent\0')
  }
  return h.digest('hex')
}

export function fullKey(c: CacheFile, key: string, workspace: string): string {
  return c.files?.length ? `${key}-${hashFiles(workspace, c.files).slice(0, 16)}` : key
}

function entryDir(root: string, key: string): string {
  return join(root, createHash('sha256').update(key).digest('hex').slice(0, 32))
}

function readMeta(dir: string): Meta | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta
  } catch {
    return null
  }
}

export class CacheStore {
  constructor(
    readonly root: string,
    readonly totalMax = DEFAULT_CACHE_TOTAL_MAX,
  ) {}

  /** The data directory of a hit (its use recorded), or null. */
  lookup(key: string): string | null {
    const dir = entryDir(this.root, key)
    const meta = readMeta(dir)
    if (!meta || meta.key !== key) return null
    meta.lastUsed = Date.now()
    try {
      writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta))
    } catch {}
    return join(dir, 'data')
  }

  /** The newest entry whose key starts with prefix (actions/cache restore-keys), or null. */
  lookupPrefix(prefix: string): {key: string; data: string} | null {
    if (!existsSync(this.root)) return null
    let best: {key: string; data: string; created: string} | null = null
    for (const n of readdirSync(this.root)) {
      if (n.includes('.tmp-')) continue
      const meta = readMeta(join(this.root, n))
      if (!meta || !meta.key.startsWith(prefix)) continue
      if (!best || meta.created > best.created) best = {key: meta.key, data: join(this.root, n, 'data'), created: meta.created}
    }
    return best && {key: best.key, data: this.lookup(best.key) ?? best.data}
  }

  /** Copies the paths out of the workspace into a new entry (atomically: all or nothing). */
  save(c: CacheFile, key: string, workspace: string): {bytes: number; evicted: string[]} {
    const max = c['max-size'] ? parseSize(c['max-size'], 'cache max-size') : DEFAULT_CACHE_ENTRY_MAX
    mkdirSync(this.root, {recursive: true, mode: 0o700})
    const dir = entryDir(this.root, key)
    const tmp = `${dir}.tmp-${process.pid}`
    rmSync(tmp, {recursive: true, force: true})
    mkdirSync(join(tmp, 'data'), {recursive: true})
    let bytes = 0
    try {
      for (const p of c.paths) {
        const clean = p.replace(/\/+$/, '')
        const found = resolveInside(workspace, clean)
        if (!found) continue
        mkdirSync(dirname(join(tmp, 'data', clean)), {recursive: true})
        bytes += copyTree(found.path, join(tmp, 'data', clean), {maxBytes: max - bytes, what: `cache ${key}`, keepSymlinks: true, hardLinkOwner: null}).bytes
      }
      const meta: Meta = {key, paths: c.paths, created: new Date().toISOString(), lastUsed: Date.now(), bytes}
      writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta))
      rmSync(dir, {recursive: true, force: true})
      renameSync(tmp, dir)
    } catch (e) {
      rmSync(tmp, {recursive: true, force: true})
      throw e
    }
    return {bytes, evicted: this.evict(dir)}
  }

  /** Least recently used entries go until the store fits its cap (the one just saved stays). */
  evict(keep?: string): string[] {
    const entries = existsSync(this.root)
      ? readdirSync(this.root)
          .filter((n) => !n.includes('.tmp-'))
          .map((n) => ({dir: join(this.root, n), meta: readMeta(join(this.root, n))}))
      : []
    let total = entries.reduce((s, e) => s + (e.meta?.bytes ?? treeSize(e.dir)), 0)
    const evicted: string[] = []
    for (const e of entries.sort((a, b) => (a.meta?.lastUsed ?? 0) - (b.meta?.lastUsed ?? 0))) {
      if (total <= this.totalMax) break
      if (e.dir === keep) continue
      rmSync(e.dir, {recursive: true, force: true})
      total -= e.meta?.bytes ?? 0
      evicted.push(e.meta?.key ?? e.dir)
    }
    return evicted
  }
}

/** Restores a hit into the workspace copy (copy mode); read-only mode is a bind mount the runner adds. */
export function restoreCopy(data: string, c: CacheFile, workspace: string): number {
  let bytes = 0
  for (const p of c.paths) {
    const clean = p.replace(/\/+$/, '')
    const src = join(data, clean)
    if (!existsSync(src)) continue
    // never through a link the checkout (a pull request) put there
    const dest = join(ensureDirInside(workspace, dirname(clean)), basename(clean))
    rmSync(dest, {recursive: true, force: true})
    bytes += copyTree(src, dest, {keepSymlinks: true, hardLinkOwner: null}).bytes
  }
  return bytes
}
