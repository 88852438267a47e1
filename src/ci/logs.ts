/**
 * A run's records: STATE/ci/runs/RUN/run.json (the summary, written when the run
 * starts and as it goes) and logs/JOB/NN-STEP.log (each step's output as it streams,
 * masked, one "stdout|stderr<TAB>line" per line). Secrets never reach these files: every
 * line is masked before it is written. `lab ci logs` reads and follows them.
 */
import {appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {stateDir} from '../labs/progress.js'
import {isAlive} from '../sandbox/state/proc.js'

export function runsDir(): string {
  return join(stateDir(), 'ci', 'runs')
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'step'
}

export function newRunId(): string {
  const d = new Date()
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}-${process.pid}`
}

export class RunRecord {
  readonly dir: string
  constructor(readonly id: string) {
    this.dir = join(runsDir(), id)
    mkdirSync(join(this.dir, 'logs'), {recursive: true, mode: 0o700})
  }

  writeSummary(data: unknown): void {
    const tmp = join(this.dir, `.run.json.${process.pid}`)
    writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n')
    renameSync(tmp, join(this.dir, 'run.json'))
  }

  /** A log file for one step or service: append masked lines to it. `open`: the file is
   * kept open until close() (a step's: one write per line instead of an open, a write and
   * a close). */
  log(jobKey: string, file: string, o: {open?: boolean} = {}): StepLog {
    const dir = join(this.dir, 'logs', slug(jobKey))
    mkdirSync(dir, {recursive: true})
    return new StepLog(join(dir, file), o.open)
  }
}

export class StepLog {
  private fd: number | null = null
  constructor(readonly path: string, open = false) {
    if (open) this.fd = openSync(path, 'w')
    else writeFileSync(path, '')
  }

  line(stream: 'stdout' | 'stderr' | 'lab', text: string): void {
    if (this.fd !== null) writeSync(this.fd, `${stream}\t${text}\n`)
    else appendFileSync(this.path, `${stream}\t${text}\n`)
  }

  /** Later lines are appended by opening the file each time. */
  close(): void {
    if (this.fd === null) return
    closeSync(this.fd)
    this.fd = null
  }
}

export interface RunSummaryHead {
  id: string
  status: string
  pid?: number
  pidStart?: number
}

function readSummary(dir: string): RunSummaryHead | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunSummaryHead
  } catch {
    return null
  }
}

export function listRuns(): string[] {
  const d = runsDir()
  if (!existsSync(d)) return []
  return readdirSync(d)
    .filter((n) => existsSync(join(d, n, 'run.json')))
    .sort((a, b) => statSync(join(d, a)).mtimeMs - statSync(join(d, b)).mtimeMs || a.localeCompare(b))
}

export function findRun(ref?: string): string {
  const runs = listRuns()
  if (runs.length === 0) throw new LabError('ci-no-runs', 'no pipeline has run yet', {hint: 'run one: lab ci [FILE]'})
  if (!ref || ref === 'latest') return runs[runs.length - 1]
  const hit = runs.filter((r) => r === ref || r.startsWith(ref))
  if (hit.length !== 1) throw new LabError('ci-no-such-run', hit.length ? `"${ref}" matches ${hit.length} runs` : `no run "${ref}"`, {hint: `runs: ${runs.slice(-5).join(', ')}`})
  return hit[0]
}

export interface LogEntry {
  job: string
  file: string
  stream: string
  line: string
}

function logFiles(runDir: string, job?: string, step?: string): Array<{job: string; file: string}> {
  const base = join(runDir, 'logs')
  if (!existsSync(base)) return []
  const out: Array<{job: string; file: string}> = []
  for (const j of readdirSync(base).sort()) {
    if (job && j !== slug(job) && !j.startsWith(slug(job))) continue
    for (const f of readdirSync(join(base, j)).sort()) {
      if (step && (/^\d+$/.test(step) ? !f.startsWith(`${step.padStart(2, '0')}-`) : !f.includes(slug(step)))) continue
      out.push({job: j, file: f})
    }
  }
  return out
}

/** Prints a run's logs; with follow, keeps printing new lines until the run ends. */
export async function readLogs(ref: string | undefined, opts: {job?: string; step?: string; follow?: boolean; onEntry: (e: LogEntry) => void; signal?: AbortSignal}): Promise<{run: string; lines: number}> {
  const run = findRun(ref)
  const dir = join(runsDir(), run)
  const offsets = new Map<string, number>()
  let lines = 0
  const pump = () => {
    for (const {job, file} of logFiles(dir, opts.job, opts.step)) {
      const p = join(dir, 'logs', job, file)
      const buf = readFileSync(p)
      const from = offsets.get(p) ?? 0
      if (buf.length <= from) continue
      const text = buf.subarray(from).toString('utf8')
      const cut = text.lastIndexOf('\n')
      if (cut < 0) continue
      offsets.set(p, from + Buffer.byteLength(text.slice(0, cut + 1)))
      for (const l of text.slice(0, cut).split('\n')) {
        const tab = l.indexOf('\t')
        opts.onEntry({job, file: file.replace(/\.log$/, ''), stream: l.slice(0, tab), line: l.slice(tab + 1)})
        lines++
      }
    }
  }
  pump()
  while (opts.follow && !opts.signal?.aborted) {
    const s = readSummary(dir)
    const running = s?.status === 'running' && s.pid !== undefined && isAlive(s.pid, s.pidStart ?? 0)
    if (!running) break
    await new Promise((r) => setTimeout(r, 200))
    pump()
  }
  pump()
  return {run, lines}
}
