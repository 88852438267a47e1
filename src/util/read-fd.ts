import {readSync} from 'node:fs'

/**
 * Reads up to `size` bytes of an open file from its start, the size its fstat gave: a file
 * that shrank meanwhile yields what is there, one that grew is not read past `size`.
 */
export function readFdFully(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size)
  let off = 0
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off)
    if (n === 0) break
    off += n
  }
  return buf.subarray(0, off)
}
