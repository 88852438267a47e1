import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {confirm} from '../../util/confirm.js'

export default class SystemPrune extends BaseCommand {
  static override summary = 'Remove stopped sandboxes and whatever crashed runs left behind'
  static override description = 'Removes every stopped sandbox, half-created records, runtime files without a sandbox, stale names and locks, cgroups whose owner died, and unused anonymous volumes (--volumes: every unused volume). Asks first, as `docker system prune` does: -f skips the question, and without a terminal to ask on it is required.'
  static override examples = ['lab system prune', 'lab system prune -f --volumes']
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'do not ask for confirmation'}),
    volumes: Flags.boolean({description: 'remove every unused volume, named ones too'}),
    ...stateDirFlag,
  }

  async run() {
    const {flags} = await this.parse(SystemPrune)
    if (!flags.force) {
      const what = [
        'all stopped sandboxes and their anonymous volumes',
        'records, runtime files, names and cgroups left by crashed runs',
        flags.volumes ? 'every volume not used by a sandbox, named ones too' : 'anonymous volumes not used by a sandbox',
      ]
      await confirm(`WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join('')}Are you sure you want to continue? [y/N] `, {
        json: this.jsonEnabled(),
        command: `lab system prune -f${flags.volumes ? ' --volumes' : ''}`,
      })
    }
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
