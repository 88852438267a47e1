/**
 * The tar format for `lab sandbox cp … -` and `cp - …`: POSIX ustar headers, with pax
 * extended headers ('x') for what ustar cannot hold (long or non-ASCII names and link
 * targets, sizes from 8 GiB, large ids), as GNU tar and Docker write them. Reading also
 * takes GNU long names ('L', 'K'). Only the format lives here; what an archive may
 * contain is decided by copy.ts.
 */
export const BLOCK = 512

export type TarType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other'

export interface TarEntry {
  path: string
  type: TarType
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  linkpath: string
}

// ------------------------------------------------------------------ writing

function octal(buf: Buffer, off: number, len: number, value: number): void {
  buf.write(value.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1')
}

function fitsOctal(value: number, len: number): boolean {
  return value >= 0 && value < 8 ** (len - 1)
}

/** One pax record: "LEN key=value\n", LEN counting itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`
  const bodyLen = Buffer.byteLength(body)
  let len = bodyLen + 1
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen
  return Buffer.from(`${len}${body}`)
}

function ustar(name: string, type: string, mode: number, uid: number, gid: number, size: number, mtime: number, linkname: string, prefix = ''): Buffer {
  const h = Buffer.alloc(BLOCK)
  h.write(name, 0, 100, 'utf8')
  octal(h, 100, 8, mode & 0o7777)
  octal(h, 108, 8, uid)
  octal(h, 116, 8, gid)
  octal(h, 124, 12, size)
  octal(h, 136, 12, mtime)
  h.write(type, 156, 1, 'latin1')
  h.write(linkname, 157, 100, 'utf8')
  h.write('ustar\0' + '00', 257, 8, 'latin1')
  h.write(prefix, 345, 155, 'utf8')
  h.fill(' ', 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
  return h
}

const ASCII = /^[\x20-\x7e]*$/

/** ustar's name + prefix split, when the path fits it (ASCII only: no encoding questions). */
function splitName(path: string): {name: string; prefix: string} | null {
  if (!ASCII.test(path)) return null
  if (path.length <= 100) return {name: path, prefix: ''}
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    if (i <= 155 && path.length - i - 1 <= 100 && path.length - i - 1 > 0) return {name: path.slice(i + 1), prefix: path.slice(0, i)}
  }
  return null
}

/** The header blocks of one entry (a pax header first when ustar cannot hold it). Directories' paths end in "/". */
export function encodeHeader(e: {path: string; type: 'file' | 'dir' | 'symlink'; mode: number; uid: number; gid: number; size: number; mtime: number; linkpath?: string}): Buffer {
  const path = e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path
  const link = e.linkpath ?? ''
  const flag = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2'
  const pax: Buffer[] = []
  let split = splitName(path)
  if (!split) {
    pax.push(paxRecord('path', path))
    split = {name: ASCII.test(path) ? path.slice(-100) : 'pax-long-name', prefix: ''}
  }
  if (link.length > 100 || !ASCII.test(link)) pax.push(paxRecord('linkpath', link))
  if (!fitsOctal(e.size, 12)) pax.push(paxRecord('size', String(e.size)))
  if (!fitsOctal(e.uid, 8)) pax.push(paxRecord('uid', String(e.uid)))
  if (!fitsOctal(e.gid, 8)) pax.push(paxRecord('gid', String(e.gid)))
  const main = ustar(split.name, flag, e.mode, fitsOctal(e.uid, 8) ? e.uid : 0, fitsOctal(e.gid, 8) ? e.gid : 0, fitsOctal(e.size, 12) ? e.size : 0, e.mtime, ASCII.test(link) ? link.slice(0, 100) : '', split.prefix)
  if (!pax.length) return main
  const body = Buffer.concat(pax)
  const paxName = `PaxHeaders/${split.name}`.slice(0, 100)
  return Buffer.concat([ustar(paxName, 'x', 0o644, 0, 0, body.length, e.mtime, ''), body, padding(body.length), main])
}

/** Zeros up to the next block boundary after n bytes of data. */
export function padding(n: number): Buffer {
  return Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK)
}

/** The end of an archive: two zero blocks. */
export const TRAILER = Buffer.alloc(2 * BLOCK)

// ------------------------------------------------------------------ reading

export class TarFormatError extends Error {}

function readOctal(h: Buffer, off: number, len: number, what: string): number {
  const field = h.subarray(off, off + len)
  if (field[0] & 0x80) {
    // GNU base-256 for large values
    let v = 0
    for (let i = 1; i < len; i++) v = v * 256 + field[i]
    v += (field[0] & 0x7f) * 256 ** (len - 1)
    if (!Number.isSafeInteger(v)) throw new TarFormatError(`the ${what} field is out of range`)
    return v
  }
  const s = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ ]+/, '')
  if (s === '') return 0
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`the ${what} field is not an octal number`)
  return parseInt(s, 8)
}

function cstr(h: Buffer, off: number, len: number): string {
  const f = h.subarray(off, off + len)
  const z = f.indexOf(0)
  return f.subarray(0, z < 0 ? len : z).toString('utf8')
}

export function isZeroBlock(h: Buffer): boolean {
  for (const b of h) if (b !== 0) return false
  return true
}

/** A ustar/GNU header block, checksum verified. */
export function decodeHeader(h: Buffer): {entry: TarEntry; flag: string} {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]
  const stored = readOctal(h, 148, 8, 'checksum')
  if (stored !== sum) throw new TarFormatError('a header\'s checksum does not match (not a tar archive, or a damaged one)')
  const flag = String.fromCharCode(h[156] || 0x30)
  const magic = h.subarray(257, 263).toString('latin1')
  const prefix = magic.startsWith('ustar') && magic !== 'ustar ' ? cstr(h, 345, 155) : ''
  const name = cstr(h, 0, 100)
  const type: TarType = flag === '0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : flag === '2' ? 'symlink' : flag === '1' ? 'hardlink'
    : flag === '3' ? 'char' : flag === '4' ? 'block' : flag === '6' ? 'fifo' : 'other'
  return {
    flag,
    entry: {
      path: prefix ? `${prefix}/${name}` : name,
      type,
      mode: readOctal(h, 100, 8, 'mode'),
      uid: readOctal(h, 108, 8, 'uid'),
      gid: readOctal(h, 116, 8, 'gid'),
      size: readOctal(h, 124, 12, 'size'),
      mtime: readOctal(h, 136, 12, 'mtime'),
      linkpath: cstr(h, 157, 100),
    },
  }
}

/** The records of a pax header's body. */
export function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 0
  while (i < body.length) {
    const sp = body.indexOf(0x20, i)
    if (sp < 0) break
    const len = Number(body.subarray(i, sp).toString('latin1'))
    if (!Number.isInteger(len) || len <= sp - i || i + len > body.length) throw new TarFormatError('a pax header is malformed')
    const rec = body.subarray(sp + 1, i + len - 1).toString('utf8')
    const eq = rec.indexOf('=')
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1)
    i += len
  }
  return out
}
