/** Writing tar archives (export, save) onto a stream, with back-pressure. */
import {createReadStream} from 'node:fs'
import type {Readable, Writable} from 'node:stream'

import {BLOCK, encodeHeader, padding, TRAILER} from '../sandbox/tar.js'

export class TarWriter {
  constructor(private out: Writable) {}

  private write(b: Buffer): Promise<void> {
    return new Promise((res, rej) => {
      const ok = this.out.write(b, (e) => (e ? rej(e) : undefined))
      if (ok) res()
      else this.out.once('drain', () => res())
    })
  }

  async dir(path: string, mode = 0o755, owner = {uid: 0, gid: 0}, mtime = 0): Promise<void> {
    await this.write(encodeHeader({path, type: 'dir', mode, ...owner, size: 0, mtime}))
  }

  async symlink(path: string, target: string, owner = {uid: 0, gid: 0}, mtime = 0): Promise<void> {
    await this.write(encodeHeader({path, type: 'symlink', mode: 0o777, ...owner, size: 0, mtime, linkpath: target}))
  }

  /** A hard link: the codec writes symlink headers; the type flag is set to '1' and the checksum redone. */
  async hardlink(path: string, target: string, owner = {uid: 0, gid: 0}, mtime = 0): Promise<void> {
    const h = Buffer.from(encodeHeader({path, type: 'symlink', mode: 0o644, ...owner, size: 0, mtime, linkpath: target}))
    const main = h.subarray(h.length - BLOCK)
    main[156] = 0x31
    main.fill(0x20, 148, 156)
    let sum = 0
    for (const b of main) sum += b
    main.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
    await this.write(h)
  }

  async file(path: string, data: Buffer, mode = 0o644, owner = {uid: 0, gid: 0}, mtime = 0): Promise<void> {
    await this.write(encodeHeader({path, type: 'file', mode, ...owner, size: data.length, mtime}))
    await this.write(data)
    await this.write(padding(data.length))
  }

  /** A file from disk whose size is known; a file that changed size meanwhile is an error. */
  async fileFrom(path: string, src: string | Readable, size: number, mode = 0o644, owner = {uid: 0, gid: 0}, mtime = 0): Promise<void> {
    await this.write(encodeHeader({path, type: 'file', mode, ...owner, size, mtime}))
    const r = typeof src === 'string' ? createReadStream(src) : src
    let n = 0
    for await (const chunk of r as AsyncIterable<Buffer>) {
      n += chunk.length
      if (n > size) throw new Error(`${path} grew while it was archived`)
      await this.write(chunk)
    }
    if (n !== size) throw new Error(`${path} shrank while it was archived`)
    await this.write(padding(size))
  }

  async end(): Promise<void> {
    await this.write(TRAILER)
    await new Promise<void>((res, rej) => {
      this.out.once('error', rej)
      this.out.end(() => res())
    })
  }
}
