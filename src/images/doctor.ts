/** `lab doctor`'s image store line: where it is, what it holds, and that it is private. */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {stateRoots} from '../sandbox/state/paths.js'
import {humanSize} from './view.js'

export function imageStoreCheck(stateDir?: string): {name: string; status: 'ok' | 'warn'; detail: string; fix?: string} {
  const root = join(stateRoots(stateDir).data, 'images')
  if (!existsSync(root)) return {name: 'image store', status: 'ok', detail: `empty (${root} is made on first use, mode 0700)`}
  const mode = statSync(root).mode & 0o777
  const count = (d: string) => (existsSync(d) ? readdirSync(d).length : 0)
  let bytes = 0
  for (const d of ['blobs/sha256', 'layers'].map((x) => join(root, x))) {
    if (!existsSync(d)) continue
    for (const n of readdirSync(d)) {
      try {
        bytes += d.endsWith('layers') ? Number((JSON.parse(readFileSync(join(d, n, 'layer.json'), 'utf8')) as {size?: number}).size ?? 0) : statSync(join(d, n)).size
      } catch {}
    }
  }
  const detail = `${root}: ${count(join(root, 'blobs', 'sha256'))} blobs, ${count(join(root, 'layers'))} unpacked layers, ${humanSize(bytes)}`
  if (mode !== 0o700) return {name: 'image store', status: 'warn', detail: `${detail}; mode ${mode.toString(8)}, so other users may reach set-id files in layers`, fix: `chmod 700 ${root}`}
  return {name: 'image store', status: 'ok', detail: `${detail} (private)`}
}
