import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxUnpause extends BaseCommand {
  static override summary = 'Thaw paused sandboxes'
  static override strict = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id (more may follow)'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(SandboxUnpause)
    const lc = engine(flags)
    const out = []
    for (const ref of argv as string[]) {
      out.push(await lc.unpause(ref))
      if (!this.jsonEnabled()) this.log(ref)
    }
    return out
  }
}
