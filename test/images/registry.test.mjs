// Pulling and pushing against a real registry (Debian's docker-registry on 127.0.0.1):
// anonymous, htpasswd and token auth, multi-arch indexes, shared layers, resumed
// downloads, and damaged or hostile content refused with nothing half-stored.
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'uvu'
import * as assert from 'uvu/assert'

import {lab} from '../helpers.mjs'
import {busyboxRoot, ociLayout, ociMultiArch, tarOf, tmp} from './fixtures.mjs'
import {hasRegistry, skopeoInspect, skopeoPush, startRegistry} from './registry.mjs'

const work = tmp()
const state = () => {
  const dir = mkdtempSync(join(work, 'state-'))
  return {dir, env: {...process.env, LAB_STATE_DIR: dir}}
}
const storeFiles = (dir) => ({
  layers: readdirSync(join(dir, 'images', 'layers')).length,
  blobs: readdirSync(join(dir, 'images', 'blobs', 'sha256')).length,
  partial: existsSync(join(dir, 'images', 'partial')) ? readdirSync(join(dir, 'images', 'partial')).filter((f) => !f.endsWith('.lock')).length : 0,
})

async function ok(args, env, input) {
  const r = await lab(args, {env, input})
  assert.is(r.code, 0, `lab ${args.join(' ')}: ${r.stdout} ${r.stderr}`)
  return r
}
const json = async (args, env, input) => JSON.parse((await ok([...args, '--json'], env, input)).stdout)

// images: a busybox base, a top layer with a whiteout and an opaque directory, and a
// second image sharing the base
const base = busyboxRoot(join(work, 'base-root'))
const {execFileSync} = await import('node:child_process')
const baseTar = execFileSync('tar', ['-C', base, '--owner=0', '--group=0', '-cf', '-', '.'], {maxBuffer: 64 << 20})
const topTar = tarOf([{name: 'etc/.wh.motd'}, {name: 'srv/', type: '5', mode: 0o755}, {name: 'srv/.wh..wh..opq'}, {name: 'srv/index.html', data: Buffer.from('<p>hi</p>\n')}])
const two = ociLayout(join(work, 'two'), [baseTar, topTar], {config: {Labels: {chapter: 'ch3'}}})
const other = ociLayout(join(work, 'other'), [baseTar, tarOf([{name: 'hello', data: Buffer.from('hello\n')}])])

const suite = hasRegistry ? test : test.skip

suite('anonymous: pull by tag and digest, whiteouts kept, shared layers fetched once, push back', async () => {
  const reg = await startRegistry()
  try {
    await skopeoPush(`oci:${join(work, 'two')}:v1`, `${reg.host}/course/two:v1`)
    await skopeoPush(`oci:${join(work, 'other')}:v1`, `${reg.host}/course/other:v1`)
    const ref = await skopeoInspect(`${reg.host}/course/two:v1`)
    const s = state()
    const pulled = await json(['image', 'pull', `${reg.host}/course/two:v1`], s.env)
    assert.is(pulled.id, two.config, 'the image id is the config digest')
    assert.is(pulled.digest, ref.Digest, 'the manifest digest is the registry\'s, as skopeo sees it')
    assert.equal(pulled.layers.map((l) => l.status), ['pulled', 'pulled'])
    const [info] = await json(['image', 'inspect', `${reg.host}/course/two:v1`], s.env)
    assert.equal(info.RepoDigests, [`${reg.host}/course/two@${ref.Digest}`])
    assert.equal(info.Config.Labels, {chapter: 'ch3'})
    const top = JSON.parse(readFileSync(join(s.dir, 'images', 'layers', two.diffIds[1].slice(7), 'layer.json'), 'utf8'))
    assert.equal([top.whiteouts, top.opaques], [['etc/motd'], ['srv']])
    // the second image shares the base: only its own layer is fetched
    const second = await json(['image', 'pull', `${reg.host}/course/other:v1`], s.env)
    assert.equal(second.layers.map((l) => l.status), ['exists', 'pulled'])
    // by digest, again: nothing is fetched
    const byDigest = await json(['image', 'pull', `${reg.host}/course/two@${ref.Digest}`], s.env)
    assert.equal(byDigest.layers.map((l) => l.status), ['exists', 'exists'])
    // plain progress lines when stdout is not a terminal
    const plain = await ok(['image', 'pull', `${reg.host}/course/two:v1`], s.env)
    assert.match(plain.stdout, /: Already exists\n[\s\S]*Status: Image is up to date for/)
    // push under another name; skopeo reads the same manifest back
    await ok(['image', 'tag', `${reg.host}/course/two:v1`, `${reg.host}/course/copy:v2`], s.env)
    const pushed = await json(['image', 'push', `${reg.host}/course/copy:v2`], s.env)
    // pulled from course/two (the base also from course/other) on the same registry: every blob is mounted, none sent
    assert.equal(pushed.blobs.map((b) => b.status), ['mounted', 'mounted', 'mounted'])
    assert.ok(['course/two', 'course/other'].includes(pushed.blobs[0].from))
    assert.equal(pushed.blobs.slice(1).map((b) => b.from), ['course/two', 'course/two'])
    assert.is((await skopeoInspect(`${reg.host}/course/copy:v2`)).Digest, ref.Digest)
  } finally {
    await reg.stop()
  }
})

