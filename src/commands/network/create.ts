import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {networks} from '../../cli/network-flags.js'

export default class NetworkCreate extends BaseCommand {
  static override summary = 'Create a bridged network: its own bridge, subnet, firewall and name server'
  static override description = 'Sandboxes on one user-defined network reach each other by name and --network-alias; networks are isolated from each other; --internal has no way out.'
  static override examples = [
    '<%= config.bin %> network create app',
    '<%= config.bin %> network create --subnet 10.90.0.0/24 --gateway 10.90.0.254 backend',
    '<%= config.bin %> network create --internal -o com.docker.network.bridge.enable_icc=false locked',
  ]
  static override args = {name: Args.string({required: true, description: 'network name'})}
  static override flags = {
    driver: Flags.string({char: 'd', description: 'network driver (bridge only)', default: 'bridge'}),
    subnet: Flags.string({description: 'IPv4 subnet, e.g. 10.90.0.0/24 (default: a free /24 in 10.89.0.0/16)', helpValue: 'CIDR'}),
    gateway: Flags.string({description: 'the bridge\'s address in the subnet (default: its first)', helpValue: 'ADDRESS'}),
    internal: Flags.boolean({description: 'no way out: no masquerade, nothing forwarded off the bridge'}),
    opt: Flags.string({char: 'o', multiple: true, multipleNonGreedy: true, description: 'driver option: com.docker.network.bridge.enable_icc=false, com.docker.network.driver.mtu=N, com.docker.network.bridge.name=labNAME', helpValue: 'KEY=VALUE'}),
    label: Flags.string({multiple: true, multipleNonGreedy: true, description: 'a label', helpValue: 'KEY=VALUE'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(NetworkCreate)
    const n = await networks(flags).create({name: args.name, driver: flags.driver, subnet: flags.subnet, gateway: flags.gateway, internal: flags.internal, opts: flags.opt, labels: flags.label})
    if (!this.jsonEnabled()) this.log(n.id)
    return n
  }
}
