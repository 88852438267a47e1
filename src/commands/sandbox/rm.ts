import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxRm extends BaseCommand {
  static override summary = 'Remove sandboxes'
  static override strict = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id (more may follow)'})}
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'kill and remove a running sandbox'}),
    volumes: Flags.boolean({char: 'v', description: 'also remove its anonymous volumes'}),
    ...stateDirFlag,
  }

  async run() {
    const {argv, flags} = await this.parse(SandboxRm)
    const lc = engine(flags)
    const out = []
    for (const ref of argv as string[]) {
      out.push(await lc.remove(ref, {force: flags.force, volumes: flags.volumes}))
      if (!this.jsonEnabled()) this.log(ref)
    }
    return out
  }
}
