// The image store: import/export, layers stacked with whiteouts and opaque directories,
// save/load both ways with skopeo as the reference, and hostile layers refused whole.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, truncateSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {test} from 'uvu'
import * as assert from 'uvu/assert'

import {lab} from '../helpers.mjs'
import {loadImages} from '../../dist/images/archive.js'
import {layerLimits} from '../../dist/images/limits.js'
import {ImageStore} from '../../dist/images/store.js'
import {busyboxRoot, hasSkopeo, ociLayout, tarOf, tmp, whiteoutLayer} from './fixtures.mjs'

const work = tmp()
const skopeo = (args) => JSON.parse(execFileSync('skopeo', args, {encoding: 'utf8'}))

function freshState() {
  const d = mkdtempSync(join(work, 'state-'))
  return {dir: d, env: {...process.env, LAB_STATE_DIR: d}}
}

async function ok(args, env) {
  const r = await lab(args, {env})
  assert.is(r.code, 0, `lab ${args.join(' ')}: ${r.stderr}`)
  return r
}

const storeFiles = (state) => ({
  layers: readdirSync(join(state, 'images', 'layers')).length,
  blobs: readdirSync(join(state, 'images', 'blobs', 'sha256')).length,
  tmp: readdirSync(join(state, 'images', 'tmp')).length,
})

// a base layer (busybox root, data/old*, etc/remove-me) and a top layer that deletes
// etc/remove-me, makes data/ opaque with one new file, and changes etc/motd
const baseDir = busyboxRoot(join(work, 'base'))
mkdirSync(join(baseDir, 'data'))
writeFileSync(join(baseDir, 'data', 'old1'), 'old\n')
writeFileSync(join(baseDir, 'data', 'old2'), 'old\n')
writeFileSync(join(baseDir, 'etc', 'remove-me'), 'x\n')
const baseTar = execFileSync('tar', ['-C', baseDir, '--owner=0', '--group=0', '-cf', '-', '.'], {maxBuffer: 64 << 20})
const topTar = whiteoutLayer(0o4755)
const twoLayers = join(work, 'two')
const two = ociLayout(twoLayers, [baseTar, topTar], {tag: 'v1', name: 'localhost:5000/course/two:v1', config: {WorkingDir: '/data', Labels: {course: 'ch3'}}})

test('import a flat file system, then ls, inspect, history and export it back', async () => {
  const s = freshState()
  const rootTar = join(work, 'root.tar')
  execFileSync('tar', ['-C', baseDir, '--owner=0', '--group=0', '-cf', rootTar, '.'])
  const id = (await ok(['image', 'import', '-c', 'CMD ["/bin/sh"]', '-c', 'ENV GREETING=hello', '-m', 'a first image', rootTar, 'tools:v1'], s.env)).stdout.trim()
  assert.match(id, /^sha256:[a-f0-9]{64}$/)
  const ls = JSON.parse((await ok(['image', 'ls', '--json'], s.env)).stdout)
  assert.equal(ls.map((r) => `${r.Repository}:${r.Tag}`), ['tools:v1'])
  assert.ok(ls[0].Size > 1_000_000, 'the size is the unpacked size')
  const [info] = JSON.parse((await ok(['image', 'inspect', 'tools:v1'], s.env)).stdout)
  assert.is(info.Id, id)
  assert.equal(info.Config.Cmd, ['/bin/sh'])
  assert.equal(info.Config.Env, ['GREETING=hello'])
  assert.is(info.Comment, 'a first image')
  const hist = JSON.parse((await ok(['image', 'history', '--json', id.slice(7, 19)], s.env)).stdout)
  assert.is(hist.length, 1)
  assert.match(hist[0].CreatedBy, /lab image import/)
  // the export is the same tree
  const out = join(work, 'exported.tar')
  await ok(['image', 'export', '-o', out, 'tools:v1'], s.env)
  const names = execFileSync('tar', ['-tf', out], {encoding: 'utf8'}).trim().split('\n').sort()
  assert.equal(names, ['bin/', 'bin/busybox', 'bin/cat', 'bin/echo', 'bin/ls', 'bin/sh', 'bin/true', 'data/', 'data/old1', 'data/old2', 'etc/', 'etc/motd', 'etc/remove-me'])
  const st = statSync(join(s.dir, 'images'))
  assert.is(st.mode & 0o777, 0o700, 'no other host user can reach the store')
})

