/**
 * The root's layout as plan operations: the host's system directories (default) or
 * the top-level entries of a prepared root directory (--rootfs), bound read-only or,
 * for a writable root, as copy-on-write overlays whose changes vanish with the sandbox.
 */
import {lstatSync, readdirSync, readlinkSync, realpathSync, type Stats} from 'node:fs'

import {LabError} from '../errors.js'
import {imageHasDir, topmostOnce} from '../images/overlay.js'
import {etcBase, type EtcBase} from './etc-base.js'
import {HOST_ETC_ENTRIES} from './etc.js'
import type {PlanOp} from './plan.js'
import type {SandboxSpec} from './spec.js'

export const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']
/** Top-level entries of a prepared root that the engine provides itself. */
const ENGINE_OWNED = new Set(['proc', 'sys', 'dev', 'tmp'])

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p)
  } catch {
    return null
  }
}

/** One host entry mirrored into the root at the same place. */
function mirror(hostPath: string, dest: string, writable: boolean, etc: boolean): PlanOp | null {
  const st = lstatOrNull(hostPath)
  if (!st) return null
  if (st.isSymbolicLink()) return ['symlink', readlinkSync(hostPath), dest]
  const flags = etc ? 'ro,nosuid,nodev,noexec' : 'ro,nosuid,nodev'
  if (st.isDirectory()) return writable ? ['overlay', realpathSync(hostPath), dest] : ['bind', realpathSync(hostPath), dest, flags]
  if (st.isFile()) return ['bind', realpathSync(hostPath), dest, flags + ',file']
  return null // never device nodes, sockets or FIFOs
}

let systemDirsCache: {ro: PlanOp[]; rw: PlanOp[]} | null = null

/** The host's system directories (cached per process). */
export function hostRootOps(writable: boolean): PlanOp[] {
  if (!systemDirsCache) {
    const build = (w: boolean): PlanOp[] => SYSTEM_DIRS.map((d) => mirror(d, d, w, false)).filter((op): op is PlanOp => op !== null)
    systemDirsCache = {ro: build(false), rw: build(true)}
  }
  return writable ? systemDirsCache.rw : systemDirsCache.ro
}

/**
 * The harmless part of the host's /etc, after the sandbox's own files are in /etc: an
 * overlay whose lower layer is the shared copy of the host's files (etc-base.ts) and
 * whose upper layer is that /etc directory itself, with the host's directories bound
 * read-only on top. Should the copy's path not fit an overlay option, each entry is
 * bound on its own instead.
 */
export function hostEtcOps(): PlanOp[] {
  const base = etcBase()
  // the same copy as last time: the same operations (no path resolution per sandbox)
  if (etcOpsCache?.base === base) return etcOpsCache.ops
  const lower = realpathSync(base.dir)
  let ops: PlanOp[]
  if (/[,:\\]/.test(lower)) {
    ops = HOST_ETC_ENTRIES.map((e) => mirror(`/etc/${e}`, `/etc/${e}`, false, true)).filter((op): op is PlanOp => op !== null)
  } else {
    ops = [['overlay', lower, '/etc', 'nosuid,nodev,noexec,upper']]
    for (const b of base.binds) ops.push(['bind', realpathSync(b.path), b.path, 'ro,nosuid,nodev,noexec' + (b.file ? ',file' : '')])
  }
  etcOpsCache = {base, ops}
  return ops
}

let etcOpsCache: {base: EtcBase; ops: PlanOp[]} | null = null

let topLevelCache: ReadonlySet<string> | null = null

/** Top-level names the host layout occupies (for deciding what a workdir lands on);
 * the same per-process view of the system directories as hostRootOps. */
export function hostTopLevel(): ReadonlySet<string> {
  // every op is bind, overlay or symlink: [kind, source, destination, ...]
  if (!topLevelCache) topLevelCache = new Set([...hostRootOps(false).map((op) => String(op[2]).slice(1)), 'etc'])
  return topLevelCache
}

/** The entries of a prepared root directory; its /etc comes with it. */
export function dirRootOps(root: string, writable: boolean): {ops: PlanOp[]; topLevel: Set<string>} {
  let names: string[]
  try {
    names = readdirSync(root)
  } catch (e) {
    throw new LabError('rootfs', `--rootfs ${root}: cannot read it: ${(e as Error).message}`, {hint: 'give a directory that holds a root file system (bin, lib, usr, etc)'})
  }
  const ops: PlanOp[] = []
  const topLevel = new Set<string>()
  for (const name of names.sort()) {
    if (ENGINE_OWNED.has(name)) continue
    const op = mirror(`${root}/${name}`, `/${name}`, writable, name === 'etc')
    if (op) {
      // etc of a rootfs may be written in a writable root but is never executable from
      if (name === 'etc' && op[0] === 'bind') op[3] = writable ? 'nosuid,nodev,noexec' : 'ro,nosuid,nodev,noexec'
      ops.push(op)
      topLevel.add(name)
    }
  }
  return {ops, topLevel}
}

/**
 * An image root (src/images/overlay.ts, src/sandbox-native/image.c): the mount points the
 * image lacks go on the scratch root first (Docker's init layer, under nothing the
 * sandbox writes), then the layers, then the overlay. A working directory the image
 * lacks is made in the upper layer, as Docker makes it.
 */
export function imageRootOps(root: SandboxSpec['root'], cwd: string, idmap: boolean): PlanOp[] {
  // a record made before repeats were dropped may still list one twice
  const layers = topmostOnce(root.layers ?? [])
  const ops: PlanOp[] = []
  for (const d of ['/proc', '/sys', '/dev', '/tmp']) if (!imageHasDir(layers, d)) ops.push(['mkdir', d, d === '/tmp' ? '1777' : '755'])
  for (const l of layers) ops.push(['layer', l, idmap ? 'idmap' : '-'])
  ops.push(['imageroot', root.upper ?? '', root.work ?? '', idmap ? 'idmap' : '-'])
  if (cwd !== '/' && !imageHasDir(layers, cwd)) ops.push(['mkdir', cwd, '755'])
  return ops
}
