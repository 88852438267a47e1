import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {describeDecision, diffProfiles, type ProfileDiff} from '../../seccomp/diff.js'
import {syscallTables} from '../../seccomp/host.js'
import {loadProfileRef} from '../../seccomp/profiles.js'
import {hostContext} from '../../seccomp/resolve.js'

export default class ProfileDiff_ extends BaseCommand {
  static override summary = 'Show what becomes allowed or denied going from profile A to profile B'
  static override description = 'Per ABI of this host (x86_64, x86, x32…), for a sandbox with the given capabilities and this kernel: syscalls now allowed, now denied, or with changed conditions or errno.'
  static override examples = ['<%= config.bin %> profile diff default strict', '<%= config.bin %> profile diff default my.json --cap SYS_PTRACE --json']
  static override args = {
    a: Args.string({description: 'the profile before (file or built-in name)', required: true}),
    b: Args.string({description: 'the profile after (file or built-in name)', required: true}),
  }
  static override flags = {cap: Flags.string({description: 'a capability the sandbox keeps', multiple: true})}

  async run(): Promise<{a: string; b: string} & ProfileDiff> {
    const {args, flags} = await this.parse(ProfileDiff_)
    const a = await loadProfileRef(args.a)
    const b = await loadProfileRef(args.b)
    const d = diffProfiles(a.profile, b.profile, hostContext(flags.cap ?? []), await syscallTables())
    if (!this.jsonEnabled()) {
      for (const [arch, {before, after}] of Object.entries(d.abis)) {
        if (before === after && before === 'killed') this.log(`${arch}: not covered by either profile (its calls are killed)`)
        else if (before !== after) this.log(`${arch}: ${after === 'covered' ? '+ now covered (was killed whole)' : '- now killed whole (was covered)'}`)
      }
      for (const [arch, changes] of Object.entries(d.arches)) {
        this.log(`${arch}: ${changes.length} change${changes.length === 1 ? '' : 's'}`)
        for (const c of changes) this.log(`  ${c.kind === 'now-allowed' ? '+' : c.kind === 'now-denied' ? '-' : '~'} ${c.syscall}: ${describeDecision(c.before)} -> ${describeDecision(c.after)}`)
      }
    }
    return {a: a.ref.id, b: b.ref.id, ...d}
  }
}
