import {mkdirSync, writeFileSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {dirname, join, resolve} from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {LabError} from '../errors.js'
import {gradeBatch, type GradeReport} from '../grading/harness.js'
import {loadGradingSpec} from '../grading/load.js'
import {progressReporter} from '../grading/progress.js'
import {escapeTerminal} from '../grading/terminal.js'
import {FORMATS, type Format, render, reportFiles} from '../grading/reports/index.js'
import {gradeThroughQueue, queueFlags, wantsQueue} from '../queue/cli.js'

export default class Grade extends BaseCommand {
  static override summary = 'Grade student submissions, each test in a fresh isolated sandbox'
  static override description = `SPEC is a grading.yaml, a directory holding one, or a lab whose directory has one. Each SUBMISSION is a directory, .tar, .tar.gz or .zip (an archive holding a single folder is graded as that folder's contents); unsafe archives (links out, "..", absolute paths, devices, zip bombs) are rejected one by one and the batch goes on. Tests run in parallel sandboxes (strict seccomp profile, no network, remapped ids); a run within 10% of its time limit is run once more. A framework group (pytest, unittest, node:test, tap, junit-xml) runs its test file once per submission and scores each test; see docs/grading.md. Exits 0 when grading completed, whatever the scores; non-zero only when grading itself failed.`

  static override examples = [
    '<%= config.bin %> grade examples/grading/grading.yaml examples/grading/submissions/*',
    '<%= config.bin %> grade grading.yaml subs/*.zip --out reports/',
    '<%= config.bin %> grade grading.yaml subs/* --format csv > gradebook.csv',
    '<%= config.bin %> grade grading.yaml alice.tar.gz --format gradescope',
  ]

  static override strict = false
  static override args = {
    spec: Args.string({description: 'grading spec: grading.yaml, a directory with one, or a lab (not with --attach)', required: false}),
    submission: Args.string({description: 'submissions: directories, .tar, .tar.gz or .zip files (one or more)', required: false}),
  }

  static override flags = {
    jobs: Flags.integer({char: 'j', description: 'sandboxes run at once (default: the number of CPUs)', min: 1, max: 256}),
    out: Flags.string({char: 'o', description: 'write every report format into this directory (report.json, gradebook.csv, report.html, junit.xml, results.tap, gradescope/ID/results.json, exercism/ID/results.json)'}),
    format: Flags.string({char: 'f', description: 'print one report format to stdout', options: [...FORMATS]}),
    ...queueFlags,
    attach: Flags.string({description: 'collect a queue run (sent with --queue, perhaps --detach) and write its reports', helpValue: 'RUN', helpGroup: 'QUEUE'}),
  }

  async run(): Promise<GradeReport> {
    const {args, argv, flags} = await this.parse(Grade)
    const submissions = (argv as string[]).slice(1)
    if (flags.attach && argv.length) throw new LabError('usage', '--attach takes no spec or submissions', {hint: 'lab grade --attach RUN --queue URL [--out DIR]'})
    if (!args.spec && !flags.attach) throw new LabError('usage', 'no grading spec given', {hint: 'lab grade SPEC SUBMISSION… (directories, .tar, .tar.gz or .zip)'})
    if (submissions.length === 0 && !flags.attach) throw new LabError('usage', 'no submission given', {hint: 'lab grade SPEC SUBMISSION… (directories, .tar, .tar.gz or .zip)'})
    if (flags.format && this.jsonEnabled()) throw new LabError('usage', '--format and --json both print to stdout', {hint: 'use one of them; --json is the same as --format json'})
    const queued = wantsQueue(flags)
    const spec = queued ? null : await loadGradingSpec(args.spec!)
    const out = flags.out ? resolve(flags.out) : null
    if (out) {
      try {
        mkdirSync(out, {recursive: true})
      } catch (e) {
        throw new LabError('grade-out', `--out ${flags.out}: cannot create it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {hint: 'give a directory you can write to'})
      }
    }

    const toStdout = Boolean(flags.format) || this.jsonEnabled()
    if (queued) {
      const q = await gradeThroughQueue(flags, () => loadGradingSpec(args.spec!), submissions, false)
      if ('detached' in q) {
        if (!this.jsonEnabled()) this.log(q.detached)
        return {run: q.detached} as unknown as GradeReport
      }
      return this.finish(q.report, out, flags.format, toStdout)
    }
    const progress = progressReporter({tty: Boolean(process.stdout.isTTY && process.stderr.isTTY)})
    // Ctrl-C / SIGTERM: every sandbox is killed, the scratch area removed, nothing half-written
    const abort = new AbortController()
    const stop = () => abort.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    let report: GradeReport
    try {
      report = await gradeBatch(spec!, submissions, {jobs: flags.jobs ?? availableParallelism(), onProgress: (e) => progress.onProgress(e), abortSignal: abort.signal})
    } finally {
      progress.close()
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
    return this.finish(report, out, flags.format, toStdout)
  }

  /** The reports of a finished run, local or from the queue: written the same way. */
  private finish(report: GradeReport, out: string | null, format: string | undefined, toStdout: boolean): GradeReport {
    if (out) {
      for (const f of reportFiles(report)) {
        mkdirSync(dirname(join(out, f.path)), {recursive: true})
        writeFileSync(join(out, f.path), f.content)
      }
    }
    if (format) process.stdout.write(render(format as Format, report))
    else if (!toStdout) this.printSummary(report, out)
    if (report.summary.errors > 0) {
      const first = report.submissions.find((s) => s.status === 'error')!
      process.exitCode = 1
      process.stderr.write(`lab: grading failed for ${report.summary.errors} submission${report.summary.errors > 1 ? 's' : ''} (first: ${first.id}: ${escapeTerminal(first.message ?? '')}) (run \`lab doctor\`; the reports mark them "error")\n`)
    }
    return report
  }

  private printSummary(r: GradeReport, out: string | null): void {
    const w = Math.max(10, ...r.submissions.map((s) => s.id.length))
    const lines = r.submissions.map((s) => {
      const score = `${s.score}/${s.maxScore}`.padStart(9)
      const failed = s.tests.filter((t) => t.status !== 'passed').map((t) => t.name)
      const why = s.message ? s.message.split('\n')[0] : failed.length ? `failed: ${failed.join(', ')}` : 'all tests passed'
      // names and messages come from submissions: shown, never interpreted by the terminal
      return `${s.id.padEnd(w)} ${score}  ${s.status.padEnd(12)} ${escapeTerminal(why)}`
    })
    this.log([`${r.title}: ${r.summary.submissions} submission${r.summary.submissions === 1 ? '' : 's'} in ${(r.wallMs / 1000).toFixed(1)} s, mean ${r.summary.meanScore}/${r.summary.maxScore}${r.summary.reruns ? `, ${r.summary.reruns} run${r.summary.reruns > 1 ? 's' : ''} repeated near the time limit` : ''}`, ...lines, ...(out ? [`reports written to ${out}`] : [])].join('\n'))
  }
}
