// zstd layers (application/vnd.oci.image.layer.v1.tar+zstd) through a real registry:
// skopeo recompresses an image to zstd and pushes it, lab pulls it (blob digest over the
// compressed bytes, diff_id over the tar), runs it, saves, loads and pushes it unchanged;
// zstd bombs and damaged zstd are refused with nothing half-stored.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot, lab} from '../helpers.mjs'
import {busyboxRoot, hasZstd, ociLayout, sha, tarOf, tmp, zstdSync} from './fixtures.mjs'
import {hasRegistry, run, skopeoInspect, skopeoPush, startRegistry} from './registry.mjs'

const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd'
const work = tmp()
const state = (extra = {}) => {
  const dir = mkdtempSync(join(work, 'state-'))
  return {dir, env: {...process.env, LAB_STATE_DIR: dir, ...extra}}
}
const storeFiles = (dir) => ({
  layers: existsSync(join(dir, 'images', 'layers')) ? readdirSync(join(dir, 'images', 'layers')).length : 0,
  blobs: existsSync(join(dir, 'images', 'blobs', 'sha256')) ? readdirSync(join(dir, 'images', 'blobs', 'sha256')).length : 0,
  partial: existsSync(join(dir, 'images', 'partial')) ? readdirSync(join(dir, 'images', 'partial')).filter((f) => !f.endsWith('.lock')).length : 0,
})
async function ok(args, env) {
  const r = await lab(args, {env, timeout: 180_000})
  assert.is(r.code, 0, `lab ${args.join(' ')}: ${r.stdout} ${r.stderr}`)
  return r
}
const json = async (args, env) => JSON.parse((await ok([...args, '--json'], env)).stdout)

const base = busyboxRoot(join(work, 'base-root'))
const baseTar = execFileSync('tar', ['-C', base, '--owner=0', '--group=0', '-cf', '-', '.'], {maxBuffer: 64 << 20})
const topTar = tarOf([{name: 'etc/.wh.motd'}, {name: 'srv/', type: '5', mode: 0o755}, {name: 'srv/index.html', data: Buffer.from('<p>zstd</p>\n')}])
const gz = ociLayout(join(work, 'gz'), [baseTar, topTar], {config: {Labels: {compression: 'zstd'}}})

const suite = hasRegistry && hasZstd ? test : test.skip

suite('a zstd image pushed by skopeo: pulled, verified, run, saved, loaded and pushed as it is', async () => {
  const reg = await startRegistry()
  try {
    await skopeoPush(`oci:${join(work, 'gz')}:v1`, `${reg.host}/course/z:v1`, null, ['--dest-compress-format', 'zstd', '--dest-compress'])
    const raw = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/course/z:v1`]))
    assert.equal(raw.layers.map((l) => l.mediaType), [ZSTD, ZSTD], 'skopeo pushed zstd layers')
    const zDigests = raw.layers.map((l) => l.digest)
    for (const d of zDigests) assert.equal([...readFileSync(reg.blobFile(d)).subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'the registry holds zstd bytes')
    const ref = await skopeoInspect(`${reg.host}/course/z:v1`)
    const s = state()
    const pulled = await json(['image', 'pull', `${reg.host}/course/z:v1`], s.env)
    assert.is(pulled.digest, ref.Digest)
    assert.is(pulled.id, gz.config, 'same config: the diff_ids are the tar\'s, whatever the compression')
    assert.equal(pulled.layers.map((l) => l.status), ['pulled', 'pulled'])
    const [info] = await json(['image', 'inspect', `${reg.host}/course/z:v1`], s.env)
    assert.equal(info.RootFS.Layers, gz.diffIds)
    const top = JSON.parse(readFileSync(join(s.dir, 'images', 'layers', gz.diffIds[1].slice(7), 'layer.json'), 'utf8'))
    assert.equal(top.whiteouts, ['etc/motd'])
    // the stored blobs are the registry's zstd bytes, unchanged
    for (const d of zDigests) assert.ok(existsSync(join(s.dir, 'images', 'blobs', 'sha256', d.slice(7))), `blob ${d} kept as pulled`)

    if (isRoot) {
      const r = await lab(['sandbox', 'run', '--rm', `${reg.host}/course/z:v1`, '--', 'sh', '-c', 'cat /srv/index.html; ls /etc/motd 2>&1 || true'], {env: s.env, timeout: 120_000})
      assert.is(r.code, 0, r.stderr)
      assert.match(r.stdout, /<p>zstd<\/p>\n/)
      assert.match(r.stdout, /No such file/, 'the top layer\'s whiteout hides the base\'s motd')
    }

    // save and load keep the zstd blobs and the manifest digest
    const dir = join(work, 'saved-oci')
    await ok(['image', 'save', '--format', 'oci-dir', '-o', dir, `${reg.host}/course/z:v1`], s.env)
    const idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
    assert.is(idx.manifests[0].digest, ref.Digest)
    const m = JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', ref.Digest.slice(7)), 'utf8'))
    assert.equal(m.layers.map((l) => [l.mediaType, l.digest]), zDigests.map((d) => [ZSTD, d]))
    const tarPath = join(work, 'saved.tar')
    await ok(['image', 'save', '-o', tarPath, `${reg.host}/course/z:v1`], s.env)
    const s2 = state()
    await ok(['image', 'load', '-i', tarPath], s2.env)
    const [loaded] = await json(['image', 'inspect', `${reg.host}/course/z:v1`], s2.env)
    assert.is(loaded.Id, gz.config)
    assert.equal(loaded.RootFS.Layers, gz.diffIds)

    // push to another repository: the same manifest (its digest), zstd layers as they are
    await ok(['image', 'tag', `${reg.host}/course/z:v1`, `${reg.host}/course/z-copy:v1`], s2.env)
    await ok(['image', 'push', `${reg.host}/course/z-copy:v1`], s2.env)
    assert.is((await skopeoInspect(`${reg.host}/course/z-copy:v1`)).Digest, ref.Digest)
    const copyRaw = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/course/z-copy:v1`]))
    assert.equal(copyRaw.layers.map((l) => l.mediaType), [ZSTD, ZSTD])
  } finally {
    await reg.stop()
  }
})