test('two layers: the whiteout deletes, the opaque directory hides, the top file wins', async () => {
  const s = freshState()
  await ok(['image', 'load', '-i', twoLayers], s.env)
  const out = join(work, 'two-flat.tar')
  await ok(['image', 'export', '-o', out, 'localhost:5000/course/two:v1'], s.env)
  const x = join(work, 'two-flat')
  mkdirSync(x)
  execFileSync('tar', ['-C', x, '-xf', out])
  assert.not.ok(existsSync(join(x, 'etc', 'remove-me')), 'whited out')
  assert.equal(readdirSync(join(x, 'data')), ['new'], 'the opaque directory shows only the top layer\'s files')
  assert.is(readFileSync(join(x, 'etc', 'motd'), 'utf8'), 'from the top layer\n')
  assert.ok(existsSync(join(x, 'bin', 'busybox')))
  const listing = execFileSync('tar', ['-tvf', out], {encoding: 'utf8'})
  assert.match(listing, /-rwsr-xr-x 1000\/1000 .* data\/new/, 'owners and set-id bits are the image\'s')
  const [info] = JSON.parse((await ok(['image', 'inspect', two.config], s.env)).stdout)
  assert.equal(info.RootFS.Layers, two.diffIds)
  assert.is(info.Descriptor.digest, two.manifest)
  assert.is(info.Config.WorkingDir, '/data')
  // the unpacked layers are private and hold no whiteout files
  const layerRoot = join(s.dir, 'images', 'layers', two.diffIds[1].slice(7), 'root')
  assert.equal(readdirSync(join(layerRoot, 'etc')), ['motd'])
  const rec = JSON.parse(readFileSync(join(s.dir, 'images', 'layers', two.diffIds[1].slice(7), 'layer.json'), 'utf8'))
  assert.equal(rec.whiteouts, ['etc/remove-me'])
  assert.equal(rec.opaques, ['data'])
})

test('a layer two images share is stored once, and removed with the last of them', async () => {
  const s = freshState()
  const other = join(work, 'other')
  const o = ociLayout(other, [baseTar, tarOf([{name: 'hello', data: Buffer.from('hi\n')}])], {name: 'docker.io/library/other:1'})
  await ok(['image', 'load', '-i', twoLayers], s.env)
  await ok(['image', 'load', '-i', other], s.env)
  assert.is(storeFiles(s.dir).layers, 3, 'base, top, hello: the base layer once')
  await ok(['image', 'tag', 'other:1', 'other:2'], s.env)
  const refused = await lab(['image', 'rm', o.config.slice(7, 19)], {env: s.env})
  assert.is(refused.code, 1)
  assert.match(refused.stderr, /referenced in 2 tags.*-f/)
  await ok(['image', 'rm', 'other:1'], s.env)
  assert.is(storeFiles(s.dir).layers, 3, 'untagging one of two names deletes nothing')
  await ok(['image', 'rm', 'other:2'], s.env)
  assert.is(storeFiles(s.dir).layers, 2, 'the shared base stays for the other image')
  // what a killed pull left for resuming goes with prune too
  mkdirSync(join(s.dir, 'images', 'partial'), {mode: 0o700})
  writeFileSync(join(s.dir, 'images', 'partial', 'a'.repeat(64)), 'half a blob')
  await ok(['image', 'prune', '-a'], s.env)
  assert.equal(storeFiles(s.dir), {layers: 0, blobs: 0, tmp: 0})
  assert.equal(readdirSync(join(s.dir, 'images', 'partial')), [])
})

