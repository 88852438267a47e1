import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {networks} from '../../cli/network-flags.js'

export default class NetworkDisconnect extends BaseCommand {
  static override summary = 'Detach a sandbox from a network (at once if it runs; it keeps at least one)'
  static override args = {network: Args.string({required: true, description: 'network name or id'}), sandbox: Args.string({required: true, description: 'sandbox name or id'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(NetworkDisconnect)
    const r = await networks(flags).disconnect(args.network, args.sandbox)
    if (!this.jsonEnabled()) this.log(r.sandbox)
    return r
  }
}
