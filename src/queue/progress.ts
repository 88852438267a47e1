/**
 * Progress of a queue run. On a terminal: one bar on stderr, redrawn at most ten times
 * a second, with queued / running / done / failed and each worker's share
 * ("queue ▕██████░░░░▏ 12 queued · 3 running · 40 done · 1 failed · host-1: 2▶ 21✓ · 0:18").
 * Otherwise one plain line per finished item on stderr ("done ID RESULT worker=W"),
 * so stdout stays the report.
 */
import type {QueueProgress} from './submit.js'

export function queueProgress(opts: {tty: boolean; stream?: NodeJS.WriteStream; quiet?: boolean; verb?: string}): {onProgress: (p: QueueProgress) => void; close: () => void} {
  const out = opts.stream ?? process.stderr
  if (opts.quiet) return {onProgress: () => {}, close: () => {}}
  if (!opts.tty) {
    return {
      onProgress: (p) => {
        if (p.item) out.write(`${opts.verb ?? 'done'} ${p.item.id} ${p.item.line} worker=${p.item.worker}\n`)
      },
      close: () => {},
    }
  }
  const t0 = Date.now()
  let last = 0
  let drawn = false
  let cur: QueueProgress | null = null
  const draw = (force = false) => {
    const now = Date.now()
    if (!cur || (!force && now - last < 100)) return
    last = now
    const p = cur
    const width = 20
    const full = Math.round(((p.done + p.failed) / Math.max(1, p.total)) * width)
    const secs = Math.floor((now - t0) / 1000)
    const workers = Object.entries(p.workers)
      .map(([w, c]) => `${w.replace(/-[0-9a-z]{4}$/, '')}: ${c.running}▶ ${c.done}✓${c.failed ? ` ${c.failed}✗` : ''}`)
      .join(' ')
    const line = `queue ▕${'█'.repeat(full)}${'░'.repeat(width - full)}▏ ${p.queued} queued · ${p.running} running · ${p.done} done · ${p.failed} failed${workers ? ` · ${workers}` : ''} · ${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`
    const cols = (out as NodeJS.WriteStream).columns ?? 120
    out.write(`\r\x1b[2K${line.slice(0, cols - 1)}`)
    drawn = true
  }
  const timer = setInterval(() => draw(true), 1000)
  timer.unref()
  return {
    onProgress: (p) => {
      cur = p
      draw(Boolean(p.item))
    },
    close: () => {
      clearInterval(timer)
      if (drawn) out.write('\r\x1b[2K')
    },
  }
}
