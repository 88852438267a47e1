// Test images made here, byte by byte: tar layers (including hostile ones no tar tool
// would write), OCI layouts around them, and a static busybox root from the host.
import {createHash} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

/** zstd bytes of buf, made by the zstd program (level 3, with a checksum, as containerd writes them). */
export function zstdSync(buf, args = ['-3']) {
  return execFileSync('zstd', ['-q', '-c', ...args], {input: buf, maxBuffer: 1 << 30})
}

export const hasZstd = (() => {
  try {
    execFileSync('zstd', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
})()


export function tmp(prefix = 'lab-img-test-') {
  return mkdtempSync(join(tmpdir(), prefix))
}

export const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`

function octal(h, off, len, v) {
  h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1')
}

/**
 * One raw ustar member. type: '0' file, '5' dir, '2' symlink, '1' hard link, '3' char device.
 * Names are written as given (".." and "/" included): that is the point.
 */
export function member({name, type = '0', data = Buffer.alloc(0), size, mode = 0o644, uid = 0, gid = 0, link = '', mtime = 1700000000}) {
  const h = Buffer.alloc(512)
  h.write(name, 0, 100, 'utf8')
  octal(h, 100, 8, mode)
  octal(h, 108, 8, uid)
  octal(h, 116, 8, gid)
  octal(h, 124, 12, size ?? data.length)
  octal(h, 136, 12, mtime)
  h.write(type, 156, 1, 'latin1')
  h.write(link, 157, 100, 'utf8')
  h.write('ustar\x0000', 257, 8, 'latin1')
  h.fill(' ', 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([h, data, pad])
}

export function tarOf(members) {
  return Buffer.concat([...members.map(member), Buffer.alloc(1024)])
}

/** A root with a static busybox and a few applet links. */
export function busyboxRoot(dir) {
  mkdirSync(join(dir, 'bin'), {recursive: true})
  mkdirSync(join(dir, 'etc'))
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'))
  for (const a of ['sh', 'ls', 'cat', 'echo', 'true']) symlinkSync('busybox', join(dir, 'bin', a))
  writeFileSync(join(dir, 'etc', 'motd'), 'from the base layer\n')
  return dir
}

/**
 * An OCI layout directory holding one image made of the given layer blobs (tar or
 * tar+gzip bytes, or tar+zstd with zstd: true); returns its digests. opts.tamper(blobs) may damage it afterwards.
 */
export function ociLayout(dir, layers, {tag = 'v1', name, config: extra = {}, gzip = true, zstd = false} = {}) {
  mkdirSync(join(dir, 'blobs', 'sha256'), {recursive: true})
  const put = (b) => {
    const d = sha(b)
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b)
    return d
  }
  const diffIds = layers.map((l) => sha(l))
  const blobs = layers.map((l) => (zstd ? zstdSync(l) : gzip ? gzipSync(l) : l))
  const layerType = zstd ? 'application/vnd.oci.image.layer.v1.tar+zstd' : gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar'
  const config = Buffer.from(JSON.stringify({
    created: '2026-01-02T03:04:05Z',
    architecture: 'amd64',
    os: 'linux',
    config: {Cmd: ['/bin/sh'], Env: ['PATH=/bin'], ...extra},
    rootfs: {type: 'layers', diff_ids: diffIds},
    history: layers.map((_, i) => ({created: '2026-01-02T03:04:05Z', created_by: `layer ${i}`})),
  }))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length},
    layers: blobs.map((b) => ({mediaType: layerType, digest: put(b), size: b.length})),
  }))
  const md = put(manifest)
  const annotations = {'org.opencontainers.image.ref.name': tag, ...(name ? {'io.containerd.image.name': name} : {})}
  writeFileSync(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length, annotations}]}))
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  return {manifest: md, config: sha(config), diffIds, blobs: blobs.map(sha)}
}

/** A layout whose tag names an image index over several platforms' images. */
export function ociMultiArch(dir, variants, tag = 'multi') {
  const descs = variants.map((v) => {
    const d = ociLayout(dir, v.layers, {config: v.config ?? {}})
    const size = Buffer.byteLength(readFileSync(join(dir, 'blobs', 'sha256', d.manifest.slice(7))))
    return {...d, desc: {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d.manifest, size, platform: v.platform}}
  })
  const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: descs.map((d) => d.desc)}))
  const id = sha(index)
  writeFileSync(join(dir, 'blobs', 'sha256', id.slice(7)), index)
  writeFileSync(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, manifests: [{mediaType: 'application/vnd.oci.image.index.v1+json', digest: id, size: index.length, annotations: {'org.opencontainers.image.ref.name': tag}}]}))
  return {index: id, images: descs}
}

/** Whether skopeo (the reference reader of images) is installed. */
export const hasSkopeo = (() => {
  try {
    execFileSync('skopeo', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
})()

/** A top layer that deletes etc/remove-me, makes data/ opaque with one new file (mode
 * given) and changes etc/motd. */
export function whiteoutLayer(newMode = 0o644) {
  return tarOf([
    {name: 'etc/', type: '5', mode: 0o755},
    {name: 'etc/.wh.remove-me'},
    {name: 'etc/motd', data: Buffer.from('from the top layer\n')},
    {name: 'data/', type: '5', mode: 0o755},
    {name: 'data/.wh..wh..opq'},
    {name: 'data/new', data: Buffer.from('new\n'), uid: 1000, gid: 1000, mode: newMode},
  ])
}
