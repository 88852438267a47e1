import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {readLogs, type LogEntry} from '../../ci/logs.js'
import {ciCollect} from '../../queue/cli.js'
import {isRunId} from '../../queue/job.js'

export default class CiLogs extends BaseCommand {
  static override summary = 'Print the per-step logs of a pipeline run (the latest by default), or follow a running one'
  static override examples = ['<%= config.bin %> ci logs', '<%= config.bin %> ci logs --job build --step 2', '<%= config.bin %> ci logs 20250101-120000 --follow']
  static override args = {run: Args.string({description: 'run id (or a prefix of it); default: the latest', required: false})}
  static override flags = {
    job: Flags.string({description: 'only this job (its id, or the start of a matrix key)'}),
    step: Flags.string({description: 'only this step (its number, or part of its name)'}),
    follow: Flags.boolean({char: 'f', description: 'keep printing new lines until the run ends'}),
    queue: Flags.string({description: 'RUN ran on the workers of this queue (default: $LAB_QUEUE): wait for it and print its logs'}),
  }

  async run(): Promise<{run: string; entries: LogEntry[]}> {
    const {args, flags} = await this.parse(CiLogs)
    const json = this.jsonEnabled()
    const entries: LogEntry[] = []
    if (args.run && isRunId(args.run)) {
      const r = await ciCollect({queue: flags.queue}, args.run, json)
      for (const l of r.logs) {
        if ((flags.job && !l.job.startsWith(flags.job)) || (flags.step && !l.file.includes(flags.step))) continue
        for (const line of l.text.split('\n').filter(Boolean)) {
          const tab = line.indexOf('\t')
          const e = {job: l.job, file: l.file, stream: line.slice(0, tab), line: line.slice(tab + 1)}
          if (json) entries.push(e)
          else (e.stream === 'stderr' ? process.stderr : process.stdout).write(`[${e.job} › ${e.file}] ${e.stream === 'lab' ? '· ' : ''}${e.line}\n`)
        }
      }
      return {run: args.run, entries}
    }
    const ac = new AbortController()
    const stop = () => ac.abort()
    process.once('SIGINT', stop)
    try {
      const r = await readLogs(args.run, {
        job: flags.job,
        step: flags.step,
        follow: flags.follow,
        signal: ac.signal,
        onEntry: (e) => {
          if (json) entries.push(e)
          else (e.stream === 'stderr' ? process.stderr : process.stdout).write(`[${e.job} › ${e.file}] ${e.stream === 'lab' ? '· ' : ''}${e.line}\n`)
        },
      })
      return {run: r.run, entries}
    } finally {
      process.off('SIGINT', stop)
    }
  }
}
