import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {cancelRun} from '../../queue/admin.js'
import {parseQueueUrl} from '../../queue/address.js'

export default class QueueCancel extends BaseCommand {
  static override summary = 'Cancel a run: jobs that have not started are removed and reported as cancelled; running ones finish'
  static override examples = ['<%= config.bin %> queue cancel q20261204-153000-1a2b3c --queue redis://:PASSWORD@127.0.0.1:6379']
  static override args = {run: Args.string({description: 'the run id', required: true})}
  static override flags = {queue: Flags.string({description: 'the queue (default: $LAB_QUEUE)'})}

  async run(): Promise<{run: string; cancelled: number; running: number}> {
    const {args, flags} = await this.parse(QueueCancel)
    const r = await cancelRun(parseQueueUrl(flags.queue), args.run)
    if (!this.jsonEnabled()) this.log(`${r.run}: ${r.cancelled} job${r.cancelled === 1 ? '' : 's'} cancelled, ${r.running} still running (they finish)`)
    return r
  }
}
