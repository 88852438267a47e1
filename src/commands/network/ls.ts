import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag, table} from '../../cli/lifecycle-flags.js'
import {networks} from '../../cli/network-flags.js'

export default class NetworkLs extends BaseCommand {
  static override summary = 'List networks'
  static override aliases = ['network:list']
  static override flags = {quiet: Flags.boolean({char: 'q', description: 'print names only'}), ...stateDirFlag}

  async run() {
    const {flags} = await this.parse(NetworkLs)
    const list = await networks(flags).list()
    if (!this.jsonEnabled()) {
      if (flags.quiet) this.log(list.map((n) => n.name).join('\n'))
      else process.stdout.write(table(['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'INTERNAL', 'SANDBOXES'], list.map((n) => [n.id.slice(0, 12), n.name, n.driver, n.subnet, n.gateway, String(n.internal), String(n.sandboxes)])))
    }
    return list
  }
}
