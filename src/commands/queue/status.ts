import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {queueStatus, type QueueStatus} from '../../queue/admin.js'
import {parseQueueUrl} from '../../queue/address.js'

export default class QueueStatusCommand extends BaseCommand {
  static override summary = 'The workers that are alive (by their heartbeats) and the jobs in each queue'
  static override examples = ['<%= config.bin %> queue status --queue redis://:PASSWORD@127.0.0.1:6379', 'LAB_QUEUE=… <%= config.bin %> queue status --json']
  static override flags = {queue: Flags.string({description: 'the queue (default: $LAB_QUEUE)'})}

  async run(): Promise<QueueStatus> {
    const {flags} = await this.parse(QueueStatusCommand)
    const s = await queueStatus(parseQueueUrl(flags.queue))
    if (!this.jsonEnabled()) {
      const lines = [`queue ${s.queue}: ${s.workers.length} worker${s.workers.length === 1 ? '' : 's'}, ${s.runs} run${s.runs === 1 ? '' : 's'} recorded`]
      for (const q of s.queues) lines.push(`${q.name}\twaiting=${q.waiting}\tactive=${q.active}\tdelayed=${q.delayed}\tfailed=${q.failed}`)
      for (const w of s.workers) lines.push(`worker ${w.id}\t${w.draining ? 'draining' : 'up'}\trunning=${w.running.length}/${w.concurrency}\tdone=${w.completed}\tfailed=${w.failed}\tlabels=${Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',')}\tseen=${w.at}`)
      this.log(lines.join('\n'))
    }
    return s
  }
}
