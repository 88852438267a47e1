import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class VolumeRm extends BaseCommand {
  static override summary = 'Remove volumes (never one a sandbox uses)'
  static override strict = false
  static override args = {name: Args.string({required: true, description: 'volume name (more may follow)'})}
  static override flags = {force: Flags.boolean({char: 'f', description: 'no error when a volume does not exist'}), ...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(VolumeRm)
    const lc = engine(flags)
    for (const n of argv as string[]) {
      lc.volumes.remove(n, {force: flags.force})
      if (!this.jsonEnabled()) this.log(n)
    }
    return {removed: argv}
  }
}
