import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxStop extends BaseCommand {
  static override summary = 'Stop running sandboxes: SIGTERM, then SIGKILL after the grace period'
  static override strict = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id (more may follow)'})}
  static override flags = {time: Flags.integer({char: 't', default: 10, min: 0, description: 'seconds to wait before SIGKILL'}), ...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(SandboxStop)
    const lc = engine(flags)
    const out = await Promise.all((argv as string[]).map((ref) => lc.stop(ref, {timeoutSeconds: flags.time})))
    if (!this.jsonEnabled()) for (const ref of argv as string[]) this.log(ref)
    return out
  }
}