suite('a multi-arch index: this machine\'s platform by default, --platform picks another', async () => {
  const reg = await startRegistry()
  try {
    const m = ociMultiArch(join(work, 'multi'), [
      {platform: {os: 'linux', architecture: 'arm64', variant: 'v8'}, layers: [tarOf([{name: 'arch', data: Buffer.from('arm64\n')}])], config: {Labels: {arch: 'arm64'}}},
      {platform: {os: 'linux', architecture: 'amd64'}, layers: [tarOf([{name: 'arch', data: Buffer.from('amd64\n')}])], config: {Labels: {arch: 'amd64'}}},
    ])
    await skopeoPush(`oci:${join(work, 'multi')}:multi`, `${reg.host}/course/multi:v1`, undefined, ['--all'])
    const s = state()
    const [arm, amd] = m.images
    if (process.arch === 'x64') assert.is((await json(['image', 'pull', `${reg.host}/course/multi:v1`], s.env)).id, amd.config)
    assert.is((await json(['image', 'pull', '--platform', 'linux/arm64', `${reg.host}/course/multi:v1`], s.env)).id, arm.config)
    const r = await lab(['image', 'pull', '--platform', 'linux/s390x', `${reg.host}/course/multi:v1`], {env: s.env})
    assert.is(r.code, 125)
    assert.match(r.stderr, /no linux\/s390x variant of the image \(it has linux\/arm64\/v8, linux\/amd64\) \(pick one with --platform\)/)
  } finally {
    await reg.stop()
  }
})

suite('htpasswd auth: a clear error without login, a refused login is not kept, lab login then pull', async () => {
  const reg = await startRegistry({htpasswd: {alice: 's3cret'}})
  try {
    await skopeoPush(`oci:${join(work, 'other')}:v1`, `${reg.host}/course/private:v1`, 'alice:s3cret')
    const s = state()
    let r = await lab(['image', 'pull', `${reg.host}/course/private:v1`], {env: s.env})
    assert.is(r.code, 125)
    assert.match(r.stderr, new RegExp(`needs a login for this \\(run \`lab login ${reg.host}\``))
    r = await lab(['login', '-u', 'alice', '--password-stdin', reg.host], {env: s.env, input: 'wrong\n'})
    assert.is(r.code, 125)
    assert.match(r.stderr, /refused the credentials/)
    assert.not.ok(existsSync(join(s.dir, 'auth.json')), 'refused credentials are not kept')
    await ok(['login', '-u', 'alice', '--password-stdin', reg.host], s.env, 's3cret\n')
    assert.is(statSync(join(s.dir, 'auth.json')).mode & 0o777, 0o600)
    assert.is((await json(['image', 'pull', `${reg.host}/course/private:v1`], s.env)).id, other.config)
    // Docker's config.json is read too
    const d = state()
    const dockerDir = join(d.dir, 'docker')
    mkdirSync(dockerDir)
    writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({auths: {[reg.host]: {auth: Buffer.from('alice:s3cret').toString('base64')}}}))
    assert.is((await json(['image', 'pull', `${reg.host}/course/private:v1`], {...d.env, DOCKER_CONFIG: dockerDir})).id, other.config)
  } finally {
    await reg.stop()
  }
})

