/**
 * A lifecycle sandbox's log: the supervisor writes records (logs.c) into a capped file
 * rotated to FILE.1 … FILE.(N-1); this reads them back as lines, across rotations, and
 * follows them while the sandbox runs.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'
import {join} from 'node:path'

import type {LifecycleContext} from './context.js'
import type {SandboxRecord} from '../state/store.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface LogLine {
  stream: 'stdout' | 'stderr'
  /** RFC 3339 with nanoseconds, as docker logs --timestamps prints it */
  time: string
  line: string
}

export interface LogOptions {
  tail?: number
  follow?: boolean
  signal?: AbortSignal
  onLine?: (l: LogLine) => void
}

/** The bytes of fd from offset to its end. */
function readFrom(fd: number, offset: number): Buffer {
  const size = fstatSync(fd).size
  if (size <= offset) return Buffer.alloc(0)
  const buf = Buffer.alloc(size - offset)
  let got = 0
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, offset + got)
    if (n === 0) break
    got += n
  }
  return buf.subarray(0, got)
}

/** Files a sandbox's log keeps (records from before --log-opt kept two). */
export function logMaxFiles(rec: SandboxRecord): number {
  return rec.logMaxFiles ?? 2
}

/**
 * The captured output. With follow, onLine is called as lines arrive until the
 * sandbox stops (or signal aborts).
 */
export async function readLogs(lc: LifecycleContext, ref: string, opts: LogOptions = {}): Promise<LogLine[]> {
  const rec = lc.store.get(ref)
  const parser = new LogParser()
  const base = join(lc.store.dir(rec.id), 'log')
  let lines: LogLine[] = []
  // Where reading left off: a file (by inode, as rotation renames it) and an offset in it.
  let ino = 0
  let offset = 0
  const files = logMaxFiles(rec)
  // Reads what came after (ino, offset), across any rotations since. The files are
  // opened newest first, so a rotation meanwhile shows a file twice (kept once, by
  // inode), never hides one; each is read through the fd that identified it.
  const readNew = (sink: (l: LogLine) => void) => {
    const chain: Array<{fd: number; ino: number}> = []
    try {
      for (let k = 0; k < files; k++) {
        let fd: number
        try {
          fd = openSync(k === 0 ? base : `${base}.${k}`, 'r')
        } catch {
          continue
        }
        const i = fstatSync(fd).ino
        if (chain.some((c) => c.ino === i)) closeSync(fd)
        else chain.push({fd, ino: i})
      }
      if (!chain.length) return
      // the file read so far, or (first read, or rotated out meanwhile) the oldest
      const at = chain.findIndex((c) => c.ino === ino)
      for (let j = at >= 0 ? at : chain.length - 1; j >= 0; j--) {
        const from = j === at ? offset : 0
        const data = readFrom(chain[j].fd, from)
        for (const l of parser.feed(data)) sink(l)
        if (j === 0) {
          ino = chain[0].ino
          offset = from + data.length
        }
      }
    } finally {
      for (const c of chain) closeSync(c.fd)
    }
  }
  readNew((l) => lines.push(l)) // a spread would overflow the stack on a full 10 MiB log
  if (opts.tail !== undefined && opts.tail >= 0) lines = lines.slice(Math.max(0, lines.length - opts.tail))
  for (const l of lines) opts.onLine?.(l)
  if (!opts.follow) return lines
  const emit = (l: LogLine) => opts.onLine?.(l)
  for (;;) {
    if (opts.signal?.aborted) break
    const st = lc.store.load(rec.id) ? lc.state(rec) : null
    readNew(emit)
    if (!st || (!st.running && !st.restarting)) break
    await sleep(100)
  }
  readNew(emit)
  return lines
}

/** Turns log records (see src/sandbox-native/logs.c) back into lines, across reads. */
export class LogParser {
  private rest = ''
  private partial: Record<'o' | 'e', {text: string; ns: string} | null> = {o: null, e: null}

  feed(chunk: Buffer): LogLine[] {
    const text = this.rest + chunk.toString('utf8')
    const lines = text.split('\n')
    this.rest = lines.pop() ?? ''
    const out: LogLine[] = []
    for (const rec of lines) {
      const m = /^(\d+) ([oe])([FP]) /.exec(rec)
      if (!m) continue
      const stream = m[2] as 'o' | 'e'
      const data = rec.slice(m[0].length)
      const p = this.partial[stream]
      const joined = p ? p.text + data : data
      const ns = p ? p.ns : m[1]
      if (m[3] === 'P') {
        this.partial[stream] = {text: joined, ns}
        continue
      }
      this.partial[stream] = null
      out.push({stream: stream === 'o' ? 'stdout' : 'stderr', time: nsToIso(ns), line: joined})
    }
    return out
  }
}

function nsToIso(ns: string): string {
  const n = BigInt(ns)
  const ms = Number(n / 1_000_000n)
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0')
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`)
}
