/** `lab doctor`'s image store line: where it is, what it holds, and that it is private. */
import {existsSync, readdirSync, readFileSync, statfsSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'

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

const IDMAP_FS: Record<number, string> = {0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs'}

/**
 * `lab doctor`'s image root line: overlayfs over idmapped layers needs Linux 5.19 and a
 * store on a file system that can idmap (tmpfs from 6.3); rootless runs need neither
 * (their layers are not idmapped: the caller's files show as root inside).
 */
export function imageRootCheck(kernel: [number, number], stateDir?: string): {name: string; status: 'ok' | 'warn'; detail: string; fix?: string} {
  const name = 'image roots'
  const [maj, min] = kernel
  const at = (a: number, b: number) => maj > a || (maj === a && min >= b)
  if (!existsSync('/proc/filesystems') || !/\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'))) {
    return {name, status: 'warn', detail: 'overlayfs is not loaded: sandboxes cannot run on images', fix: 'modprobe overlay'}
  }
  if (process.getuid?.() !== 0) return {name, status: 'ok', detail: 'overlayfs in the user namespace (rootless: layers are not idmapped; the image\'s files show as owned by root)'}
  if (!at(5, 19)) return {name, status: 'warn', detail: `Linux ${maj}.${min} cannot stack overlayfs on idmapped layers (5.19+)`, fix: 'upgrade the kernel, or run image sandboxes with --userns=host'}
  let fs = 'unknown'
  try {
    const data = stateRoots(stateDir).data
    const st = statfsSync(existsSync(data) ? data : dirname(data))
    fs = IDMAP_FS[Number(st.type)] ?? `type 0x${Number(st.type).toString(16)}`
  } catch {}
  if (fs === 'tmpfs' && !at(6, 3)) return {name, status: 'warn', detail: 'the store is on tmpfs, which idmaps only from Linux 6.3', fix: 'put the state directory on ext4, xfs or btrfs (--state-dir)'}
  if (!Object.values(IDMAP_FS).includes(fs)) return {name, status: 'warn', detail: `the store is on ${fs}, which may not idmap: image sandboxes may fail to start`, fix: 'put the state directory on ext4, xfs or btrfs (--state-dir)'}
  return {name, status: 'ok', detail: `overlayfs over idmapped layers (Linux ${maj}.${min}, store on ${fs}): image ids 0-65535 show as themselves inside`}
}
