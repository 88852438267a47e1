// Pushing to a real registry (Debian's docker-registry on 127.0.0.1) through a logging
// proxy that counts the requests: blobs another repository of the registry holds are
// mounted, not uploaded; large blobs go in PATCH chunks with Content-Range, no smaller
// than the registry's OCI-Chunk-Min-Length; skopeo reads what was pushed.
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'uvu'
import * as assert from 'uvu/assert'

import {lab} from '../helpers.mjs'
import {ociLayout, tarOf, tmp} from './fixtures.mjs'
import {hasRegistry, skopeoInspect, startLoggingProxy, startRegistry} from './registry.mjs'

const work = tmp()
const state = (extra = {}) => {
  const dir = mkdtempSync(join(work, 'state-'))
  return {dir, env: {...process.env, LAB_STATE_DIR: dir, ...extra}}
}
async function ok(args, env) {
  const r = await lab(args, {env, timeout: 180_000})
  assert.is(r.code, 0, `lab ${args.join(' ')}: ${r.stdout} ${r.stderr}`)
  return r
}
const json = async (args, env) => JSON.parse((await ok([...args, '--json'], env)).stdout)

const baseTar = tarOf([{name: 'bin/', type: '5', mode: 0o755}, {name: 'bin/tool', data: randomBytes(300_000), mode: 0o755}])
const aTop = tarOf([{name: 'a.txt', data: Buffer.from('image a\n')}])
const bTop = tarOf([{name: 'b.txt', data: Buffer.from('image b\n')}])
// 5 MiB of random bytes: gzip cannot shrink it, so the blob is over 4 chunks of 1 MiB
const bigTar = tarOf([{name: 'big.bin', data: randomBytes(5 << 20)}])

