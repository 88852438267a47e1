import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {networks} from '../../cli/network-flags.js'

export default class NetworkConnect extends BaseCommand {
  static override summary = 'Attach a bridged sandbox to one more network (at once if it runs)'
  static override examples = ['<%= config.bin %> network connect --alias db backend web']
  static override args = {network: Args.string({required: true, description: 'network name or id'}), sandbox: Args.string({required: true, description: 'sandbox name or id'})}
  static override flags = {
    ip: Flags.string({description: 'its address on the network (user-defined networks)', helpValue: 'ADDRESS'}),
    ip6: Flags.string({description: 'its IPv6 address on the network (networks made with --ipv6)', helpValue: 'ADDRESS'}),
    alias: Flags.string({multiple: true, multipleNonGreedy: true, description: 'another name for it on the network', helpValue: 'NAME'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(NetworkConnect)
    const r = await networks(flags).connect(args.network, args.sandbox, {ip: flags.ip, ip6: flags.ip6, aliases: flags.alias})
    if (!this.jsonEnabled()) this.log(`${r.sandbox} ${r.interface} ${r.address}${r.address6 ? ` ${r.address6}` : ''}`)
    return r
  }
}
