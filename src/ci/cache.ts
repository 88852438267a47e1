/**
 * Caches: directories of the workspace kept between runs under a key made of the
 * pipeline's key and the hash of the files it names (a lock file, say). A hit is
 * restored before the steps, as a writable copy or bound read-only; a miss is saved
 * after a successful job. Each entry has a size cap; the whole store is kept under its
 * own cap by evicting the least recently used entries.
 *
 * Scopes, as GitHub's: a run writes only its own scope (the trusted `default`, or one per
 * untrusted pull request) and reads its own, then the default one; so an untrusted run's
 * entry is never restored by a trusted run. Keys may be built from anything a pipeline
 * can reach, secrets included: the metadata keeps the key's hash, and the key itself
 * only when no secret of the run is in it (restore-keys match on that).
 *
 * Layout: CACHE_DIR/SCOPE/ENTRY/{meta.json, data/PATH…}, ENTRY = sha256 of the full key.
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
  /** sha256 of the full key */
  keyHash: string
  /** the key, absent when it holds a secret */
  key?: string
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

export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

function entryDir(root: string, key: string): string {
  return join(root, keyHash(key).slice(0, 32))
}

export interface CacheScopeOptions {
  /** the scope this run writes (and reads first) */
  scope?: string
  /** tells whether a text holds a secret of this run (masker.mask(t) !== t) */
  holdsSecret?: (text: string) => boolean
}

const SCOPE_RE = /^(default|pr-[0-9a-f]{16})$/

function readMeta(dir: string): Meta | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta
  } catch {
    return null
  }
}

export class CacheStore {
  readonly scope: string
  private readonly holdsSecret: (text: string) => boolean
  constructor(
    /** the store: one directory per scope below it */
    readonly base: string,
    readonly totalMax = DEFAULT_CACHE_TOTAL_MAX,
    opts: CacheScopeOptions = {},
  ) {
    this.scope = opts.scope ?? 'default'
    if (!SCOPE_RE.test(this.scope)) throw new Error(`cache scope ${this.scope}: not a scope name`)
    this.holdsSecret = opts.holdsSecret ?? (() => false)
  }

  /** Where this run writes. */
  get root(): string {
    return join(this.base, this.scope)
  }

  /** Where this run reads, in order: its own scope, then the trusted default one. */
  private readRoots(): string[] {
    return this.scope === 'default' ? [this.root] : [this.root, join(this.base, 'default')]
  }

  /** The data directory of a hit (its use recorded), or null. */
  lookup(key: string): string | null {
    const h = keyHash(key)
    for (const root of this.readRoots()) {
      const dir = entryDir(root, key)
      const meta = readMeta(dir)
      if (!meta || meta.keyHash !== h) continue
      // only the writer's own scope records use: a read never changes another scope
      if (root === this.root) {
        meta.lastUsed = Date.now()
        try {
          writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta))
        } catch {}
      }
      return join(dir, 'data')
    }
    return null
  }

  /** The newest entry whose key starts with prefix (actions/cache restore-keys), or null. */
  lookupPrefix(prefix: string): {key: string; data: string} | null {
    for (const root of this.readRoots()) {
      if (!existsSync(root)) continue
      let best: {key: string; data: string; created: string} | null = null
      for (const n of readdirSync(root)) {
        if (n.includes('.tmp-')) continue
        const meta = readMeta(join(root, n))
        if (!meta?.key || !meta.key.startsWith(prefix)) continue
        if (!best || meta.created > best.created) best = {key: meta.key, data: join(root, n, 'data'), created: meta.created}
      }
      if (best) return {key: best.key, data: this.lookup(best.key) ?? best.data}
    }
    return null
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
      const meta: Meta = {keyHash: keyHash(key), ...(this.holdsSecret(key) ? {} : {key}), paths: c.paths, created: new Date().toISOString(), lastUsed: Date.now(), bytes}
      writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta))
      rmSync(dir, {recursive: true, force: true})
      renameSync(tmp, dir)
    } catch (e) {
      rmSync(tmp, {recursive: true, force: true})
      throw e
    }
    return {bytes, evicted: this.evict(dir)}
  }

  /** Least recently used entries of every scope go until the store fits its cap (the one just saved stays). */
  evict(keep?: string): string[] {
    const scopes = existsSync(this.base) ? readdirSync(this.base).filter((n) => SCOPE_RE.test(n)) : []
    const entries = scopes.flatMap((s) =>
      readdirSync(join(this.base, s))
        .filter((n) => !n.includes('.tmp-'))
        .map((n) => ({dir: join(this.base, s, n), meta: readMeta(join(this.base, s, n))})),
    )
    let total = entries.reduce((s, e) => s + (e.meta?.bytes ?? treeSize(e.dir)), 0)
    const evicted: string[] = []
    for (const e of entries.sort((a, b) => (a.meta?.lastUsed ?? 0) - (b.meta?.lastUsed ?? 0))) {
      if (total <= this.totalMax) break
      if (e.dir === keep) continue
      rmSync(e.dir, {recursive: true, force: true})
      total -= e.meta?.bytes ?? 0
      evicted.push(e.meta?.key ?? `(a key of ${e.meta?.keyHash?.slice(0, 12) ?? 'unknown'}…)`)
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