const blobRequests = (log, digest) => log.filter((q) => q.url.includes(digest) || q.url.includes(encodeURIComponent(digest)))
const uploads = (log) => log.filter((q) => q.method === 'PATCH' || (q.method === 'PUT' && /\/blobs\/uploads\//.test(q.url)))

const suite = hasRegistry ? test : test.skip

suite('a second image sharing layers, pushed to another repository: the shared layers are mounted', async () => {
  const reg = await startRegistry()
  const proxy = await startLoggingProxy(reg.host)
  try {
    const a = ociLayout(join(work, 'a'), [baseTar, aTop], {name: `${proxy.host}/course/a:v1`})
    const b = ociLayout(join(work, 'b'), [baseTar, bTop], {name: `${proxy.host}/course/b:v1`})
    const s = state()
    await ok(['image', 'load', '-i', join(work, 'a')], s.env)
    await ok(['image', 'load', '-i', join(work, 'b')], s.env)

    const first = await json(['image', 'push', `${proxy.host}/course/a:v1`], s.env)
    assert.equal(first.blobs.map((x) => x.status), ['pushed', 'pushed', 'pushed'])
    assert.is(proxy.log.filter((q) => /[?&]mount=/.test(q.url)).length, 0, 'nothing to mount from yet')
    const [afterPush] = await json(['image', 'inspect', `${proxy.host}/course/a:v1`], s.env)
    assert.equal(afterPush.RepoDigests, [`${proxy.host}/course/a@${a.manifest}`], 'the push records the repository digest, as Docker does')

    proxy.log.length = 0
    const second = await json(['image', 'push', `${proxy.host}/course/b:v1`], s.env)
    assert.equal(second.blobs.map((x) => x.status), ['mounted', 'pushed', 'pushed'])
    assert.is(second.blobs[0].from, 'course/a')
    const base = b.blobs[0]
    assert.is(base, a.blobs[0])
    const asked = blobRequests(proxy.log, base)
    assert.equal(asked.map((q) => q.method), ['HEAD', 'POST'], `the shared layer is checked, then mounted: ${JSON.stringify(asked)}`)
    assert.match(asked[1].url, new RegExp(`/v2/course/b/blobs/uploads/\\?mount=${encodeURIComponent(base)}&from=course%2Fa`))
    // only b's own layer and config were uploaded: two monolithic PUTs, no byte of the base
    const up = uploads(proxy.log)
    assert.equal(up.map((q) => q.method), ['PUT', 'PUT'])
    assert.ok(up.every((q) => q.length < 300_000), 'the base layer\'s bytes were not sent')

    const inspected = await skopeoInspect(`${reg.host}/course/b:v1`)
    assert.is(inspected.Digest, b.manifest)
    assert.equal(inspected.Layers, b.blobs)
    // the mounted blob is served by repository b: a fresh store pulls it from there
    const fresh = state()
    const pulled = await json(['image', 'pull', `${reg.host}/course/b:v1`], fresh.env)
    assert.is(pulled.id, b.config)

    // pushed again: every blob exists, nothing is mounted or sent
    proxy.log.length = 0
    const again = await json(['image', 'push', `${proxy.host}/course/b:v1`], s.env)
    assert.equal(again.blobs.map((x) => x.status), ['exists', 'exists', 'exists'])
    assert.equal(uploads(proxy.log), [])
  } finally {
    await proxy.stop()
    await reg.stop()
  }
})

suite('a large blob is pushed in chunks (PATCH with Content-Range), honouring OCI-Chunk-Min-Length', async () => {
  const reg = await startRegistry()
  const proxy = await startLoggingProxy(reg.host)
  try {
    const big = ociLayout(join(work, 'big'), [bigTar], {name: `${proxy.host}/course/big:v1`})
    const s = state({LAB_PUSH_CHUNK_SIZE: '1m'})
    await ok(['image', 'load', '-i', join(work, 'big')], s.env)
    const tooSmall = await lab(['image', 'push', `${proxy.host}/course/big:v1`], {env: {...s.env, LAB_PUSH_CHUNK_SIZE: '1k'}})
    assert.is(tooSmall.code, 125)
    assert.match(tooSmall.stderr, /LAB_PUSH_CHUNK_SIZE is too small \(the minimum is 64k\)/)
    assert.equal(proxy.log, [], 'a bad chunk size is refused before anything is sent')
    const pushed = await json(['image', 'push', `${proxy.host}/course/big:v1`], s.env)
    assert.equal(pushed.blobs.map((x) => x.status), ['pushed', 'pushed'])
    const patches = proxy.log.filter((q) => q.method === 'PATCH')
    assert.is(pushed.blobs[0].chunks, patches.length)
    assert.ok(patches.length >= 5, `${patches.length} chunks`)
    // contiguous ranges of 1 MiB from 0, the last one shorter
    let next = 0
    for (const [i, p] of patches.entries()) {
      const [from, to] = p.range.split('-').map(Number)
      assert.is(from, next)
      assert.is(to - from + 1, p.length)
      if (i < patches.length - 1) assert.is(p.length, 1 << 20)
      next = to + 1
    }
    const finalPut = proxy.log.find((q) => q.method === 'PUT' && q.url.includes(encodeURIComponent(big.blobs[0])))
    assert.ok(finalPut, 'a PUT ?digest= ends the chunks')
    assert.is(finalPut.length, 0)
    // the small config went in one request
    assert.is(pushed.blobs[1].chunks, undefined)
    const inspected = await skopeoInspect(`${reg.host}/course/big:v1`)
    assert.is(inspected.Digest, big.manifest)
    const fresh = state()
    assert.is((await json(['image', 'pull', `${reg.host}/course/big:v1`], fresh.env)).id, big.config)
  } finally {
    await proxy.stop()
    await reg.stop()
  }

  // a registry that asks for chunks of at least 2 MiB gets them, though 1 MiB was set
  const reg2 = await startRegistry()
  const proxy2 = await startLoggingProxy(reg2.host, {addHeaders: {'oci-chunk-min-length': String(2 << 20)}})
  try {
    const s = state({LAB_PUSH_CHUNK_SIZE: '1m'})
    await ok(['image', 'load', '-i', join(work, 'big')], s.env)
    await ok(['image', 'tag', `${proxy.host}/course/big:v1`, `${proxy2.host}/course/big:v1`], s.env)
    await ok(['image', 'push', `${proxy2.host}/course/big:v1`], s.env)
    const patches = proxy2.log.filter((q) => q.method === 'PATCH')
    assert.ok(patches.length >= 2 && patches.length <= 3, `${patches.length} chunks`)
    assert.ok(patches.slice(0, -1).every((p) => p.length === 2 << 20))
    assert.ok((await skopeoInspect(`${reg2.host}/course/big:v1`)).Digest.startsWith('sha256:'))
  } finally {
    await proxy2.stop()
    await reg2.stop()
  }
})

test.after(() => rmSync(work, {recursive: true, force: true}))
test.run()
