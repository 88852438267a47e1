/**
 * Reading a tar stream entry by entry (ustar, pax 'x'/'g' headers and GNU long names),
 * on the header codec of src/sandbox/tar.ts. Only the format lives here: what an entry
 * may be, and where it may go, is decided by the caller (layer.ts, archive.ts).
 */
import {BLOCK, decodeHeader, isZeroBlock, padding, parsePax, TarFormatError, type TarType} from '../sandbox/tar.js'
import {refused} from './errors.js'

export interface TarMember {
  name: string
  type: TarType
  /** the raw type flag ('0', '5', 'S'…) for messages */
  flag: string
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  linkname: string
}

const MAX_META = 1 << 20

/**
 * Reads exact byte counts from an async byte source. The source's chunks are held as
 * they come, not copied: a stream's chunks are its to give away (files, gunzip, stdin
 * hand over fresh buffers), and only what a take() needs from two chunks is joined.
 */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0)
  private done = false
  constructor(private it: AsyncIterator<Buffer>) {}

  /** The next chunk, or null at the end. */
  private async chunk(): Promise<Buffer | null> {
    if (this.done) return null
    const r = await this.it.next()
    if (r.done) this.done = true
    return r.done ? null : r.value
  }

  /** n bytes, or fewer when the stream ended. */
  async take(n: number): Promise<Buffer> {
    if (this.buf.length >= n) {
      const out = this.buf.subarray(0, n)
      this.buf = this.buf.subarray(n)
      return out
    }
    // a header or padding split between chunks: join the part of each it needs
    const parts = [this.buf]
    let have = this.buf.length
    this.buf = Buffer.alloc(0)
    while (have < n) {
      const c = await this.chunk()
      if (!c) break
      const part = c.subarray(0, n - have)
      parts.push(part)
      have += part.length
      this.buf = c.subarray(part.length)
    }
    return Buffer.concat(parts, have)
  }

  /** Passes n bytes on in chunks as they come; false when the stream ended first. */
  async pass(n: number, sink: (b: Buffer) => void | Promise<void>): Promise<boolean> {
    let left = n
    while (left > 0) {
      while (!this.buf.length) {
        const c = await this.chunk()
        if (!c) return false
        this.buf = c
      }
      const part = this.buf.subarray(0, Math.min(left, this.buf.length))
      this.buf = this.buf.subarray(part.length)
      left -= part.length
      await sink(part)
    }
    return true
  }
}

export type BodySink = ((chunk: Buffer) => void | Promise<void>) | null

/**
 * Calls onMember for each entry in order; onMember returns a sink for the entry's data
 * (or null to skip it) and may be async. A truncated stream is refused.
 */
export async function readTar(src: AsyncIterable<Buffer>, what: string, onMember: (m: TarMember) => Promise<BodySink> | BodySink): Promise<void> {
  const rd = new ByteReader(src[Symbol.asyncIterator]())
  const truncated = () => refused(`${what} ends in the middle of an entry (a truncated download or file)`, 'fetch or copy it again; nothing of it was stored')
  let pax: Record<string, string> = {}
  let longName: string | null = null
  let longLink: string | null = null
  let headers = 0
  const meta = async (size: number): Promise<Buffer> => {
    if (size > MAX_META) throw refused(`${what} has a header of ${size} bytes`)
    const b = await rd.take(size + padding(size).length)
    if (b.length < size + padding(size).length) throw truncated()
    return b.subarray(0, size)
  }
  for (;;) {
    const block = await rd.take(BLOCK)
    if (block.length === 0) {
      if (headers === 0) throw refused(`${what} is empty, not a tar archive`)
      break // a missing trailer is tolerated, as by tar
    }
    if (block.length < BLOCK) throw truncated()
    if (isZeroBlock(block)) break
    let h
    try {
      h = decodeHeader(block)
    } catch (e) {
      if (e instanceof TarFormatError) throw refused(`${what} is not a valid tar archive: ${e.message}`)
      throw e
    }
    headers++
    const e = h.entry
    if (h.flag === 'x' || h.flag === 'g') {
      const rec = parsePax(await meta(e.size))
      if (h.flag === 'x') pax = rec
      continue
    }
    if (h.flag === 'L' || h.flag === 'K') {
      const text = (await meta(e.size)).toString('utf8').replace(/\0+$/, '')
      if (h.flag === 'L') longName = text
      else longLink = text
      continue
    }
    const num = (v: string | undefined, dflt: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt)
    const m: TarMember = {
      name: pax.path ?? longName ?? e.path,
      linkname: pax.linkpath ?? longLink ?? e.linkpath,
      type: e.type,
      flag: h.flag,
      mode: e.mode,
      uid: num(pax.uid, e.uid),
      gid: num(pax.gid, e.gid),
      size: num(pax.size, e.size),
      mtime: pax.mtime !== undefined && /^-?\d+(\.\d+)?$/.test(pax.mtime) ? Math.floor(Number(pax.mtime)) : e.mtime,
    }
    pax = {}
    longName = longLink = null
    if (!Number.isSafeInteger(m.size) || m.size < 0) throw refused(`${what}: ${m.name} has a bad size`)
    // only regular files carry data; a link's or directory's size field is ignored, as by tar
    const dataSize = m.type === 'file' ? m.size : 0
    const sink = await onMember(m)
    if (!(await rd.pass(dataSize, sink ?? (() => {})))) throw truncated()
    if ((await rd.take(padding(dataSize).length)).length < padding(dataSize).length) throw truncated()
  }
}
