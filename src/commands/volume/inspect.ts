import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {printInspected} from '../../cli/format.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class VolumeInspect extends BaseCommand {
  static override summary = 'Show volumes in detail'
  static override strict = false
  static override args = {name: Args.string({required: true, description: 'volume name (more may follow)'})}
  static override flags = {format: Flags.string({char: 'f', description: 'a handlebars template, e.g. {{.mountpoint}}', helpValue: 'TEMPLATE'}), ...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(VolumeInspect)
    const lc = engine(flags)
    const out = (argv as string[]).map((n) => lc.volumes.inspect(n))
    if (!this.jsonEnabled()) await printInspected((l) => this.log(l), out, flags.format)
    return out
  }
}