suite('token auth: anonymous is refused, credentials are traded for a token of the right scope', async () => {
  const reg = await startRegistry({token: {alice: 'tok3n'}})
  try {
    await skopeoPush(`oci:${join(work, 'other')}:v1`, `${reg.host}/course/tokened:v1`, 'alice:tok3n')
    const s = state()
    const r = await lab(['image', 'pull', `${reg.host}/course/tokened:v1`], {env: s.env})
    assert.is(r.code, 125)
    assert.match(r.stderr, /needs a login for this/)
    await ok(['login', '-u', 'alice', '--password-stdin', reg.host], s.env, 'tok3n\n')
    reg.token.requests.length = 0
    assert.is((await json(['image', 'pull', `${reg.host}/course/tokened:v1`], s.env)).id, other.config)
    const asked = reg.token.requests.find((q) => q.user === 'alice' && q.scopes.includes('repository:course/tokened:pull'))
    assert.ok(asked, `the token request names the scope: ${JSON.stringify(reg.token.requests)}`)
    assert.is(asked.service, 'lab-test-registry')
  } finally {
    await reg.stop()
  }
})

suite('damaged and hostile content from the registry is refused, nothing half-stored', async () => {
  const reg = await startRegistry()
  try {
    const layer = tarOf([{name: 'f', data: Buffer.alloc(200_000, 7)}])
    const pushOne = async (name, layers) => {
      const l = ociLayout(join(work, `r-${name}`), layers)
      await skopeoPush(`oci:${join(work, `r-${name}`)}:v1`, `${reg.host}/bad/${name}:v1`)
      return {...l, remote: await skopeoInspect(`${reg.host}/bad/${name}:v1`, undefined, ['--raw']).catch(() => null)}
    }
    const refusedPull = async (name, pattern, env = {}) => {
      const s = state()
      const r = await lab(['image', 'pull', `${reg.host}/bad/${name}:v1`], {env: {...s.env, ...env}})
      assert.is(r.code, 125, `${name}: ${r.stdout} ${r.stderr}`)
      assert.match(r.stderr, pattern)
      assert.is(r.stderr.trim().split('\n').length, 1)
      const f = storeFiles(s.dir)
      assert.equal([f.layers, f.partial], [0, 0], `${name}: nothing half-stored`)
      assert.not.ok(existsSync(join(s.dir, 'images', 'index.json')), `${name}: no image filed`)
    }
    // a manifest whose bytes do not match the digest the registry names
    const m1 = await pushOne('manifest', [layer])
    const mDigest = (await skopeoInspect(`${reg.host}/bad/manifest:v1`)).Digest
    const mFile = reg.blobFile(mDigest)
    const body = JSON.parse(readFileSync(mFile, 'utf8'))
    body.annotations = {tampered: 'yes'}
    writeFileSync(mFile, JSON.stringify(body))
    await refusedPull('manifest', /the manifest does not match the digest the registry states/)
    // a truncated layer blob
    const t = await pushOne('truncated', [tarOf([{name: 'f', data: Buffer.alloc(200_000, 8)}])])
    truncateSync(reg.blobFile(t.remote.layers[0].digest), Math.floor(t.remote.layers[0].size / 2))
    await refusedPull('truncated', /stays shorter than the \d+ bytes its manifest states/)
    // a layer blob with other bytes of the same size
    const x = await pushOne('tampered', [tarOf([{name: 'f', data: Buffer.alloc(200_000, 9)}])])
    const xf = reg.blobFile(x.remote.layers[0].digest)
    writeFileSync(xf, Buffer.alloc(statSync(xf).size, 1))
    await refusedPull('tampered', /does not match its digest/)
    // hostile layers through the registry
    await pushOne('dotdot', [tarOf([{name: '../../escape', data: Buffer.from('x')}])])
    await refusedPull('dotdot', /climbs out with "\.\."/)
    await pushOne('through-link', [tarOf([{name: 'etc', type: '2', link: '/etc'}, {name: 'etc/cron.d/x', data: Buffer.from('x')}])])
    await refusedPull('through-link', /through the symlink etc/)
    await pushOne('zeros', [tarOf([{name: 'zeros', data: Buffer.alloc(4 << 20)}])])
    await refusedPull('zeros', /more than 1048576 bytes of files/, {LAB_IMAGE_MAX_LAYER_SIZE: '1m'})
  } finally {
    await reg.stop()
  }
})

