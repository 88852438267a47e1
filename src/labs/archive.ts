/**
 * The `archive:` action: a tarball of a small file tree the lab makes itself — the
 * host's static busybox with applet links, plus text files — so an image lab starts
 * offline from what the host has (then `lab image import`). The tarball is the same
 * bytes on every machine with the same busybox (fixed owners and times), so the digests
 * a lab shows are stable. Nothing is read from the work directory: no path a student
 * controls is ever followed.
 */
import {closeSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync} from 'node:fs'

import {LabError} from '../errors.js'

/** Where Debian's busybox-static puts the binary (with and without merged /usr). */
const BUSYBOX_PATHS = ['/bin/busybox', '/usr/bin/busybox']

/** Whether an ELF file has no program interpreter (PT_INTERP): it runs in an empty root. */
function isStaticElf(path: string): boolean {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return false
  }
  try {
    const h = Buffer.alloc(64)
    if (readSync(fd, h, 0, 64, 0) < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return false // 64-bit little-endian ELF only
    const phoff = Number(h.readBigUInt64LE(32))
    const phentsize = h.readUInt16LE(54)
    const phnum = h.readUInt16LE(56)
    if (phentsize < 4 || phnum > 256) return false
    const ph = Buffer.alloc(phentsize * phnum)
    if (readSync(fd, ph, 0, ph.length, phoff) < ph.length) return false
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false
    return true
  } finally {
    closeSync(fd)
  }
}

/** The host's statically linked busybox, or null. */
export function staticBusybox(): string | null {
  return BUSYBOX_PATHS.find(isStaticElf) ?? null
}

const MTIME = 1700000000

function octal(h: Buffer, off: number, len: number, v: number): void {
  h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1')
}

/** One ustar member: a directory, a regular file or a symbolic link, owned by 0:0. */
function member(name: string, kind: 'dir' | 'file' | 'link', data: Buffer | string = '', mode = 0o644): Buffer {
  const body = kind === 'file' ? Buffer.from(data) : Buffer.alloc(0)
  const h = Buffer.alloc(512)
  if (Buffer.byteLength(name) > 99) throw new LabError('lab-archive', `archive: the name ${name} is too long for a tar header`, {hint: 'use paths under 100 bytes'})
  h.write(name, 0, 100, 'utf8')
  octal(h, 100, 8, kind === 'dir' ? 0o755 : kind === 'link' ? 0o777 : mode)
  octal(h, 108, 8, 0)
  octal(h, 116, 8, 0)
  octal(h, 124, 12, body.length)
  octal(h, 136, 12, MTIME)
  h.write(kind === 'dir' ? '5' : kind === 'link' ? '2' : '0', 156, 1, 'latin1')
  if (kind === 'link') h.write(String(data), 157, 100, 'utf8')
  h.write('ustar\x0000', 257, 8, 'latin1')
  h.fill(' ', 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
  return Buffer.concat([h, body, Buffer.alloc((512 - (body.length % 512)) % 512)])
}

export interface ArchiveSpec {
  /** the tarball to write, relative to the work directory (checked by the caller) */
  to: string
  /** busybox applets to link in /bin (bin/busybox comes with any) */
  busybox?: string[]
  /** text files: path in the tree → content */
  files?: Record<string, string>
  /** empty directories */
  dirs?: string[]
}

const TREE_PATH = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*(\/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$/

/** The tarball's bytes: parent directories first, then the files, sorted. */
export function archiveBytes(spec: ArchiveSpec, busybox = staticBusybox()): Buffer {
  const dirs = new Set<string>()
  const entries: Array<[string, Buffer]> = []
  const addParents = (p: string) => {
    const parts = p.split('/')
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
  }
  const check = (p: string) => {
    if (!TREE_PATH.test(p)) throw new LabError('lab-archive', `archive: "${p}" is not a plain relative path`, {hint: 'names of letters, digits and ._+- joined by "/", no "..", no leading "/"'})
  }
  for (const d of spec.dirs ?? []) {
    check(d)
    addParents(d)
    dirs.add(d)
  }
  if (spec.busybox) {
    if (!busybox) throw new LabError('lab-archive', 'archive: this host has no statically linked busybox', {hint: 'install it: apt-get install busybox-static'})
    addParents('bin/busybox')
    entries.push(['bin/busybox', member('bin/busybox', 'file', readFileSync(busybox), 0o755)])
    for (const a of spec.busybox) {
      check(a)
      if (a.includes('/') || a === 'busybox') throw new LabError('lab-archive', `archive: "${a}" is not an applet name`)
      entries.push([`bin/${a}`, member(`bin/${a}`, 'link', 'busybox')])
    }
  }
  for (const [p, text] of Object.entries(spec.files ?? {})) {
    check(p)
    addParents(p)
    entries.push([p, member(p, 'file', text)])
  }
  const dirMembers = [...dirs].sort().map((d) => member(`${d}/`, 'dir'))
  entries.sort((a, b) => (a[0] < b[0] ? -1 : 1))
  return Buffer.concat([...dirMembers, ...entries.map((e) => e[1]), Buffer.alloc(1024)])
}

/** Writes the tarball at path (a temporary file beside it, then a rename: never through a link). */
export function writeArchive(path: string, spec: ArchiveSpec): number {
  const bytes = archiveBytes(spec)
  const tmp = `${path}.tmp-${process.pid}`
  try {
    writeFileSync(tmp, bytes, {flag: 'wx', mode: 0o644})
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, {force: true})
    throw e
  }
  return bytes.length
}
