/**
 * `lab sandbox attach`: the client side of a supervisor's attach (framing in
 * src/sandbox-native/attach.h). Output frames go to stdout and stderr as they come; with
 * -i, what is typed goes to the program, a terminal's in raw mode with its size passed
 * on; the detach keys (ctrl-p,ctrl-q unless changed) leave the sandbox running.
 */
import {connect, type Socket} from 'node:net'
import type {Readable, Writable} from 'node:stream'

import {LabError, usageError} from '../errors.js'

export interface AttachIo {
  stdin: Readable & {isTTY?: boolean; setRawMode?: (raw: boolean) => unknown}
  stdout: Writable & {isTTY?: boolean; rows?: number; columns?: number; on?: (ev: 'resize', f: () => void) => unknown; off?: (ev: 'resize', f: () => void) => unknown}
  stderr: Writable
}

export interface AttachOptions {
  /** do not pass input on, even to a sandbox that keeps stdin open */
  noStdin?: boolean
  /** Docker's spelling: "ctrl-p,ctrl-q" (default), "ctrl-a,x", "" for none */
  detachKeys?: string
}

export interface AttachEnd {
  /** true when the detach keys were typed: the sandbox runs on */
  detached: boolean
}

/** "ctrl-p,ctrl-q" → [0x10, 0x11]. */
export function parseDetachKeys(spec: string): number[] {
  if (spec === '') return []
  return spec.split(',').map((k) => {
    const key = k.trim().toLowerCase()
    const ctrl = /^ctrl-([a-z@[\\\]^_])$/.exec(key)
    if (ctrl) return ctrl[1].charCodeAt(0) & 0x1f
    if (key.length === 1 && key.charCodeAt(0) >= 0x20 && key.charCodeAt(0) < 0x7f) return key.charCodeAt(0)
    throw usageError(`invalid --detach-keys "${spec}"`, 'give keys like ctrl-p,ctrl-q or ctrl-a,x (a letter, or ctrl- with a letter or @[\\]^_)')
  })
}

function frame(kind: string, data: Buffer): Buffer {
  const h = Buffer.alloc(5)
  h.write(kind, 0, 'latin1')
  h.writeUInt32BE(data.length, 1)
  return Buffer.concat([h, data])
}

/** Connects, relays until the sandbox ends for good (its supervisor goes) or the user detaches. */
export function attachToSupervisor(socketPath: string, name: string, io: AttachIo, opts: AttachOptions = {}): Promise<AttachEnd> {
  const keys = parseDetachKeys(opts.detachKeys ?? 'ctrl-p,ctrl-q')
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(socketPath)
    let hello = ''
    let buf: Buffer = Buffer.alloc(0)
    let mode: {tty: boolean; stdin: boolean} | null = null
    let detached = false
    let matched = 0
    let raw = false
    const cleanup: Array<() => void> = []
    const finish = (err: Error | null) => {
      for (const f of cleanup.splice(0)) f()
      if (err) reject(err)
      else resolve({detached})
    }
    const sendSize = () => {
      if (mode?.tty && io.stdout.rows && io.stdout.columns) {
        const d = Buffer.alloc(4)
        d.writeUInt16BE(io.stdout.rows, 0)
        d.writeUInt16BE(io.stdout.columns, 2)
        sock.write(frame('r', d))
      }
    }
    const onInput = (chunk: Buffer) => {
      // the detach sequence, also split across reads; what matched so far is held back
      let out: number[] = []
      for (const b of chunk) {
        if (keys.length && b === keys[matched]) {
          if (++matched === keys.length) {
            detached = true
            sock.end()
            sock.destroy()
            return
          }
          continue
        }
        if (matched) out = out.concat(keys.slice(0, matched))
        matched = 0
        if (keys.length && b === keys[0]) matched = 1
        else out.push(b)
      }
      for (let i = 0; i < out.length; i += 4096) sock.write(frame('i', Buffer.from(out.slice(i, i + 4096))))
    }
    const startInput = () => {
      if (!mode?.stdin || opts.noStdin) return
      if (mode.tty && io.stdin.isTTY && io.stdin.setRawMode) {
        io.stdin.setRawMode(true)
        raw = true
        cleanup.push(() => {
          if (raw) io.stdin.setRawMode?.(false)
        })
      }
      io.stdin.on('data', onInput)
      cleanup.push(() => {
        io.stdin.off('data', onInput)
        io.stdin.pause()
      })
      io.stdin.resume()
      if (mode.tty && io.stdout.on) {
        io.stdout.on('resize', sendSize)
        cleanup.push(() => io.stdout.off?.('resize', sendSize))
      }
      sendSize()
    }
    sock.on('connect', () => sock.write('attach\n'))
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d
      if (!mode) {
        const nl = buf.indexOf(10)
        if (nl < 0) {
          if (buf.length > 256) return finish(new LabError('attach-failed', `cannot attach to ${name}: the supervisor answered oddly`, {hint: 'see lab sandbox logs'}))
          return
        }
        hello = buf.subarray(0, nl).toString('utf8')
        buf = buf.subarray(nl + 1)
        const m = /^ok (tty|notty) (stdin|nostdin)$/.exec(hello)
        if (!m) {
          sock.destroy()
          const why = hello === 'error too-many-attached' ? 'it already has 8 attached clients' : hello === 'error unknown-command' ? 'its supervisor predates attach (restart it)' : hello
          return finish(new LabError('attach-failed', `cannot attach to ${name}: ${why}`, {hint: 'follow its output with lab sandbox logs -f instead'}))
        }
        mode = {tty: m[1] === 'tty', stdin: m[2] === 'stdin'}
        startInput()
      }
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1)
        if (buf.length < 5 + len) break
        const kind = String.fromCharCode(buf[0])
        const data = buf.subarray(5, 5 + len)
        if (kind === 'e') io.stderr.write(data)
        else io.stdout.write(data)
        buf = buf.subarray(5 + len)
      }
    })
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (detached) return finish(null)
      if (!mode) return finish(new LabError('attach-failed', `cannot attach to ${name}: ${e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'it is not running' : e.message}`, {hint: `start it first: lab sandbox start ${name}`}))
      finish(null)
    })
    sock.on('close', () => finish(null))
  })
}
