// An image whose layers repeat a diff id runs: two identical empty layers (what docker
// build writes for ENV-only steps) and a layer repeated above another. Overlayfs refuses
// the same lower directory twice (ELOOP, "Too many levels of symbolic links"); the root
// keeps each layer's topmost occurrence only, which shows the same files.
import {execFileSync} from 'node:child_process'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {loadImages} from '../../dist/images/archive.js'
import {imageRoot, topmostOnce} from '../../dist/images/overlay.js'
import {ImageStore} from '../../dist/images/store.js'
import {lab, rootTest} from '../helpers.mjs'
import {busyboxRoot, ociLayout, tarOf, tmp, whiteoutLayer} from './fixtures.mjs'

const t = suite('images: repeated layers')
let fx

t.before(async () => {
  const work = tmp('lr-')
  const state = join(work, 's')
  const base = busyboxRoot(join(work, 'base'))
  writeFileSync(join(base, 'etc', 'remove-me'), 'x\n')
  execFileSync('mkdir', ['-p', join(base, 'data')])
  writeFileSync(join(base, 'data', 'old1'), 'old\n')
  const baseTar = execFileSync('tar', ['-C', base, '--numeric-owner', '-cf', '-', '.'], {maxBuffer: 64 << 20})
  const empty = tarOf([])
  const store = new ImageStore(state)
  ociLayout(join(work, 'a'), [baseTar, empty, empty, whiteoutLayer(), empty], {name: 'docker.io/library/rep:empty'})
  await loadImages(store, {dir: join(work, 'a')})
  ociLayout(join(work, 'b'), [baseTar, whiteoutLayer(), baseTar], {name: 'docker.io/library/rep:again'})
  await loadImages(store, {dir: join(work, 'b')})
  fx = {work, state, env: {...process.env, LAB_STATE_DIR: state}}
})
t.after(() => rmSync(fx.work, {recursive: true, force: true}))

t('topmostOnce keeps the last occurrence of each layer, order kept', () => {
  assert.equal(topmostOnce(['b', 'e', 'e', 't', 'e']), ['b', 't', 'e'])
  assert.equal(topmostOnce(['b', 't', 'b']), ['t', 'b'])
  assert.equal(topmostOnce(['b', 't']), ['b', 't'])
})

t('the image root lists each layer directory once', () => {
  const r = imageRoot('rep:empty', fx.state)
  assert.is(r.layers.length, 3)
  assert.is(new Set(r.layers).size, r.layers.length)
})

rootTest(t, 'two identical empty layers: the image runs, its whiteouts and top files still apply', async () => {
  const r = await lab(['sandbox', 'run', '--rm', 'rep:empty', '--', 'sh', '-c', 'cat /etc/motd; ls /etc/remove-me 2>&1; ls /data'], {env: fx.env})
  assert.is(r.code, 0, r.stderr)
  assert.not.match(r.stderr, /Too many levels/)
  assert.match(r.stdout, /from the top layer/)
  assert.match(r.stdout, /remove-me: No such file/)
  assert.match(r.stdout, /^new$/m)
  assert.not.match(r.stdout, /old1/)
})

rootTest(t, 'a layer repeated above another shows as the repeat says: the base comes back over the top layer', async () => {
  const r = await lab(['sandbox', 'run', '--rm', 'rep:again', '--', 'sh', '-c', 'cat /etc/motd /etc/remove-me; ls /data'], {env: fx.env})
  assert.is(r.code, 0, r.stderr)
  // base, then top (deletes remove-me, data/ opaque with new), then base again (motd,
  // remove-me and data/old1 back; its data/ is not opaque, so new stays)
  assert.is(r.stdout, 'from the base layer\nx\nnew\nold1\n')
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(fx.work)), [], 'no mount of this state directory is left')
})

t.run()
