import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {commitSandbox} from '../../images/sandbox-image.js'

export default class SandboxCommit extends BaseCommand {
  static override summary = 'Make a new image from an image sandbox\'s changes'
  static override description = 'The sandbox\'s upper layer becomes a new layer on its image. The new image keeps the sandbox\'s entrypoint, command, environment and working directory; --change sets attributes as a Dockerfile instruction would.'
  static override examples = [
    'lab sandbox commit -a "Ada <ada@example.org>" -m "added git" work course/tools:v2',
    'lab sandbox commit --change \'CMD ["/bin/sh"]\' --change \'ENV MODE=prod\' work tools:v3',
  ]
  static override args = {
    sandbox: Args.string({required: true, description: 'name or id of a sandbox run on an image'}),
    reference: Args.string({description: 'REPOSITORY[:TAG] for the new image'}),
  }
  static override flags = {
    change: Flags.string({char: 'c', multiple: true, multipleNonGreedy: true, description: 'a Dockerfile instruction to apply: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR', helpValue: 'INSTRUCTION'}),
    message: Flags.string({char: 'm', description: 'a comment for the image\'s history'}),
    author: Flags.string({char: 'a', description: 'author, e.g. "Ada <ada@example.org>"'}),
    pause: Flags.boolean({char: 'p', default: true, allowNo: true, description: 'pause a running sandbox while its changes are read'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(SandboxCommit)
    const out = await commitSandbox(engine(flags), args.sandbox, {changes: flags.change, message: flags.message, author: flags.author, pause: flags.pause, tag: args.reference, stateDir: flags['state-dir']})
    if (!this.jsonEnabled()) this.log(out.id)
    return out
  }
}
