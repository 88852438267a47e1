/**
 * A directory as a new OCI layer, stored in the image store as blob and unpacked layer:
 * - layerFromUpper: an overlay upper layer (a sandbox's writes, src/sandbox-native/image.c):
 *   its whiteouts (character devices 0/0) become `.wh.NAME` entries and its opaque
 *   directories (overlay.opaque=y, read by `lab-helper overlay-scan`) `.wh..wh..opq`;
 * - layerFromDir: a plain directory, as it is.
 * The tar is written once, hashed as it goes (diff id), gzipped and hashed again (digest)
 * on its way into the store; then the store unpacks it as any other layer, with the same
 * checks. Owners are the ids on disk: an upper layer is idmapped, so those are the
 * image's ids; without root (rootless) files belong to the caller and are stored as 0.
 * Sockets, fifos and devices other than whiteouts are left out (a sandbox cannot make
 * devices, and Docker leaves sockets out too).
 */
import {spawnSync} from 'node:child_process'
import {lstatSync, readdirSync, readlinkSync, type Stats} from 'node:fs'
import {join} from 'node:path'
import {Transform} from 'node:stream'
import {createGzip} from 'node:zlib'

import {LabError} from '../errors.js'
import {HELPER_PATH} from '../sandbox/helper.js'
import {hasher} from './digest.js'
import {layerMediaType} from './oci.js'
import type {ImageStore, LayerRef} from './store.js'
import {TarWriter} from './tar-out.js'

const isRoot = () => process.getuid?.() === 0

/** The opaque directories of an overlay upper layer ("" is the upper's root). */
export function opaqueDirs(upperDir: string): string[] {
  const r = spawnSync(HELPER_PATH, ['overlay-scan', upperDir], {maxBuffer: 64 << 20})
  if (r.status !== 0) throw new LabError('image-upper', `cannot read the upper layer ${upperDir}: ${(r.stderr?.toString() || r.error?.message || '').trim().replace(/^lab-helper: /, '')}`, {hint: 'run `lab doctor`'})
  return r.stdout.toString('utf8').split('\0').slice(0, -1)
}

/** Whiteouts (paths it deletes) and opaque directories of an upper layer, as a layer record lists them. */
export function upperChanges(upperDir: string): {path: string; whiteouts: string[]; opaques: string[]} {
  const whiteouts: string[] = []
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const st = lstatSync(join(dir, name))
      const path = rel ? `${rel}/${name}` : name
      if (isWhiteout(st)) whiteouts.push(path)
      else if (st.isDirectory()) walk(join(dir, name), path)
    }
  }
  walk(upperDir, '')
  return {path: upperDir, whiteouts: whiteouts.sort(), opaques: opaqueDirs(upperDir).sort()}
}

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0
}

async function writeTree(tw: TarWriter, root: string, overlay: {opaques: Set<string>} | null): Promise<void> {
  const owner = (st: Stats) => (isRoot() ? {uid: st.uid, gid: st.gid} : {uid: 0, gid: 0})
  const links = new Map<string, string>()
  const empty = Buffer.alloc(0)
  if (overlay?.opaques.has('')) await tw.file('.wh..wh..opq', empty, 0o644)
  const walk = async (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name)
      const path = rel ? `${rel}/${name}` : name
      const st = lstatSync(abs)
      const mtime = Math.floor(st.mtimeMs / 1000)
      if (overlay && isWhiteout(st)) {
        await tw.file(rel ? `${rel}/.wh.${name}` : `.wh.${name}`, empty, 0o644, {uid: 0, gid: 0}, mtime)
      } else if (st.isDirectory()) {
        await tw.dir(path, st.mode & 0o7777, owner(st), mtime)
        if (overlay?.opaques.has(path)) await tw.file(`${path}/.wh..wh..opq`, empty, 0o644, {uid: 0, gid: 0}, mtime)
        await walk(abs, path)
      } else if (st.isSymbolicLink()) {
        await tw.symlink(path, readlinkSync(abs), owner(st), mtime)
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`
        const first = st.nlink > 1 ? links.get(key) : undefined
        if (first) await tw.hardlink(path, first, owner(st), mtime)
        else {
          if (st.nlink > 1) links.set(key, path)
          await tw.fileFrom(path, abs, st.size, st.mode & 0o7777, owner(st), mtime)
        }
      }
    }
  }
  await walk(root, '')
}

async function storeTree(store: ImageStore, root: string, overlay: {opaques: Set<string>} | null): Promise<LayerRef> {
  const diff = hasher()
  const gz = createGzip({level: 6})
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      diff.update(chunk)
      cb(null, chunk)
    },
  })
  hashing.pipe(gz)
  hashing.on('error', (e) => gz.destroy(e))
  const writing = (async () => {
    const tw = new TarWriter(hashing)
    await writeTree(tw, root, overlay)
    await tw.end()
  })().catch((e) => {
    gz.destroy(e as Error)
    throw e
  })
  const [blob] = await Promise.all([store.putBlobStream(gz, undefined, 'the new layer'), writing])
  const diffId = `sha256:${diff.digest('hex')}`
  await store.ensureLayer(blob.digest, diffId, 'the new layer')
  return {digest: blob.digest, mediaType: layerMediaType('oci', 'gzip'), size: blob.size, diffId}
}

/** An overlay upper layer as a stored layer: its additions, changes and deletions. */
export async function layerFromUpper(store: ImageStore, upperDir: string): Promise<LayerRef> {
  return storeTree(store, upperDir, {opaques: new Set(opaqueDirs(upperDir))})
}

/** A plain directory as a stored layer. */
export async function layerFromDir(store: ImageStore, dir: string): Promise<LayerRef> {
  return storeTree(store, dir, null)
}
