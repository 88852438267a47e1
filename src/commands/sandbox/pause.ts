import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxPause extends BaseCommand {
  static override summary = 'Freeze every process of running sandboxes (cgroup freezer)'
  static override strict = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id (more may follow)'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(SandboxPause)
    const lc = engine(flags)
    const out = []
    for (const ref of argv as string[]) {
      out.push(await lc.pause(ref))
      if (!this.jsonEnabled()) this.log(ref)
    }
    return out
  }
}