if (hasSkopeo) {
  test('save → skopeo reads docker-archive:, oci-archive: and oci:, and load on a fresh store round-trips digests', async () => {
    const a = freshState()
    await ok(['image', 'load', '-i', twoLayers], a.env)
    const file = join(work, 'saved.tar')
    await ok(['image', 'save', '-o', file, 'localhost:5000/course/two:v1'], a.env)
    const docker = skopeo(['inspect', `docker-archive:${file}:localhost:5000/course/two:v1`])
    assert.is(docker.Name, 'localhost:5000/course/two', 'skopeo finds the image by the tag in manifest.json')
    assert.equal(docker.Labels, {course: 'ch3'})
    const raw = skopeo(['inspect', '--config', `docker-archive:${file}`])
    assert.equal(raw.rootfs.diff_ids, two.diffIds)
    assert.is(skopeo(['inspect', `oci-archive:${file}`]).Digest, two.manifest)
    const dir = join(work, 'saved-layout')
    await ok(['image', 'save', '--format', 'oci-dir', '-o', dir, 'localhost:5000/course/two:v1'], a.env)
    assert.is(skopeo(['inspect', `oci:${dir}:v1`]).Digest, two.manifest)
    const b = freshState()
    const loaded = JSON.parse((await ok(['image', 'load', '--json', '-i', file], b.env)).stdout)
    assert.equal(loaded.images, [{id: two.config, tags: ['localhost:5000/course/two:v1']}])
    const [info] = JSON.parse((await ok(['image', 'inspect', 'localhost:5000/course/two:v1'], b.env)).stdout)
    assert.is(info.Descriptor.digest, two.manifest, 'the manifest digest survives save and load')
    assert.equal(info.RootFS.Layers, two.diffIds)
  })

  test('an older docker save archive (as skopeo writes docker-archive:) loads with its tag', async () => {
    const file = join(work, 'skopeo-docker.tar')
    execFileSync('skopeo', ['copy', '-q', `oci:${twoLayers}:v1`, `docker-archive:${file}:course/two:legacy`])
    const s = freshState()
    const out = await ok(['image', 'load', '-i', file], s.env)
    assert.match(out.stdout, /Loaded image: course\/two:legacy/)
    const [info] = JSON.parse((await ok(['image', 'inspect', 'course/two:legacy'], s.env)).stdout)
    assert.equal(info.RootFS.Layers, two.diffIds)
    assert.is(info.Id, `sha256:${execFileSync('sh', ['-c', `tar -xOf ${file} manifest.json`], {encoding: 'utf8'}).match(/"Config":"(?:blobs\/sha256\/)?([a-f0-9]{64})/)[1]}`)
  })
}

/**
 * A one-layer layout around the given layer tar; loading it must fail and store nothing.
 * Through the library (the CLI's one-line errors are checked below and in registry.test.mjs).
 */
async function refusedLayer(name, layer, pattern, opts = {}) {
  const dir = join(work, `bad-${name}`)
  ociLayout(dir, [layer], {name: `docker.io/library/bad:${name}`})
  opts.tamper?.(dir)
  const s = freshState()
  const store = new ImageStore(s.dir, {...layerLimits({}), ...(opts.limits ?? {})})
  let err = null
  await loadImages(store, {dir}).catch((e) => (err = e))
  assert.ok(err, `${name}: refused`)
  assert.match(err.oneLine?.() ?? String(err), pattern)
  assert.is(err.exitCode, 125)
  assert.equal([storeFiles(s.dir).layers, storeFiles(s.dir).blobs], [0, 0], `${name}: nothing half-stored`)
  assert.equal(storeFiles(s.dir).tmp, 0, `${name}: no temporary files left`)
  assert.not.ok(existsSync(join(s.dir, 'images', 'index.json')), `${name}: no image filed`)
  return s
}

test('hostile layers are refused whole: ../ names, absolute names, writes through a symlink, links out, devices', async () => {
  await refusedLayer('dotdot', tarOf([{name: 'ok', data: Buffer.from('a')}, {name: '../escape', data: Buffer.from('x')}]), /climbs out with "\.\."/)
  await refusedLayer('absolute', tarOf([{name: '/etc/passwd', data: Buffer.from('x')}]), /absolute name/)
  await refusedLayer('symlink-then-file', tarOf([{name: 'a', type: '2', link: '/tmp'}, {name: 'a/planted', data: Buffer.from('x')}]), /through the symlink a/)
  await refusedLayer('relative-symlink-dir', tarOf([{name: 'up', type: '2', link: '../../..'}, {name: 'up/x', data: Buffer.from('x')}]), /through the symlink up/)
  await refusedLayer('hardlink-out', tarOf([{name: 'pw', type: '1', link: '/etc/passwd'}]), /absolute name/)
  await refusedLayer('hardlink-missing', tarOf([{name: 'pw', type: '1', link: 'etc/passwd'}]), /does not hold before it/)
  await refusedLayer('device', tarOf([{name: 'dev/sda', type: '3'}]), /device or fifo/)
  await refusedLayer('big-owner', tarOf([{name: 'f', data: Buffer.from('x'), uid: 1000000000}]), /outside the ids 0–65535/)
  assert.not.ok(existsSync('/tmp/planted') && readFileSync('/tmp/planted', 'utf8') === 'x')
})

