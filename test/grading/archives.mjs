// Hand-made archives for the grading tests: a ustar writer that writes any entry
// (also the ones real tools refuse to make: "../", absolute paths, links out, devices),
// and a zip writer (deflate) for zip bombs and zip symlinks.
import {crc32, deflateRawSync, gzipSync} from 'node:zlib'

function octal(n, width) {
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

/** entries: [{name, type: '0'|'1'|'2'|'3'|'4'|'5'|'6', body?, linkname?, mode?}] */
export function makeTar(entries, {gzip = false} = {}) {
  const blocks = []
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '')
    const h = Buffer.alloc(512)
    h.write(e.name, 0, 100, 'utf8')
    h.write(octal(e.mode ?? (e.type === '5' ? 0o755 : 0o644), 8), 100)
    h.write(octal(0, 8), 108)
    h.write(octal(0, 8), 116)
    h.write(octal(e.type === '0' || e.type === undefined ? body.length : 0, 12), 124)
    h.write(octal(1700000000, 12), 136)
    h.write('        ', 148)
    h.write(e.type ?? '0', 156)
    h.write(e.linkname ?? '', 157, 100, 'utf8')
    h.write('ustar\0', 257)
    h.write('00', 263)
    let sum = 0
    for (const b of h) sum += b
    h.write(octal(sum, 7) + ' ', 148)
    blocks.push(h)
    if (e.type === '0' || e.type === undefined) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512))
    }
  }
  blocks.push(Buffer.alloc(1024))
  const tar = Buffer.concat(blocks)
  return gzip ? gzipSync(tar) : tar
}

/** entries: [{name, body (Buffer|string), mode? (unix mode incl. type bits)}] */
export function makeZip(entries) {
  const locals = []
  const central = []
  let offset = 0
  for (const e of entries) {
    const data = Buffer.from(e.body ?? '')
    const comp = deflateRawSync(data, {level: 9})
    const name = Buffer.from(e.name)
    const crc = crc32(data)
    const lh = Buffer.alloc(30)
    lh.writeUInt32LE(0x04034b50, 0)
    lh.writeUInt16LE(20, 4)
    lh.writeUInt16LE(0, 6)
    lh.writeUInt16LE(8, 8)
    lh.writeUInt32LE(crc, 14)
    lh.writeUInt32LE(comp.length, 18)
    lh.writeUInt32LE(data.length, 22)
    lh.writeUInt16LE(name.length, 26)
    locals.push(lh, name, comp)
    const ch = Buffer.alloc(46)
    ch.writeUInt32LE(0x02014b50, 0)
    ch.writeUInt16LE((3 << 8) | 20, 4) // made by Unix
    ch.writeUInt16LE(20, 6)
    ch.writeUInt16LE(8, 10)
    ch.writeUInt32LE(crc, 16)
    ch.writeUInt32LE(comp.length, 20)
    ch.writeUInt32LE(data.length, 24)
    ch.writeUInt16LE(name.length, 28)
    ch.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38)
    ch.writeUInt32LE(offset, 42)
    central.push(ch, name)
    offset += 30 + name.length + comp.length
  }
  const cd = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}
