import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxWait extends BaseCommand {
  static override summary = 'Block until sandboxes stop, then print their exit codes'
  static override description = 'With --json, each sandbox\'s result has the shape of a foreground `lab sandbox run --json`: verdict with evidence, exitCode, wallMs, cpu, peakMemoryBytes, pidsPeak (its output stays in `lab sandbox logs`).'
  static override strict = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id (more may follow)'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(SandboxWait)
    const lc = engine(flags)
    const out = []
    for (const ref of argv as string[]) {
      const r = await lc.wait(ref)
      if (!this.jsonEnabled()) this.log(String(r.exitCode))
      // a sandbox removed when it ended (--rm) has left no result behind: its exit code
      else out.push((await lc.result(r.id).catch(() => null)) ?? r)
    }
    return out
  }
}
