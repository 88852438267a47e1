import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {listRuns, type RunSummary} from '../../queue/admin.js'
import {parseQueueUrl} from '../../queue/address.js'

export default class QueueLs extends BaseCommand {
  static override summary = 'The runs sent to the queue, newest first, with how far each has got'
  static override examples = ['<%= config.bin %> queue ls --queue redis://:PASSWORD@127.0.0.1:6379', '<%= config.bin %> queue ls --json']
  static override flags = {
    queue: Flags.string({description: 'the queue (default: $LAB_QUEUE)'}),
    limit: Flags.integer({char: 'n', description: 'at most this many runs', default: 50, min: 1, max: 10000}),
  }

  async run(): Promise<RunSummary[]> {
    const {flags} = await this.parse(QueueLs)
    const runs = await listRuns(parseQueueUrl(flags.queue), flags.limit)
    if (!this.jsonEnabled()) this.log(runs.map((r) => `${r.id}\t${r.kind}\t${r.status}\t${r.done}/${r.total} done\t${r.failed} failed\t${r.queue}\t${r.created}`).join('\n') || 'no runs')
    return runs
  }
}
