import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {networks} from '../../cli/network-flags.js'
import {usageError} from '../../errors.js'

export default class NetworkRm extends BaseCommand {
  static override summary = 'Remove networks (never one a sandbox is on): bridge, firewall rules and name server go with them'
  static override strict = false
  static override aliases = ['network:remove']
  static override args = {network: Args.string({required: true, description: 'network name or id (more may follow)'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(NetworkRm)
    const nets = networks(flags)
    const removed: string[] = []
    for (const r of argv as string[]) {
      if (r === 'bridge') throw usageError('the default network bridge cannot be removed', 'remove user-defined networks only')
      const n = await nets.remove(r)
      removed.push(n.name)
      if (!this.jsonEnabled()) this.log(n.name)
    }
    return {removed}
  }
}
