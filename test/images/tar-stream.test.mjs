// Reading a tar stream entry by entry (src/images/tar-stream.ts) whatever sizes its
// chunks come in: one byte at a time, across every header and padding boundary, or whole;
// the same entries and bytes each way, and a stream cut short refused at any point.
import {execFileSync} from 'node:child_process'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'uvu'
import * as assert from 'uvu/assert'

import {readTar} from '../../dist/images/tar-stream.js'
import {tarOf, tmp} from './fixtures.mjs'

const work = tmp()

// a tree GNU tar writes in its two long-name formats: GNU ('L' headers) and pax ('x')
const root = join(work, 'root')
const long = `${'d'.repeat(90)}/${'f'.repeat(120)}`
mkdirSync(join(root, 'd'.repeat(90)), {recursive: true})
const files = {empty: 0, one: 1, '511': 511, '512': 512, '513': 513, big: 70_001, [long]: 2_000}
let seed = 1
for (const [name, size] of Object.entries(files)) {
  writeFileSync(join(root, name), Buffer.from(Array.from({length: size}, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff)))
}
const tars = {
  gnu: execFileSync('tar', ['-C', root, '--format=gnu', '--sort=name', '-cf', '-', '.'], {maxBuffer: 16 << 20}),
  pax: execFileSync('tar', ['-C', root, '--format=pax', '--sort=name', '-cf', '-', '.'], {maxBuffer: 16 << 20}),
  fixture: tarOf([{name: 'a', data: Buffer.alloc(1000, 1)}, {name: 'dir/', type: '5'}, {name: 'dir/link', type: '2', link: '../a'}, {name: 'b', data: Buffer.alloc(513, 2)}]),
}

/** The source as an async iterable of chunks of the given size (fresh buffers, as a stream's). */
async function* chunks(buf, size) {
  for (let off = 0; off < buf.length; off += size) yield Buffer.from(buf.subarray(off, off + size))
}

/** Every entry with its data, as readTar hands them over. */
async function entries(src) {
  const out = []
  await readTar(src, 'the test tar', (m) => {
    const e = {name: m.name, type: m.type, size: m.size, linkname: m.linkname, data: []}
    out.push(e)
    return m.type === 'file' ? (b) => void e.data.push(Buffer.from(b)) : null
  })
  return out.map((e) => ({...e, data: Buffer.concat(e.data).toString('hex')}))
}

for (const [format, tar] of Object.entries(tars)) {
  test(`${format}: the same entries and bytes for any chunk size`, async () => {
    const whole = await entries(chunks(tar, tar.length))
    if (format !== 'fixture') {
      const named = whole.filter((e) => e.type === 'file').map((e) => e.name.replace(/^\.\//, ''))
      assert.equal(named.sort(), Object.keys(files).sort(), 'every file, the long name whole')
      for (const e of whole.filter((x) => x.type === 'file')) assert.is(e.data.length / 2, files[e.name.replace(/^\.\//, '')])
    }
    for (const size of [1, 3, 100, 511, 512, 513, 1024, 4097, 65536]) {
      assert.equal(await entries(chunks(tar, size)), whole, `chunks of ${size}`)
    }
  })
}

test('a stream cut inside an entry is refused, at an entry\'s end it is read, an empty one is not a tar', async () => {
  const tar = tars.fixture
  // a: header 0-512, data to 1512, padding to 1536; dir/ 1536-2048; dir/link 2048-2560;
  // b: header 2560-3072, data to 3585, padding to 4096; then the trailer
  for (const cut of [100, 512, 700, 1512, 1535, 2600, 3072, 3300, 3585]) {
    for (const size of [7, 512, 4096]) {
      try {
        await entries(chunks(tar.subarray(0, cut), size))
        assert.unreachable(`cut at ${cut} was read`)
      } catch (e) {
        assert.match(e.message, /ends in the middle of an entry/, `cut at ${cut}, chunks of ${size}`)
      }
    }
  }
  // cut at an entry's end: a missing trailer is tolerated, as by tar
  assert.equal((await entries(chunks(tar.subarray(0, 2048), 100))).map((e) => e.name), ['a', 'dir/'])
  try {
    await entries(chunks(Buffer.alloc(0), 1))
    assert.unreachable('an empty stream was read')
  } catch (e) {
    assert.match(e.message, /is empty, not a tar archive/)
  }
})

test.after(() => rmSync(work, {recursive: true, force: true}))
test.run()
