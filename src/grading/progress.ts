/**
 * Progress of a batch. On a terminal: one bar on stderr, redrawn at most ten times a
 * second ("grading ▕████░░░░▏ 41/120 runs · 12/40 submissions · 0:18"). Otherwise one
 * plain line per graded submission on stderr, easy to parse:
 * "graded ID SCORE/MAX STATUS", so stdout stays the report.
 */
import type {ProgressEvent} from './harness.js'

export interface ProgressReporter {
  onProgress(e: ProgressEvent): void
  close(): void
}

export function progressReporter(opts: {tty: boolean; stream?: NodeJS.WriteStream; quiet?: boolean}): ProgressReporter {
  const out = opts.stream ?? process.stderr
  if (opts.quiet) return {onProgress: () => {}, close: () => {}}
  if (!opts.tty) {
    return {
      onProgress: (e) => {
        if (e.type === 'submission') out.write(`graded ${e.result.id} ${e.result.score}/${e.result.maxScore} ${e.result.status}\n`)
      },
      close: () => {},
    }
  }
  const t0 = Date.now()
  let runs = {done: 0, total: 0}
  let subs = {done: 0, total: 0}
  let last = 0
  let drawn = false
  const draw = (force = false) => {
    const now = Date.now()
    if (!force && now - last < 100) return
    last = now
    const width = 24
    const frac = runs.total ? runs.done / runs.total : 0
    const full = Math.round(frac * width)
    const secs = Math.floor((now - t0) / 1000)
    const line = `grading ▕${'█'.repeat(full)}${'░'.repeat(width - full)}▏ ${runs.done}/${runs.total} runs · ${subs.done}/${subs.total} submissions · ${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`
    out.write(`\r\x1b[2K${line}`)
    drawn = true
  }
  const timer = setInterval(() => draw(true), 1000)
  timer.unref()
  return {
    onProgress: (e) => {
      if (e.type === 'start') {
        runs = {done: 0, total: e.runs}
        subs = {done: 0, total: e.submissions}
      } else if (e.type === 'run') runs.done = e.done
      else subs.done = e.done
      draw(e.type !== 'run')
    },
    close: () => {
      clearInterval(timer)
      if (drawn) out.write('\r\x1b[2K')
    },
  }
}
