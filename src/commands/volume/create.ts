import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class VolumeCreate extends BaseCommand {
  static override summary = 'Create a named volume (a generated name when none is given)'
  static override args = {name: Args.string({description: 'volume name'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(VolumeCreate)
    const v = engine(flags).volumes.create(args.name, {mustBeNew: args.name !== undefined})
    if (!this.jsonEnabled()) this.log(v.name)
    return v
  }
}
