/** Where a recorded image sandbox keeps its upper layer: beside its record, so it goes with it. */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

export function imageUpperDirs(recordDir: string): {upper: string; work: string} {
  const rootfs = join(recordDir, 'rootfs')
  const dirs = {upper: join(rootfs, 'upper'), work: join(rootfs, 'work')}
  mkdirSync(rootfs, {mode: 0o700})
  // 0755: the upper's own directory is the root directory the sandbox sees
  mkdirSync(dirs.upper, {mode: 0o755})
  mkdirSync(dirs.work, {mode: 0o700})
  return dirs
}
