/**
 * The actions every workflow uses, mapped onto lab's own features instead of run:
 *
 *   actions/cache              lab's cache store (keys prefixed "actions/cache:"): restored
 *                              when the step runs (key, then restore-keys by prefix, newest
 *                              first), saved when the job ends if it succeeded and the key
 *                              missed; outputs cache-hit, cache-primary-key, cache-matched-key
 *   actions/upload-artifact    copied out of the job's workspace when the step runs into the
 *                              run's artifacts directory; a name is used once per run (v4)
 *   actions/download-artifact  an artifact uploaded earlier in the run copied into the
 *                              workspace (path, default the workspace; all of them, each in
 *                              its own directory, when no name is given)
 *
 * Paths are relative to the workspace (or under /workspace); `~/…` cache paths live in the
 * job's $HOME. Globs in upload paths are matched with GitHub's patterns. Nothing here
 * follows a link the steps could have planted.
 */
import {existsSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {collectArtifact, type ArtifactResult} from './artifacts.js'
import {restoreCopy, type CacheStore} from './cache.js'
import {copyTree, ensureDirInside} from './files.js'
import {globWorkspace} from './hashfiles.js'

export type BuiltinAction = 'cache' | 'upload-artifact' | 'download-artifact'

export function builtinAction(uses: string): BuiltinAction | null {
  const m = /^actions\/(cache|upload-artifact|download-artifact)(\/(restore|save))?@/.exec(uses)
  return m ? (m[1] as BuiltinAction) : null
}

const lines = (v: string | undefined) => (v ?? '').split('\n').map((l) => l.trim()).filter(Boolean)

export interface BuiltinContext {
  ws: string
  home: string
  cache: CacheStore
  /** the run's artifacts by name → their directory */
  artifacts: Map<string, string>
  artifactDir: string
  /** runs when the job ends (post steps), with whether it succeeded */
  post: (fn: (succeeded: boolean) => void) => void
  note: (line: string) => void
}

export interface BuiltinResult {
  outputs: Record<string, string>
  artifact?: ArtifactResult
}

function cachePaths(inputs: Record<string, string>): Array<{base: 'ws' | 'home'; path: string}> {
  const out: Array<{base: 'ws' | 'home'; path: string}> = []
  for (const p of lines(inputs.path)) {
    if (/[*?[\]!]/.test(p)) throw new LabError('ci-action', `actions/cache: path "${p}" is a glob; lab caches plain directories and files`, {hint: 'name the directories to cache'})
    if (p.startsWith('~/')) out.push({base: 'home', path: p.slice(2)})
    else if (p.startsWith('/workspace/')) out.push({base: 'ws', path: p.slice('/workspace/'.length)})
    else if (p.startsWith('/')) throw new LabError('ci-action', `actions/cache: path "${p}" is outside the workspace and $HOME`, {hint: 'cache paths of the workspace or ~/'})
    else out.push({base: 'ws', path: p})
  }
  if (!out.length) throw new LabError('ci-action', 'actions/cache: the path input is empty', {hint: 'give path: with the directories to cache'})
  return out
}

export function runBuiltin(kind: BuiltinAction, uses: string, inputs: Record<string, string>, b: BuiltinContext): BuiltinResult {
  if (kind === 'cache') {
    const key = inputs.key
    if (!key) throw new LabError('ci-action', 'actions/cache: the key input is empty', {hint: 'give key:'})
    const paths = cachePaths(inputs)
    const only = /\/(restore|save)@/.exec(uses)?.[1]
    const store = (k: string) => `actions/cache:${k}`
    const outputs: Record<string, string> = {'cache-hit': 'false', 'cache-primary-key': key, 'cache-matched-key': ''}
    let exact = false
    if (only !== 'save') {
      let hit: {key: string; data: string} | null = null
      const data = b.cache.lookup(store(key))
      if (data) hit = {key: store(key), data}
      for (const prefix of hit ? [] : lines(inputs['restore-keys'])) {
        hit = b.cache.lookupPrefix(store(prefix))
        if (hit) break
      }
      if (hit) {
        exact = hit.key === store(key)
        if (inputs['lookup-only'] !== 'true') {
          for (const base of ['ws', 'home'] as const) {
            const ps = paths.filter((p) => p.base === base).map((p) => p.path)
            if (ps.length && existsSync(join(hit.data, base))) restoreCopy(join(hit.data, base), {key, paths: ps}, base === 'ws' ? b.ws : b.home)
          }
        }
        outputs['cache-hit'] = String(exact)
        outputs['cache-matched-key'] = hit.key.slice('actions/cache:'.length)
        b.note(`cache ${exact ? 'hit' : 'restored from'}: ${outputs['cache-matched-key']}`)
      } else {
        if (inputs['fail-on-cache-miss'] === 'true') throw new LabError('ci-action', `actions/cache: no cache for key ${key}`, {hint: 'fail-on-cache-miss is set'})
        b.note(`cache miss: ${key}`)
      }
    }
    if (only !== 'restore' && !exact) {
      // saved when the job ends, as the action's post step does, and only if it succeeded
      b.post((ok) => {
        if (!ok) return
        // both bases in one entry: ws/… and home/…, each copied without following links
        const tmpStore = {key, paths: [] as string[]}
        for (const p of paths) tmpStore.paths.push(`${p.base}/${p.path}`)
        const view = mkdtempSync(join(b.ws, '..', 'cache-view-'))
        for (const p of paths) {
          const src = join(p.base === 'ws' ? b.ws : b.home, p.path)
          if (!existsSync(src)) continue
          const dest = join(ensureDirInside(view, join(p.base, p.path, '..')), p.path.split('/').pop()!)
          if (!existsSync(dest)) copyTree(src, dest, {keepSymlinks: true, hardLinkOwner: null})
        }
        try {
          const saved = b.cache.save(tmpStore, store(key), view)
          b.note(`cache saved: ${key} (${saved.bytes} bytes)`)
        } finally {
          rmSync(view, {recursive: true, force: true})
        }
      })
    }
    return {outputs}
  }
  if (kind === 'upload-artifact') {
    const name = inputs.name || 'artifact'
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw new LabError('ci-action', `actions/upload-artifact: name "${name}" must be letters, digits, _ . -`, {hint: 'rename the artifact'})
    if (b.artifacts.has(name)) throw new LabError('ci-action', `actions/upload-artifact: an artifact named "${name}" was already uploaded in this run`, {hint: 'give each upload its own name (upload-artifact v4 does not append)'})
    const paths: string[] = []
    for (const p of lines(inputs.path)) {
      const rel = p.replace(/^\/workspace\//, '').replace(/^\.\//, '')
      if (rel.startsWith('/')) throw new LabError('ci-action', `actions/upload-artifact: path "${p}" is outside the workspace`, {hint: 'upload files of the workspace'})
      if (/[*?[\]]/.test(rel) || rel.startsWith('!')) paths.push(...globWorkspace(b.ws, [rel]))
      else paths.push(rel)
    }
    const ifNone = inputs['if-no-files-found'] || 'warn'
    const a = paths.length ? collectArtifact({name, paths}, 0, b.ws, b.artifactDir) : {name, path: '', files: 0, bytes: 0, missing: lines(inputs.path), skipped: [], error: `no files matched ${lines(inputs.path).join(', ')}`}
    if (a.files === 0) {
      if (ifNone === 'error') throw new LabError('ci-action', `actions/upload-artifact: ${a.error ?? 'no files found'}`, {hint: 'check the path, or set if-no-files-found: warn'})
      if (ifNone === 'warn') b.note(`warning: artifact ${name}: ${a.error ?? 'no files found'}`)
      return {outputs: {}}
    }
    if (a.error) throw new LabError('ci-action', `actions/upload-artifact: ${a.error}`, {hint: 'upload fewer or smaller files'})
    b.artifacts.set(name, a.path)
    b.note(`artifact ${name}: ${a.files} file${a.files === 1 ? '' : 's'}, ${a.bytes} bytes`)
    return {outputs: {'artifact-id': name, 'artifact-url': `file://${a.path}`}, artifact: a}
  }
  // download-artifact
  const names = inputs.name ? [inputs.name] : [...b.artifacts.keys()]
  const dest = (inputs.path ?? '').replace(/^\/workspace\/?/, '').replace(/^\.\/?/, '')
  if (dest.startsWith('/') || dest.startsWith('~')) throw new LabError('ci-action', `actions/download-artifact: path "${inputs.path}" is outside the workspace`, {hint: 'download into the workspace'})
  for (const n of names) {
    const src = b.artifacts.get(n)
    if (!src) throw new LabError('ci-action', `actions/download-artifact: no artifact named "${n}" was uploaded earlier in this run (uploaded: ${[...b.artifacts.keys()].join(', ') || 'none'})`, {hint: 'upload it in a job this one needs'})
    const into = ensureDirInside(b.ws, inputs.name ? dest : join(dest, n))
    const r = copyTree(src, join(into, '.lab-download'), {keepSymlinks: false, hardLinkOwner: null})
    moveUp(join(into, '.lab-download'), into)
    b.note(`artifact ${n} downloaded (${r.files} file${r.files === 1 ? '' : 's'})`)
  }
  return {outputs: {'download-path': `/workspace/${dest}`.replace(/\/$/, '')}}
}

/** Moves the entries of dir into parent (replacing same-named ones) and removes dir. */
function moveUp(dir: string, parent: string): void {
  for (const n of readdirSync(dir)) {
    const to = join(parent, n)
    rmSync(to, {recursive: true, force: true})
    renameSync(join(dir, n), to)
  }
  rmdirSync(dir)
}
