import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {networks} from '../../cli/network-flags.js'
import {confirm} from '../../util/confirm.js'

export default class NetworkPrune extends BaseCommand {
  static override summary = 'Remove every user-defined network no sandbox is on'
  static override flags = {force: Flags.boolean({char: 'f', description: 'do not ask'}), ...stateDirFlag}

  async run() {
    const {flags} = await this.parse(NetworkPrune)
    if (!flags.force) await confirm('WARNING! This will remove every user-defined network no sandbox is on.\nAre you sure you want to continue? [y/N] ', {json: this.jsonEnabled(), command: 'lab network prune -f'})
    const removed = await networks(flags).prune()
    if (!this.jsonEnabled()) for (const n of removed) this.log(n)
    return {removed}
  }
}
