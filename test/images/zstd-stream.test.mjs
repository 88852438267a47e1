// The zstd reader on its own (src/images/zstd.ts): the same bytes as the zstd program for
// what it writes (levels, checksums, several frames, skippable frames), and refusals by
// name for what a hostile layer can send: truncation, a huge window, a dictionary, and
// tiny blocks in a large window whose decoding work dwarfs their output.
import {createHash, randomBytes} from 'node:crypto'
import {test} from 'uvu'
import * as assert from 'uvu/assert'

import {zstdDecompress} from '../../dist/images/zstd.js'
import {hasZstd, zstdSync} from './fixtures.mjs'

const sha = (b) => createHash('sha256').update(b).digest('hex')

/** Decompresses buf fed in pieces of `piece` bytes; the LabError when refused. */
async function unzstd(buf, piece = 65536) {
  const chunks = []
  const input = (async function* () {
    for (let i = 0; i < buf.length; i += piece) yield buf.subarray(i, i + piece)
  })()
  try {
    for await (const c of zstdDecompress(input)) chunks.push(c)
  } catch (e) {
    return {error: e}
  }
  return {out: Buffer.concat(chunks)}
}

const suite = hasZstd ? test : test.skip
const text = Buffer.from(Array.from({length: 40000}, (_, i) => `line ${i} ${i % 7 === 0 ? randomBytes(8).toString('hex') : 'same'}\n`).join(''))
const mixed = Buffer.concat([text, randomBytes(300_000), Buffer.alloc(500_000)])

suite('what the zstd program writes decodes to the same bytes, fed in any piece size', async () => {
  for (const args of [['-1'], ['-3', '--no-check'], ['-19'], ['--fast=5']]) {
    const z = zstdSync(mixed, args)
    for (const piece of [1 << 20, 4096, 7]) {
      if (piece === 7 && args[0] !== '-1') continue
      const {out, error} = await unzstd(z, piece)
      assert.not.ok(error, `${args} in ${piece}-byte pieces: ${error?.message}`)
      assert.is(sha(out), sha(mixed), `${args} in ${piece}-byte pieces`)
    }
  }
  // two frames with a skippable frame between them, as zstd -d reads them
  const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), Buffer.from('skip!')])
  const two = Buffer.concat([zstdSync(text), skippable, zstdSync(Buffer.from('tail\n'))])
  const {out} = await unzstd(two, 1000)
  assert.is(sha(out), sha(Buffer.concat([text, Buffer.from('tail\n')])))
  // an empty input's frame
  assert.equal((await unzstd(zstdSync(Buffer.alloc(0)))).out, Buffer.alloc(0))
})

suite('truncated, foreign, dictionary and huge-window streams are refused by name', async () => {
  const z = zstdSync(mixed)
  let r = await unzstd(z.subarray(0, z.length - 10))
  assert.is(r.error?.code, 'image-refused')
  assert.match(r.error.message, /ends inside a zstd frame/)
  r = await unzstd(Buffer.concat([z, Buffer.from('trailing garbage')]))
  assert.match(r.error?.message ?? '', /not valid zstd data/)
  r = await unzstd(Buffer.alloc(0))
  assert.match(r.error?.message ?? '', /holds no zstd frame/)
  // a frame header naming dictionary 7 (FHD dictionary-id flag 1, one byte)
  r = await unzstd(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x58, 0x07, 0x01, 0x00, 0x00]))
  assert.match(r.error?.message ?? '', /with a dictionary \(id 7\)/)
  r = await unzstd(zstdSync(Buffer.from('hi\n'), ['--ultra', '-22', '--long=31']))
  assert.match(r.error?.message ?? '', /2147483648-byte window, more than the 134217728/)
})

suite('tiny blocks in a large window: refused once their work outgrows their output', async () => {
  // a frame with a 128 MiB window and 100,000 one-byte RLE blocks: 400 KB that would move
  // 12 TiB of window through the decoder
  const hdr = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (27 - 10) << 3])
  const block = (last) => {
    const h = (1 << 3) | (1 << 1) | last
    return Buffer.from([h & 255, (h >> 8) & 255, h >> 16, 0x41])
  }
  const n = 100_000
  const bomb = Buffer.concat([hdr, ...Array.from({length: n}, (_, i) => block(i === n - 1 ? 1 : 0))])
  const r = await unzstd(bomb)
  assert.is(r.error?.code, 'image-refused')
  assert.match(r.error.message, /cost more decoding work than its output justifies/)
})

test.run()