suite('a download cut off is resumed from its partial file (a wrong partial is caught by the digest)', async () => {
  const reg = await startRegistry()
  try {
    const big = tarOf([{name: 'data', data: Buffer.from(Array.from({length: 300_000}, (_, i) => i % 251))}])
    ociLayout(join(work, 'resume'), [big])
    await skopeoPush(`oci:${join(work, 'resume')}:v1`, `${reg.host}/course/resume:v1`)
    const remote = await skopeoInspect(`${reg.host}/course/resume:v1`, undefined, ['--raw'])
    const blob = remote.layers[0]
    const whole = readFileSync(reg.blobFile(blob.digest))
    // what a killed pull leaves: the first part of the blob
    const s = state()
    mkdirSync(join(s.dir, 'images', 'partial'), {recursive: true, mode: 0o700})
    writeFileSync(join(s.dir, 'images', 'partial', blob.digest.slice(7)), whole.subarray(0, 1000))
    await ok(['image', 'pull', `${reg.host}/course/resume:v1`], s.env)
    assert.is(storeFiles(s.dir).partial, 0)
    // a partial file that is not the blob's start: the resumed whole fails its digest
    const w = state()
    mkdirSync(join(w.dir, 'images', 'partial'), {recursive: true, mode: 0o700})
    writeFileSync(join(w.dir, 'images', 'partial', blob.digest.slice(7)), Buffer.alloc(1000, 0x55))
    const r = await lab(['image', 'pull', `${reg.host}/course/resume:v1`], {env: w.env})
    assert.is(r.code, 125)
    assert.match(r.stderr, /does not match its digest/)
    assert.equal(storeFiles(w.dir), {layers: 0, blobs: 0, partial: 0})
  } finally {
    await reg.stop()
  }
})

suite('a connection cut in the middle of a blob is resumed with a Range request in the same pull', async () => {
  const reg = await startRegistry()
  // a proxy on loopback in front of the registry: the first answer for each blob is cut
  // off a little past its middle (the connection closed), later ones pass whole
  const {createServer, request} = await import('node:http')
  const [regHost, regPort] = reg.host.split(':')
  const asked = []
  const proxy = createServer((req, res) => {
    const blob = /\/blobs\/sha256:/.test(req.url)
    const seen = {url: req.url, range: req.headers.range ?? null}
    if (blob) asked.push(seen)
    const first = blob && asked.filter((a) => a.url === req.url).length === 1
    const up = request({host: regHost, port: Number(regPort), method: req.method, path: req.url, headers: {...req.headers, host: reg.host}}, (ur) => {
      res.writeHead(ur.statusCode, ur.headers)
      if (!first) return void ur.pipe(res)
      const cutAt = Math.floor(Number(ur.headers['content-length']) / 2) + 123
      seen.cutAt = cutAt
      let sent = 0
      ur.on('data', (c) => {
        if (sent >= cutAt) return
        const part = c.subarray(0, cutAt - sent)
        sent += part.length
        res.write(part)
        if (sent >= cutAt) {
          ur.destroy()
          setTimeout(() => res.socket?.destroy(), 50)
        }
      })
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  const port = await new Promise((r) => proxy.listen(0, '127.0.0.1', () => r(proxy.address().port)))
  try {
    // 3 MiB that does not compress: the cut lands after whole 1 MiB writes and inside one
    const data = (await import('node:crypto')).randomBytes(3 << 20)
    const img = ociLayout(join(work, 'cut'), [tarOf([{name: 'data', data}])])
    await skopeoPush(`oci:${join(work, 'cut')}:v1`, `${reg.host}/course/cut:v1`)
    const layerDigest = (await skopeoInspect(`${reg.host}/course/cut:v1`, undefined, ['--raw'])).layers[0].digest
    const s = state()
    const pulled = await json(['image', 'pull', `127.0.0.1:${port}/course/cut:v1`], s.env)
    assert.is(pulled.id, img.config)
    const layerBlob = asked.find((a) => a.range === null && a.url.endsWith(layerDigest))
    assert.ok(layerBlob, `the layer was asked for: ${JSON.stringify(asked)}`)
    const resumed = asked.filter((a) => a.url === layerBlob.url && a.range)
    assert.is(resumed.length, 1, `one resumed request: ${JSON.stringify(asked)}`)
    assert.match(resumed[0].range, /^bytes=\d+-$/)
    assert.is(resumed[0].range, `bytes=${layerBlob.cutAt}-`, 'resumed from all that had arrived: none of it lost on the way to the file')
    assert.ok(readFileSync(join(s.dir, 'images', 'layers', img.diffIds[0].slice(7), 'root', 'data')).equals(data), 'the layer holds the bytes pushed')
    assert.equal(storeFiles(s.dir), {layers: 1, blobs: 3, partial: 0})
  } finally {
    await new Promise((r) => proxy.close(r))
    await reg.stop()
  }
})

test.after(() => rmSync(work, {recursive: true, force: true}))
test.run()
