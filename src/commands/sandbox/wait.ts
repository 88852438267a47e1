import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxWait extends BaseCommand {
  static override summary = 'Block until sandboxes stop, then print their exit codes'
  static override strict = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id (more may follow)'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(SandboxWait)
    const lc = engine(flags)
    const out = []
    for (const ref of argv as string[]) {
      const r = await lc.wait(ref)
      out.push(r)
      if (!this.jsonEnabled()) this.log(String(r.exitCode))
    }
    return out
  }
}
