import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {networks} from '../../cli/network-flags.js'

export default class NetworkInspect extends BaseCommand {
  static override summary = 'Show networks as JSON: subnet, options, sandboxes with their addresses, bridge and firewall'
  static override strict = false
  static override args = {network: Args.string({required: true, description: 'network name or id (more may follow)'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(NetworkInspect)
    const nets = networks(flags)
    const out = []
    for (const r of argv as string[]) out.push(await nets.inspect(r))
    if (!this.jsonEnabled()) this.log(JSON.stringify(out, null, 2))
    return out
  }
}
