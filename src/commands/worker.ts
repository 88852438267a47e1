import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {LabError} from '../errors.js'
import {stateDir} from '../labs/progress.js'
import {parseQueueUrl} from '../queue/address.js'
import {parseLabels} from '../queue/keys.js'
import {startWorker} from '../queue/worker.js'
import {parseDuration} from '../sandbox/units.js'

export default class WorkerCommand extends BaseCommand {
  static override summary = 'Take grading runs and CI jobs from a Redis queue and run each in hardened sandboxes'
  static override description = `Runs until SIGTERM or Ctrl-C: the first one drains (running jobs finish, no new ones start), a second hands running jobs back to the queue. Each job runs exactly as a local \`lab grade\` or \`lab ci\` would (same sandboxes, limits and verdicts); its payload is checked by hash first and its spec or pipeline validated, and a job that fails either is refused. One line per job on stdout. The URL may also come from LAB_QUEUE, which keeps the password off the command line.`

  static override examples = [
    '<%= config.bin %> worker --queue redis://:PASSWORD@127.0.0.1:6379/0',
    'LAB_QUEUE=rediss://grader:PASSWORD@queue.example:6380 <%= config.bin %> worker --concurrency 4 --label image=gcc-13',
  ]

  static override flags = {
    queue: Flags.string({description: 'the queue: redis://[user:pass@]HOST:PORT[/DB], rediss:// for TLS (default: $LAB_QUEUE)'}),
    concurrency: Flags.integer({char: 'c', description: 'sandboxes run at once (default: the number of CPUs)', min: 1, max: 256}),
    label: Flags.string({char: 'l', description: 'a label jobs may require (KEY=VALUE, repeatable; os, arch and cgroup are set from the host)', multiple: true}),
    'state-dir': Flags.string({description: 'state directory (payload cache, CI records); default $LAB_STATE_DIR or the usual one'}),
    'lock-duration': Flags.string({description: 'how long a job\'s lock lasts without renewal before another worker takes the job over (BullMQ lockDuration, also the stall-check interval)', default: '30s'}),
    'max-deliveries': Flags.integer({description: 'a job lost with its worker this many times fails with that reason', default: 3, min: 1, max: 100}),
  }

  async run(): Promise<{id: string; completed: number; failed: number}> {
    const {flags} = await this.parse(WorkerCommand)
    if (flags['state-dir']) process.env.LAB_STATE_DIR = flags['state-dir']
    const addr = parseQueueUrl(flags.queue)
    let labels: Record<string, string>
    try {
      labels = parseLabels(flags.label, '--label')
    } catch (e) {
      throw new LabError('usage', (e as Error).message, {hint: 'e.g. --label cgroup=v2 --label image=gcc-13'})
    }
    const lockDurationMs = parseDuration(flags['lock-duration'], '--lock-duration')
    if (lockDurationMs < 500) throw new LabError('usage', `--lock-duration ${flags['lock-duration']}: below 500 ms`, {hint: 'a lock must outlive a few renewals; 30s is BullMQ\'s default'})
    const json = this.jsonEnabled()
    const w = await startWorker({
      addr,
      concurrency: flags.concurrency,
      labels,
      lockDurationMs,
      maxDeliveries: flags['max-deliveries'],
      cacheDir: stateDir(),
      log: (line) => (json ? process.stderr : process.stdout).write(line + '\n'),
    })
    const stop = () => w.stop()
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
    const r = await w.done
    process.off('SIGTERM', stop)
    process.off('SIGINT', stop)
    return {id: w.id, ...r}
  }
}