suite('zstd bombs and damaged zstd are refused, with nothing of them stored', async () => {
  const reg = await startRegistry()
  try {
    // 64 MiB of zeros: a file over the size cap, and zeros after the tar's end over the stream cap
    const zeros = Buffer.alloc(64 << 20)
    const bigFile = tarOf([{name: 'small', data: Buffer.from('x')}, {name: 'zeros', data: zeros}])
    ociLayout(join(work, 'bomb1'), [bigFile], {zstd: true})
    const trailer = Buffer.concat([tarOf([{name: 'a', data: Buffer.from('a\n')}]), zeros])
    ociLayout(join(work, 'bomb2'), [trailer], {zstd: true})
    for (const d of ['bomb1', 'bomb2']) assert.ok(readdirSync(join(work, d, 'blobs', 'sha256')).every((f) => readFileSync(join(work, d, 'blobs', 'sha256', f)).length < (1 << 20)), 'the compressed layers are small')
    await skopeoPush(`oci:${join(work, 'bomb1')}:v1`, `${reg.host}/bomb/file:v1`)
    await skopeoPush(`oci:${join(work, 'bomb2')}:v1`, `${reg.host}/bomb/stream:v1`)

    const s = state({LAB_IMAGE_MAX_LAYER_SIZE: '16m', LAB_IMAGE_MAX_LAYER_FILES: '100'})
    let r = await lab(['image', 'pull', `${reg.host}/bomb/file:v1`], {env: s.env})
    assert.is.not(r.code, 0)
    assert.match(r.stderr, /holds more than 16777216 bytes of files/)
    r = await lab(['image', 'pull', `${reg.host}/bomb/stream:v1`], {env: s.env})
    assert.is.not(r.code, 0)
    assert.match(r.stderr, /unpacks to more than \d+ bytes/)
    assert.match(r.stderr, /LAB_IMAGE_MAX_LAYER_SIZE/)
    assert.equal(storeFiles(s.dir), {layers: 0, blobs: 0, partial: 0}, 'nothing half-stored')
    assert.is((await json(['image', 'ls'], s.env)).length, 0)

    // a window larger than zstd decodes by default (--long=31): refused before any memory is taken
    const longTar = tarOf([{name: 'hello', data: Buffer.from('hi\n')}])
    const longBlob = zstdSync(longTar, ['--ultra', '-22', '--long=31'])
    // a layout with the long-window blob in place of the level-3 one
    const layout = join(work, 'long')
    const made = ociLayout(layout, [longTar], {zstd: true})
    const manifestPath = join(layout, 'blobs', 'sha256', made.manifest.slice(7))
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
    manifest.layers[0] = {...manifest.layers[0], digest: sha(longBlob), size: longBlob.length}
    const mBytes = Buffer.from(JSON.stringify(manifest))
    writeFileSync(join(layout, 'blobs', 'sha256', sha(longBlob).slice(7)), longBlob)
    writeFileSync(join(layout, 'blobs', 'sha256', sha(mBytes).slice(7)), mBytes)
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'))
    index.manifests[0] = {...index.manifests[0], digest: sha(mBytes), size: mBytes.length}
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index))
    await skopeoPush(`oci:${layout}:v1`, `${reg.host}/bomb/window:v1`)
    const s2 = state()
    r = await lab(['image', 'pull', `${reg.host}/bomb/window:v1`], {env: s2.env})
    assert.is.not(r.code, 0)
    assert.match(r.stderr, /zstd with a \d+-byte window, more than the 134217728/)
    assert.equal(storeFiles(s2.dir), {layers: 0, blobs: 0, partial: 0})
  } finally {
    await reg.stop()
  }
})

test.after(() => rmSync(work, {recursive: true, force: true}))
test.run()
