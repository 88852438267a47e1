/**
 * Where lab keeps its state: one data root (records, logs, volumes) and one runtime
 * root (status, control sockets) that vanishes with a reboot.
 *   root:   /var/lib/lab and /run/lab
 *   others: $XDG_DATA_HOME/lab (~/.local/share/lab) and $XDG_RUNTIME_DIR/lab (or DATA/run)
 *   --state-dir DIR or LAB_STATE_DIR=DIR: DIR and DIR/run
 */
import {chmodSync, mkdirSync} from 'node:fs'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'

import {usageError} from '../../errors.js'

export interface StateRoots {
  data: string
  run: string
}

export function stateRoots(override?: string): StateRoots {
  const given = override ?? process.env.LAB_STATE_DIR
  if (given !== undefined && given !== '') {
    if (given.includes('\0')) throw usageError('--state-dir contains a NUL byte')
    const dir = resolve(given)
    return {data: dir, run: join(dir, 'run')}
  }
  if (process.getuid?.() === 0) return {data: '/var/lib/lab', run: '/run/lab'}
  const data = join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'lab')
  const rt = process.env.XDG_RUNTIME_DIR
  return {data, run: rt ? join(rt, 'lab') : join(data, 'run')}
}

/** The layout below the roots. */
export function layout(r: StateRoots) {
  return {
    sandboxes: join(r.data, 'sandboxes'),
    names: join(r.data, 'names'),
    volumes: join(r.data, 'volumes'),
    runSandboxes: join(r.run, 'sandboxes'),
  }
}

export function ensureLayout(r: StateRoots): ReturnType<typeof layout> {
  const l = layout(r)
  // 0711/0700: other users may not list sandboxes or read their logs
  for (const d of [r.data, r.run]) mkdirSync(d, {recursive: true, mode: 0o711})
  for (const d of Object.values(l)) mkdirSync(d, {recursive: true, mode: 0o700})
  // Volumes are opened by the sandbox itself, as its remapped user: it must be able to
  // traverse (not list) the way down to volumes/NAME/_data.
  for (const d of [r.data, l.volumes]) chmodSync(d, 0o711)
  return l
}
