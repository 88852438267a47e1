/**
 * Reading zstd layers (application/vnd.oci.image.layer.v1.tar+zstd). Node 20's zlib has no
 * zstd, so the decoding is fzstd's; what reaches it is checked here first, because a layer
 * is untrusted input:
 * - the stream is walked frame by frame and block by block (RFC 8878) and handed to the
 *   decoder one block at a time, so one call never makes more than one block's output
 *   (at most 128 KiB): a few bytes of RLE blocks cannot stand for gigabytes in memory;
 *   the caller caps the total (limits.ts), as for gzip;
 * - a frame's window (the memory the decoder keeps) is capped at 128 MiB, zstd's own
 *   default limit for decoding; frames that need a dictionary are refused (OCI layers
 *   carry none); skippable frames are passed over, as zstd does;
 * - the decoder moves its whole window for every block, so a stream of tiny blocks in a
 *   large window costs CPU out of all proportion to its output (1,000 one-byte blocks in a
 *   128 MiB window: ten seconds). That work is counted: past a free 4 GiB it may not exceed
 *   128 bytes moved per byte of output, which any stream of full blocks in a window up to
 *   16 MiB (zstd up to level 19, and skopeo's and containerd's defaults) stays under;
 * - a stream cut inside a frame, or bytes that are not zstd, are refused by name.
 * The frame checksum (XXH64), when present, is skipped: the layer's blob digest and
 * diff_id (sha256 over the compressed and the uncompressed bytes) already guard it.
 */

import {refused} from './errors.js'

export const ZSTD_MAGIC = 0xfd2fb528
/** zstd's default maximum window for decoding (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27) */
export const MAX_WINDOW = 1 << 27
const MAX_BLOCK = 128 * 1024
const FREE_WORK = 4 * 1024 ** 3
const WORK_PER_BYTE = 128

type State = {kind: 'magic'} | {kind: 'skip'; left: number} | {kind: 'block'; checksum: boolean; window: number} | {kind: 'checksum'}

/** The uncompressed bytes of a zstd stream, a block's worth at a time. */
export async function* zstdDecompress(input: AsyncIterable<Buffer>, what = 'a layer'): AsyncGenerator<Buffer> {
  const out: Buffer[] = []
  let produced = 0
  let work = 0
  // loaded when a zstd layer comes: its tables cost every sandbox start ~3 ms otherwise
  const {Decompress} = await import('fzstd')
  const dec = new Decompress((data) => {
    produced += data.length
    // each block's output is a fresh array of fzstd's: wrapped, not copied
    if (data.length) out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
  })
  // fzstd keeps the unread tail of each push in a list (c, l bytes); fed whole blocks, that
  // tail is empty, and the list of empty tails is dropped so it does not grow per block
  const held = dec as unknown as {c: Uint8Array[]; l: number}
  const feed = (unit: Uint8Array, final = false) => {
    try {
      dec.push(unit, final)
    } catch (e) {
      throw refused(`${what} is not valid zstd data (${(e as Error).message})`)
    }
    if (held.l === 0 && held.c.length) held.c = []
  }
  let pending: Buffer = Buffer.alloc(0)
  let state: State = {kind: 'magic'}
  let frames = 0

  /** Takes one complete unit (frame header, block, checksum, skippable frame) from pending; false when none is complete. */
  const step = (): boolean => {
    if (state.kind === 'skip') {
      const n = Math.min(state.left, pending.length)
      pending = pending.subarray(n)
      state.left -= n
      if (state.left > 0) return n > 0
      state = {kind: 'magic'}
      return true
    }
    if (state.kind === 'checksum') {
      if (pending.length < 4) return false
      feed(pending.subarray(0, 4))
      pending = pending.subarray(4)
      state = {kind: 'magic'}
      return true
    }
    if (state.kind === 'magic') {
      if (pending.length < 4) return false
      const magic = pending.readUInt32LE(0)
      if ((magic & 0xfffffff0) === 0x184d2a50) {
        if (pending.length < 8) return false
        state = {kind: 'skip', left: pending.readUInt32LE(4)}
        pending = pending.subarray(8)
        return true
      }
      if (magic !== ZSTD_MAGIC) throw refused(`${what} is not valid zstd data (no frame starts at a frame boundary)`)
      if (pending.length < 5) return false
      const fhd = pending[4]
      const fcsFlag = fhd >> 6
      const single = (fhd >> 5) & 1
      const checksum = Boolean((fhd >> 2) & 1)
      const dictFlag = fhd & 3
      if (fhd & 8) throw refused(`${what} is not valid zstd data (a reserved frame header bit is set)`)
      const dictBytes = [0, 1, 2, 4][dictFlag]
      const fcsBytes = fcsFlag ? 1 << fcsFlag : single
      const headerLen = 5 + (single ? 0 : 1) + dictBytes + fcsBytes
      if (pending.length < headerLen) return false
      let off = 5
      let window = 0
      if (!single) {
        const wd = pending[off++]
        const base = 2 ** (10 + (wd >> 3))
        window = base + (base / 8) * (wd & 7)
      }
      const dictId = dictBytes ? pending.readUIntLE(off, dictBytes) : 0
      off += dictBytes
      if (dictId !== 0) throw refused(`${what} is zstd with a dictionary (id ${dictId}), which layers do not use`, 'recompress the layer without a dictionary')
      if (single) {
        let fcs = 0
        for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + pending[off + i]
        if (fcsBytes === 2) fcs += 256
        window = fcs
      }
      if (window > MAX_WINDOW) throw refused(`${what} is zstd with a ${window}-byte window, more than the ${MAX_WINDOW} zstd decodes by default`, 'recompress the layer at a normal level (without --long or --ultra windows)')
      feed(pending.subarray(0, headerLen))
      pending = pending.subarray(headerLen)
      frames++
      state = {kind: 'block', checksum, window}
      return true
    }
    // a block: 3 header bytes (last, type, size), then its payload
    if (pending.length < 3) return false
    const h = pending[0] | (pending[1] << 8) | (pending[2] << 16)
    const last = h & 1
    const type = (h >> 1) & 3
    const size = h >>> 3
    if (type === 3) throw refused(`${what} is not valid zstd data (a block of the reserved type)`)
    if (size > Math.min(MAX_BLOCK, Math.max(state.window, 1))) throw refused(`${what} is not valid zstd data (a block of ${size} bytes, more than its frame allows)`)
    const len = 3 + (type === 1 ? 1 : size)
    if (pending.length < len) return false
    work += state.window
    if (work > FREE_WORK + WORK_PER_BYTE * produced) throw refused(`${what} is zstd whose small blocks in a ${state.window}-byte window cost more decoding work than its output justifies`, 'recompress the layer at a normal level (zstd -3 to -19, without --long)')
    feed(pending.subarray(0, len))
    pending = pending.subarray(len)
    if (last) state = state.checksum ? {kind: 'checksum'} : {kind: 'magic'}
    return true
  }

  for await (const chunk of input) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    // one unit at a time: what the decoder made is handed on before the next is fed
    while (step()) while (out.length) yield out.shift()!
  }
  if (state.kind !== 'magic' || pending.length) throw refused(`${what} ends inside a zstd frame`, 'the blob is truncated; nothing of it was stored')
  if (!frames) throw refused(`${what} holds no zstd frame`)
  feed(new Uint8Array(0), true)
  while (out.length) yield out.shift()!
}
