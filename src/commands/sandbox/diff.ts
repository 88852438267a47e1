import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {sandboxDiff} from '../../images/sandbox-image.js'

export default class SandboxDiff extends BaseCommand {
  static override summary = 'List the files an image sandbox added (A), changed (C) or deleted (D)'
  static override examples = ['lab sandbox diff work', 'lab sandbox diff --json work']
  static override args = {sandbox: Args.string({required: true, description: 'name or id of a sandbox run on an image'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(SandboxDiff)
    const changes = sandboxDiff(engine(flags), args.sandbox)
    if (!this.jsonEnabled()) for (const c of changes) this.log(`${c.Kind} ${c.Path}`)
    return changes
  }
}
