import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag, table} from '../../cli/lifecycle-flags.js'

export default class SandboxTop extends BaseCommand {
  static override summary = 'List the processes of a running sandbox (host pids)'
  static override args = {sandbox: Args.string({required: true, description: 'name or id'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(SandboxTop)
    const top = engine(flags).top(args.sandbox)
    if (!this.jsonEnabled()) {
      const t = (ticks: number) => {
        const s = Math.floor(ticks / 100)
        return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
      }
      process.stdout.write(table(top.titles, top.processes.map((p) => [String(p.uid), String(p.pid), String(p.ppid), p.state, t(p.utimeTicks + p.stimeTicks), p.cmd])))
    }
    return top
  }
}
