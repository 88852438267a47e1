import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxKill extends BaseCommand {
  static override summary = 'Send a signal to running sandboxes (default SIGKILL)'
  static override strict = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id (more may follow)'})}
  static override flags = {signal: Flags.string({char: 's', default: 'KILL', description: 'signal name or number', helpValue: 'SIGNAL'}), ...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(SandboxKill)
    const lc = engine(flags)
    const out = []
    for (const ref of argv as string[]) {
      out.push(await lc.kill(ref, flags.signal))
      if (!this.jsonEnabled()) this.log(ref)
    }
    return out
  }
}
