import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {usageError} from '../../errors.js'
import type {LogLine} from '../../sandbox/lifecycle.js'

export default class SandboxLogs extends BaseCommand {
  static override summary = "Print a sandbox's captured output (stdout to stdout, stderr to stderr)"
  static override args = {sandbox: Args.string({required: true, description: 'name or id'})}
  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'keep printing new output until the sandbox stops'}),
    timestamps: Flags.boolean({char: 't', description: 'prefix each line with the time it was written (RFC 3339, ns)'}),
    tail: Flags.string({char: 'n', default: 'all', description: 'how many lines from the end', helpValue: 'N|all'}),
    ...stateDirFlag,
  }

  async run(): Promise<LogLine[]> {
    const {args, flags} = await this.parse(SandboxLogs)
    if (flags.tail !== 'all' && !/^\d+$/.test(flags.tail)) throw usageError(`invalid --tail "${flags.tail}"`, 'give a number of lines or all')
    const json = this.jsonEnabled()
    const ac = new AbortController()
    process.once('SIGINT', () => ac.abort())
    return engine(flags).logs(args.sandbox, {
      tail: flags.tail === 'all' ? undefined : Number(flags.tail),
      follow: flags.follow,
      signal: ac.signal,
      onLine: json ? undefined : (l) => (l.stream === 'stdout' ? process.stdout : process.stderr).write(`${flags.timestamps ? l.time + ' ' : ''}${l.line}\n`),
    })
  }
}
