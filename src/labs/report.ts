/**
 * Printing a lab run: a checklist with a spinner on the running step when stdout is a
 * terminal, plain parseable lines otherwise ("step N/M ID: …", "  $ command",
 * "  | output", "  ok|FAIL check", "lab ID: passed"). --json prints nothing here: the
 * command returns the outcome as data.
 */
import type {Lab, LoadedStep} from './load.js'
import type {LabOutcome, Reporter, StepOutcome} from './runner.js'

const MAX_OUTPUT_LINES = 12
const ESC = '\u001b['
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

type Paint = (s: string) => string
interface Palette {
  green: Paint
  red: Paint
  yellow: Paint
  dim: Paint
  bold: Paint
  cyan: Paint
}
const plain: Palette = {green: (s) => s, red: (s) => s, yellow: (s) => s, dim: (s) => s, bold: (s) => s, cyan: (s) => s}
const ansi: Palette = {
  green: (s) => `${ESC}32m${s}${ESC}39m`,
  red: (s) => `${ESC}31m${s}${ESC}39m`,
  yellow: (s) => `${ESC}33m${s}${ESC}39m`,
  dim: (s) => `${ESC}2m${s}${ESC}22m`,
  bold: (s) => `${ESC}1m${s}${ESC}22m`,
  cyan: (s) => `${ESC}36m${s}${ESC}39m`,
}

function outputLines(text: string | undefined): string[] {
  if (!text) return []
  const lines = text.replace(/\n$/, '').split('\n')
  if (lines.length <= MAX_OUTPUT_LINES) return lines
  return [...lines.slice(0, MAX_OUTPUT_LINES), `… (${lines.length - MAX_OUTPUT_LINES} more lines)`]
}

export class LineReporter implements Reporter {
  private spinner: NodeJS.Timeout | null = null
  private frame = 0
  private readonly p: Palette
  private readonly write: (s: string) => void

  constructor(
    private readonly tty: boolean,
    write?: (s: string) => void,
  ) {
    this.p = tty ? ansi : plain
    this.write = write ?? ((s) => process.stdout.write(s))
  }

  labStart(lab: Lab, steps: LoadedStep[], workDir: string, mode: LabOutcome['mode']): void {
    const p = this.p
    this.write(`${p.bold(`lab ${lab.id}`)}: ${lab.data.title}\n`)
    this.write(`${p.dim(`source: ${lab.data.source} · about ${lab.data.estimatedMinutes} min · ${mode} of ${steps.length} step${steps.length === 1 ? '' : 's'} · work directory ${workDir}`)}\n`)
  }

  stepStart(step: LoadedStep, total: number): void {
    if (!this.tty) {
      this.write(`step ${step.number}/${total} ${step.id}: ${step.title}\n`)
      return
    }
    const draw = () => this.write(`\r${ESC}2K${this.p.cyan(SPINNER[this.frame++ % SPINNER.length])} ${step.number}/${total} ${step.title}`)
    draw()
    this.spinner = setInterval(draw, 80)
  }

  private stopSpinner(): void {
    if (this.spinner) {
      clearInterval(this.spinner)
      this.spinner = null
      this.write(`\r${ESC}2K`)
    }
  }

  stepEnd(s: StepOutcome, total: number): void {
    const p = this.p
    this.stopSpinner()
    if (this.tty) {
      const mark = s.status === 'passed' ? p.green('✓') : s.status === 'failed' ? p.red('✗') : p.yellow('–')
      this.write(`${mark} ${s.number}/${total} ${p.bold(s.title)}${s.reason ? p.dim(`  (${s.status}: ${s.reason})`) : ''}\n`)
    } else if (s.status === 'unavailable' || s.status === 'skipped') {
      this.write(`step ${s.number}/${total} ${s.id}: ${s.status}: ${s.reason}\n`)
      return
    }
    if (s.status === 'unavailable' || s.status === 'skipped') return
    if (s.summary) this.write(`  ${p.dim(s.summary)}\n`)
    for (const a of s.actions) {
      if (!a.show) continue
      this.write(`  ${p.cyan('$')} ${a.command}\n`)
      for (const l of outputLines(a.stdout)) this.write(`  ${p.dim('|')} ${l}\n`)
      for (const l of outputLines(a.stderr)) this.write(`  ${p.dim('!')} ${l}\n`)
      if (a.error) this.write(`  ${p.red('error:')} ${a.error}${a.hint ? p.dim(` (${a.hint})`) : ''}\n`)
      else if (a.exitCode !== undefined) this.write(`  ${p.dim(`= exit ${a.exitCode} (${a.verdict}) in ${a.wallMs} ms`)}\n`)
    }
    for (const c of s.checks) {
      if (c.passed) this.write(`  ${this.tty ? p.green('✓') : 'ok  '} ${c.name}\n`)
      else {
        this.write(`  ${this.tty ? p.red('✗') : 'FAIL'} ${c.name}: ${c.detail}\n`)
        if (c.hint) this.write(`       ${p.yellow('hint:')} ${c.hint}\n`)
      }
    }
    if (s.instructions) this.write('\n' + s.instructions.replace(/^/gm, '    ') + '\n')
    if (!this.tty) this.write(`step ${s.number}/${total} ${s.id}: ${s.status}\n`)
  }

  labEnd(o: LabOutcome): void {
    const p = this.p
    const paint = o.status === 'passed' ? p.green : p.red
    const parts = [`${o.counts.passed} passed`, `${o.counts.failed} failed`]
    if (o.counts.unavailable) parts.push(`${o.counts.unavailable} unavailable on this engine`)
    if (o.counts.skipped) parts.push(`${o.counts.skipped} skipped`)
    this.write(`${paint(`lab ${o.lab}: ${o.status}`)} — ${parts.join(', ')} (${(o.wallMs / 1000).toFixed(1)} s)\n`)
  }

  close(): void {
    this.stopSpinner()
  }
}
