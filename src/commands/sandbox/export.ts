import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {writeOutput} from '../../images/output.js'
import {exportSandbox} from '../../images/sandbox-image.js'

export default class SandboxExport extends BaseCommand {
  static override summary = 'Write an image sandbox\'s file system (its image with its changes) as one flat tarball'
  static override examples = ['lab sandbox export -o work.tar work', 'lab sandbox export work | tar -t', 'lab sandbox export work | lab image import - work:flat']
  static override args = {sandbox: Args.string({required: true, description: 'name or id of a sandbox run on an image'})}
  static override flags = {output: Flags.string({char: 'o', description: 'write to FILE instead of stdout', helpValue: 'FILE'}), ...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(SandboxExport)
    const lc = engine(flags)
    const out = await writeOutput(flags.output, 'a tar archive', (w) => exportSandbox(lc, args.sandbox, w))
    return {...out, ...(flags.output ? {output: flags.output} : {})}
  }
}
