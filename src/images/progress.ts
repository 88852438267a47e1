/**
 * Per-layer pull and push progress: redrawn lines with byte counts on a terminal, and
 * on anything else one plain line per change of state, as Docker prints them.
 */
import {humanSize} from './view.js'

interface Row {
  id: string
  status: string
  done: number
  total: number
}

export class Progress {
  private rows: Row[] = []
  private drawn = 0
  private last = 0
  constructor(private out: NodeJS.WritableStream | null, private tty = Boolean((out as {isTTY?: boolean} | null)?.isTTY)) {}

  line(text: string): void {
    if (!this.out) return
    this.redraw(true)
    this.out.write(`${text}\n`)
    if (this.tty) this.drawn = 0
  }

  set(id: string, status: string, done = 0, total = 0): void {
    if (!this.out) return
    let row = this.rows.find((r) => r.id === id)
    const changed = !row || row.status !== status
    if (!row) this.rows.push((row = {id, status, done, total}))
    row.status = status
    row.done = done
    row.total = total
    if (!this.tty) {
      if (changed) this.out.write(`${id}: ${status}\n`)
      return
    }
    const now = Date.now()
    if (changed || now - this.last > 100) this.redraw(false)
  }

  private redraw(final: boolean): void {
    if (!this.tty || !this.out || !this.rows.length) return
    this.last = Date.now()
    let s = this.drawn ? `\x1b[${this.drawn}A` : ''
    for (const r of this.rows) {
      const bar = r.total > 0 && r.done < r.total ? ` [${'='.repeat(Math.floor((r.done / r.total) * 30)).padEnd(30)}] ${humanSize(r.done)}/${humanSize(r.total)}` : ''
      s += `\x1b[2K${r.id}: ${r.status}${bar}\n`
    }
    this.out.write(s)
    this.drawn = this.rows.length
    if (final) {
      this.rows = []
      this.drawn = 0
    }
  }

  end(): void {
    this.redraw(true)
  }
}
