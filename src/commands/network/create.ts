import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {networks} from '../../cli/network-flags.js'
import {usageError} from '../../errors.js'

export default class NetworkCreate extends BaseCommand {
  static override summary = 'Create a bridged network: its own bridge, subnet, firewall and name server'
  static override description = 'Sandboxes on one user-defined network reach each other by name and --network-alias; networks are isolated from each other; --internal has no way out.'
  static override examples = [
    '<%= config.bin %> network create app',
    '<%= config.bin %> network create --subnet 10.90.0.0/24 --gateway 10.90.0.254 backend',
    '<%= config.bin %> network create --internal -o com.docker.network.bridge.enable_icc=false locked',
    '<%= config.bin %> network create --ipv6 dual',
    '<%= config.bin %> network create --ipv6 --subnet 10.90.1.0/24 --subnet fd00:90:1::/64 --gateway fd00:90:1::fe dual2',
  ]
  static override args = {name: Args.string({required: true, description: 'network name'})}
  static override flags = {
    driver: Flags.string({char: 'd', description: 'network driver (bridge only)', default: 'bridge'}),
    subnet: Flags.string({multiple: true, multipleNonGreedy: true, description: 'subnet, one per family: IPv4 (default: a free /24 in 10.89.0.0/16) and, with --ipv6, IPv6 (default: a free /64 in fd4c:6162::/48)', helpValue: 'CIDR'}),
    gateway: Flags.string({multiple: true, multipleNonGreedy: true, description: 'the bridge\'s address in a subnet, one per family (default: the subnet\'s first)', helpValue: 'ADDRESS'}),
    ipv6: Flags.boolean({description: 'dual-stack: an IPv6 subnet beside the IPv4 one'}),
    internal: Flags.boolean({description: 'no way out: no masquerade, nothing forwarded off the bridge'}),
    opt: Flags.string({char: 'o', multiple: true, multipleNonGreedy: true, description: 'driver option: com.docker.network.bridge.enable_icc=false, com.docker.network.driver.mtu=N, com.docker.network.bridge.name=labNAME', helpValue: 'KEY=VALUE'}),
    label: Flags.string({multiple: true, multipleNonGreedy: true, description: 'a label', helpValue: 'KEY=VALUE'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(NetworkCreate)
    const subnet = byFamily(flags.subnet, '--subnet')
    const gateway = byFamily(flags.gateway, '--gateway')
    const n = await networks(flags).create({
      name: args.name, driver: flags.driver, subnet: subnet.v4, gateway: gateway.v4, ipv6: flags.ipv6, subnet6: subnet.v6, gateway6: gateway.v6,
      internal: flags.internal, opts: flags.opt, labels: flags.label,
    })
    if (!this.jsonEnabled()) this.log(n.id)
    return n
  }
}

/** Repeated --subnet/--gateway: at most one of each family (an IPv6 one has a colon). */
function byFamily(values: string[] | undefined, flag: string): {v4?: string; v6?: string} {
  const out: {v4?: string; v6?: string} = {}
  for (const v of values ?? []) {
    const k = v.includes(':') ? 'v6' : 'v4'
    if (out[k] !== undefined) throw usageError(`${flag} given twice for IPv${k === 'v6' ? 6 : 4}`, `give at most one IPv4 and one IPv6 ${flag}`)
    out[k] = v
  }
  return out
}
