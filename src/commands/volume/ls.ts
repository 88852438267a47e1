import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag, table} from '../../cli/lifecycle-flags.js'

export default class VolumeLs extends BaseCommand {
  static override summary = 'List volumes'
  static override flags = {quiet: Flags.boolean({char: 'q', description: 'print names only'}), ...stateDirFlag}

  async run() {
    const {flags} = await this.parse(VolumeLs)
    const vols = engine(flags).volumes.list()
    if (!this.jsonEnabled()) {
      if (flags.quiet) this.log(vols.map((v) => v.name).join('\n'))
      else process.stdout.write(table(['DRIVER', 'VOLUME NAME', 'USED BY'], vols.map((v) => [v.driver, v.name, v.usedBy.join(',')])))
    }
    return vols
  }
}
