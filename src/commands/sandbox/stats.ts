import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag, table} from '../../cli/lifecycle-flags.js'

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)}MiB`

export default class SandboxStats extends BaseCommand {
  static override summary = 'CPU, memory and process counts of running sandboxes'
  static override strict = false
  static override flags = {'no-stream': Flags.boolean({description: 'print one sample and exit'}), ...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(SandboxStats)
    const lc = engine(flags)
    const once = flags['no-stream'] || this.jsonEnabled() || !process.stdout.isTTY
    for (;;) {
      const rows = await lc.stats(argv as string[], once ? 500 : 1000)
      if (!this.jsonEnabled()) {
        if (!once) process.stdout.write('\x1b[2J\x1b[H')
        process.stdout.write(table(['SANDBOX ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'PIDS'], rows.map((r) => [r.id.slice(0, 12), r.name, `${r.cpuPercent.toFixed(2)}%`, `${mib(r.memoryBytes)} / ${r.memoryLimitBytes ? mib(r.memoryLimitBytes) : '-'}`, String(r.pids)])))
      }
      if (once) return rows
    }
  }
}
