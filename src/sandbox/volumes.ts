/**
 * -v and --tmpfs: parsing and safe resolution of host sources. A source is resolved
 * to its canonical path here; the helper then opens that exact path without following
 * any symlink, so a link swapped in between fails instead of mounting something else.
 */
import {realpathSync, statSync} from 'node:fs'

import {LabError, usageError} from '../errors.js'
import {cleanDestination, isWithin} from './paths.js'
import type {BindMount, TmpfsMount} from './spec.js'
import {parseSize} from './units.js'

/** Destinations the engine owns: mounting there would undo a defence. */
const RESERVED = ['/proc', '/sys', '/dev']

export function checkDestinationAllowed(dest: string, flag: string): void {
  if (dest === '/') throw usageError(`${flag}: cannot mount over the sandbox root "/"`, 'use --rootfs DIR to choose the root, or mount below it')
  for (const r of RESERVED) {
    if (isWithin(dest, r) && dest !== '/dev/shm') {
      throw usageError(`${flag}: cannot mount over ${dest}`, `${r} is set up by the engine with its protections; choose another destination`)
    }
  }
}

/** Resolves a host path that must exist and be a directory or regular file. */
export function resolveHostSource(source: string, flag: string): string {
  if (!source.startsWith('/')) {
    throw usageError(`${flag}: source "${source}" is not an absolute path`, `use an absolute host path, e.g. "$PWD/${source.replace(/^\.\//, '')}"`)
  }
  let real: string
  try {
    real = realpathSync(source)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw usageError(`${flag}: source ${source} does not exist`, 'create it first, or fix the path')
    }
    throw new LabError('volume-source', `${flag}: cannot resolve ${source}: ${(e as Error).message}`, {hint: 'check its permissions'})
  }
  const st = statSync(real)
  if (!st.isDirectory() && !st.isFile()) {
    throw usageError(`${flag}: source ${source} is not a directory or regular file`, 'device files, sockets and FIFOs cannot be mounted into a sandbox')
  }
  return real
}

/** -v HOST:DEST[:ro|rw] */
export function parseBindVolume(value: string): BindMount {
  const parts = value.split(':')
  if (parts.length < 2 || parts.length > 3 || parts[0] === '' || parts[1] === '') {
    throw usageError(`invalid volume "${value}"`, 'use -v /host/path:/sandbox/path[:ro]')
  }
  const [source, dest, opts = ''] = parts
  if (!source.startsWith('/') && !source.startsWith('.')) {
    // Valid volume names are resolved by the lifecycle engine before they get here.
    throw usageError(`invalid volume "${value}": "${source}" is neither an absolute host path nor a volume name`, 'use -v /host/path:/dest, or -v NAME:/dest with a name of letters, digits, _ . - (starting with a letter or digit)')
  }
  let readOnly = false
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro' || o === 'readonly') readOnly = true
    else if (o === 'rw') readOnly = false
    else throw usageError(`volume "${value}": unknown option "${o}"`, 'options are ro or rw')
  }
  const destination = cleanDestination(dest, `volume destination`)
  checkDestinationAllowed(destination, '-v')
  return {type: 'bind', source: resolveHostSource(source, '-v'), destination, readOnly}
}

export const DEFAULT_TMPFS_SIZE = 64 * 1024 * 1024

/** --tmpfs DEST[:size=64m,mode=1777,ro,noexec] */
export function parseTmpfs(value: string): TmpfsMount {
  const idx = value.indexOf(':')
  const dest = idx < 0 ? value : value.slice(0, idx)
  const opts = idx < 0 ? '' : value.slice(idx + 1)
  const destination = cleanDestination(dest, 'tmpfs destination')
  checkDestinationAllowed(destination, '--tmpfs')
  const m: TmpfsMount = {type: 'tmpfs', destination, sizeBytes: DEFAULT_TMPFS_SIZE, mode: 0o1777, readOnly: false, noexec: false}
  for (const o of opts.split(',').filter(Boolean)) {
    const [k, v] = o.split('=', 2)
    if (k === 'size' && v !== undefined) m.sizeBytes = parseSize(v, '--tmpfs size', {min: 4096})
    else if (k === 'mode' && v !== undefined && /^[0-7]{3,4}$/.test(v)) m.mode = parseInt(v, 8)
    else if (k === 'ro') m.readOnly = true
    else if (k === 'rw') m.readOnly = false
    else if (k === 'noexec') m.noexec = true
    else if (k === 'exec') m.noexec = false
    else if (k === 'nosuid' || k === 'nodev') continue // always set
    else throw usageError(`tmpfs "${value}": unknown option "${o}"`, 'options are size=64m, mode=1777, ro, rw, noexec, exec')
  }
  return m
}
