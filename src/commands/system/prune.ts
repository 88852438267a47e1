import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SystemPrune extends BaseCommand {
  static override summary = 'Remove stopped sandboxes and whatever crashed runs left behind'
  static override description = 'Removes every stopped sandbox, half-created records, runtime files without a sandbox, stale names and locks, cgroups whose owner died, and unused anonymous volumes (--volumes: every unused volume).'
  static override flags = {volumes: Flags.boolean({description: 'remove every unused volume, named ones too'}), ...stateDirFlag}

  async run() {
    const {flags} = await this.parse(SystemPrune)
    const r = await engine(flags).prune({volumes: flags.volumes ? 'all' : true})
    if (!this.jsonEnabled()) {
      for (const s of r.sandboxes) this.log(`removed sandbox ${s}`)
      for (const o of r.orphans) this.log(`removed orphaned ${o}`)
      for (const c of r.cgroups) this.log(`removed cgroup ${c.slice(0, 12)}`)
      for (const v of r.volumes) this.log(`removed volume ${v}`)
    }
    return r
  }
}
