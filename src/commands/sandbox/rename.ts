import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxRename extends BaseCommand {
  static override summary = 'Rename a sandbox'
  static override args = {sandbox: Args.string({required: true, description: 'name or id'}), newName: Args.string({required: true, description: 'the new name'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(SandboxRename)
    return engine(flags).rename(args.sandbox, args.newName)
  }
}
