/**
 * Client of `lab-helper serve` (src/sandbox-native/serve.c): one long-lived helper per
 * lab process that forks a sandbox helper per request. Node's spawn() forks all of Node
 * for every child, which costs more main-thread time than the sandbox; batches (grading,
 * CI, labs, the engine API) go through this instead. Frames are documented in serve.c.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import type {Socket} from 'node:net'

export interface JobSink {
  onEvents(data: Buffer): void
  onStdout(data: Buffer): void
  onStderr(data: Buffer): void
  /** the sandbox's helper exited with this status (after all its frames) */
  onEnd(status: number): void
}

const FAIL_EVENT = (msg: string) =>
  Buffer.from(JSON.stringify({event: 'error', stage: 'serve', call: 'lab-helper serve', path: '', errno: 0, errnoName: '', message: msg}) + '\n')

export class HelperServer {
  private readonly child: ChildProcess
  private readonly ctl: Socket
  private readonly jobs = new Map<number, JobSink>()
  private nextId = 1
  private buf: Buffer = Buffer.alloc(0)
  private dead = false

  constructor(helperPath: string, private readonly onDeath: () => void) {
    this.child = spawn(helperPath, ['serve'], {stdio: ['ignore', 'ignore', 'inherit', 'pipe']})
    this.ctl = this.child.stdio[3] as Socket
    this.ctl.on('data', (d: Buffer) => this.receive(d))
    this.ctl.on('error', () => {})
    this.child.on('error', () => this.die('cannot start lab-helper serve'))
    this.child.on('close', (code, sig) => this.die(`lab-helper serve ended (${sig ?? code})`))
    this.idle()
  }

  /** Starts one sandbox; returns its id for kill(). */
  run(plan: string, input: Buffer | undefined, sink: JobSink): number {
    const id = this.nextId++
    if (this.dead) {
      queueMicrotask(() => {
        sink.onEvents(FAIL_EVENT('lab-helper serve is not running'))
        sink.onEnd(125)
      })
      return id
    }
    this.jobs.set(id, sink)
    this.busy()
    const body = Buffer.from(plan)
    const inp = input ?? Buffer.alloc(0)
    this.ctl.write(Buffer.concat([Buffer.from(`run ${id} ${body.length} ${inp.length}\n`), body, inp]))
    return id
  }

  kill(id: number, signal: number): void {
    if (!this.dead && this.jobs.has(id)) this.ctl.write(`kill ${id} ${signal}\n`)
  }

  private receive(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d
    for (;;) {
      const nl = this.buf.indexOf(10)
      if (nl < 0) return
      const [kind, idText, lenText] = this.buf.toString('latin1', 0, nl).split(' ')
      const id = Number(idText)
      const n = Number(lenText)
      const sink = this.jobs.get(id)
      if (kind === 'end') {
        this.buf = this.buf.subarray(nl + 1)
        this.jobs.delete(id)
        if (this.jobs.size === 0) this.idle()
        sink?.onEnd(n)
        continue
      }
      if (this.buf.length < nl + 1 + n) return
      const data = this.buf.subarray(nl + 1, nl + 1 + n)
      this.buf = this.buf.subarray(nl + 1 + n)
      if (!sink) continue
      if (kind === 'ev') sink.onEvents(data)
      else if (kind === 'out') sink.onStdout(data)
      else if (kind === 'err') sink.onStderr(data)
    }
  }

  private die(why: string): void {
    if (this.dead) return
    this.dead = true
    this.onDeath()
    for (const sink of this.jobs.values()) {
      sink.onEvents(FAIL_EVENT(why))
      sink.onEnd(125)
    }
    this.jobs.clear()
  }

  /** With nothing running, the server must not keep this process alive. */
  private idle(): void {
    this.child.unref()
    this.ctl.unref()
  }

  private busy(): void {
    this.child.ref()
    this.ctl.ref()
  }
}

let current: HelperServer | null = null

export function helperServer(helperPath: string): HelperServer {
  current ??= new HelperServer(helperPath, () => {
    current = null
  })
  return current
}
