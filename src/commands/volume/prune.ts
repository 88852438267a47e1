import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class VolumePrune extends BaseCommand {
  static override summary = 'Remove unused anonymous volumes (every unused one with --all)'
  static override flags = {all: Flags.boolean({char: 'a', description: 'named volumes too'}), ...stateDirFlag}

  async run() {
    const {flags} = await this.parse(VolumePrune)
    const removed = engine(flags).volumes.prune({all: flags.all})
    if (!this.jsonEnabled()) for (const n of removed) this.log(n)
    return {removed}
  }
}
