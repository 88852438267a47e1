import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {printInspected} from '../../cli/format.js'
import {inspectView} from '../../cli/views.js'

export default class SandboxInspect extends BaseCommand {
  static override summary = 'Show sandboxes in detail, as JSON or through a template'
  static override examples = ['<%= config.bin %> sandbox inspect web', "<%= config.bin %> sandbox inspect --format '{{.State.Status}} {{.State.Pid}}' web", "<%= config.bin %> sandbox inspect -f '{{json .Mounts}}' web"]
  static override strict = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id (more may follow)'})}
  static override flags = {format: Flags.string({char: 'f', description: 'a handlebars template, Docker style: {{.State.Status}}, {{json .Config}}', helpValue: 'TEMPLATE'}), ...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(SandboxInspect)
    const lc = engine(flags)
    const out = (argv as string[]).map((ref) => inspectView(lc, ref))
    if (!this.jsonEnabled()) await printInspected((l) => this.log(l), out, flags.format)
    return out
  }
}