test('a zero layer over the size cap, a truncated blob and a blob that does not match its digest', async () => {
  // 8 MiB of zeros in one file gzip to a few KiB; the cap is lowered so the test is quick
  const zeros = tarOf([{name: 'zeros', data: Buffer.alloc(8 << 20)}])
  await refusedLayer('size-cap', zeros, /more than 1048576 bytes of files/, {limits: {maxBytes: 1 << 20}})
  await refusedLayer('too-many', tarOf(Array.from({length: 50}, (_, i) => ({name: `f${i}`}))), /more than 20 entries/, {limits: {maxEntries: 20}})
  const blobOf = (dir) => {
    const m = JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests[0].digest.slice(7))))
    return join(dir, 'blobs', 'sha256', m.layers[0].digest.slice(7))
  }
  const layer = tarOf([{name: 'f', data: Buffer.alloc(100_000, 7)}])
  await refusedLayer('truncated', layer, /has \d+ bytes, not the \d+ its manifest states/, {tamper: (d) => truncateSync(blobOf(d), 100)})
  await refusedLayer('tampered', layer, /does not match its digest/, {tamper: (d) => writeFileSync(blobOf(d), Buffer.alloc(statSync(blobOf(d)).size, 1))})
  // a config whose diff id does not match what the layer unpacks to
  await refusedLayer('diff-id', layer, /unpacks to sha256:[a-f0-9]+, not the/, {
    tamper: (d) => {
      const idx = JSON.parse(readFileSync(join(d, 'index.json'), 'utf8'))
      const mPath = join(d, 'blobs', 'sha256', idx.manifests[0].digest.slice(7))
      const m = JSON.parse(readFileSync(mPath, 'utf8'))
      const cPath = join(d, 'blobs', 'sha256', m.config.digest.slice(7))
      const c = JSON.parse(readFileSync(cPath, 'utf8'))
      c.rootfs.diff_ids = [`sha256:${'0'.repeat(64)}`]
      const cb = Buffer.from(JSON.stringify(c))
      const cd = createHash('sha256').update(cb).digest('hex')
      writeFileSync(join(d, 'blobs', 'sha256', cd), cb)
      m.config = {...m.config, digest: `sha256:${cd}`, size: cb.length}
      const mb = Buffer.from(JSON.stringify(m))
      const md = createHash('sha256').update(mb).digest('hex')
      writeFileSync(join(d, 'blobs', 'sha256', md), mb)
      idx.manifests[0] = {...idx.manifests[0], digest: `sha256:${md}`, size: mb.length}
      writeFileSync(join(d, 'index.json'), JSON.stringify(idx))
    },
  })
})

test('bad input: one line that says what to do', async () => {
  const s = freshState()
  const capped = await lab(['image', 'load', '-i', join(work, 'bad-size-cap')], {env: {...s.env, LAB_IMAGE_MAX_LAYER_SIZE: '1m'}})
  assert.is(capped.code, 125)
  assert.match(capped.stderr, /^lab: the layer [a-f0-9]{12} holds more than 1048576 bytes of files .*\(raise LAB_IMAGE_MAX_LAYER_SIZE if the image is trusted; nothing of it was stored\)\n$/)
  let r = await lab(['image', 'tag', 'nothing:here', 'x'], {env: s.env})
  assert.is(r.code, 1)
  assert.match(r.stderr, /^lab: no such image: nothing:here \(.*lab image ls/)
  r = await lab(['image', 'inspect', 'UPPER/Case::x'], {env: s.env})
  assert.ok(r.code !== 0)
  assert.is(r.stderr.trim().split('\n').length, 1)
  const notTar = join(work, 'not.tar')
  writeFileSync(notTar, 'hello, not an archive at all'.repeat(40))
  r = await lab(['image', 'load', '-i', notTar], {env: s.env})
  assert.is(r.code, 125)
  assert.match(r.stderr, /not a valid tar archive/)
  r = await lab(['image', 'import', '-c', 'FROM scratch', notTar], {env: s.env})
  assert.is(r.code, 125)
  assert.match(r.stderr, /--change FROM is not supported/)
  assert.equal(storeFiles(s.dir), {layers: 0, blobs: 0, tmp: 0})
})

test.after(() => rmSync(work, {recursive: true, force: true}))
test.run()
