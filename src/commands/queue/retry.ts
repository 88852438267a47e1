import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {retryRun} from '../../queue/admin.js'
import {parseQueueUrl} from '../../queue/address.js'

export default class QueueRetry extends BaseCommand {
  static override summary = 'Run the failed jobs of a run again (refused, tampered, or lost with their workers too often)'
  static override examples = ['<%= config.bin %> queue retry q20261204-153000-1a2b3c --queue redis://:PASSWORD@127.0.0.1:6379']
  static override args = {run: Args.string({description: 'the run id', required: true})}
  static override flags = {queue: Flags.string({description: 'the queue (default: $LAB_QUEUE)'})}

  async run(): Promise<{run: string; retried: string[]; skipped: string[]}> {
    const {args, flags} = await this.parse(QueueRetry)
    const r = await retryRun(parseQueueUrl(flags.queue), args.run)
    if (!this.jsonEnabled()) this.log([`${r.run}: ${r.retried.length} job${r.retried.length === 1 ? '' : 's'} sent again${r.retried.length ? ` (${r.retried.join(', ')})` : ''}`, ...r.skipped.map((s) => `not retried: ${s}`)].join('\n'))
    return r
  }
}
