import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {syscallTables} from '../../seccomp/host.js'
import {lintProfile, type LintFinding} from '../../seccomp/lint.js'
import {loadProfileRef} from '../../seccomp/profiles.js'
import {hostContext} from '../../seccomp/resolve.js'

export default class ProfileLint extends BaseCommand {
  static override summary = 'Warn about a valid seccomp profile that is probably not what you meant'
  static override description = 'Dangerous unconditional allows (keyctl, bpf, mount, unshare, io_uring, ptrace…), a default action that allows, syscalls this host\'s ABIs do not have, entries that are never reached or change nothing, arguments compared twice (Docker ORs them), and socketcall/ipc bypassing argument filters on 32-bit x86. Choices a profile explains itself (an entry whose comment names the call it allows, names kept for other machines\' ABIs) are notes, shown with --verbose. Exits 1 with --strict when there is any warning.'
  static override examples = ['<%= config.bin %> profile lint my-profile.json', '<%= config.bin %> profile lint default --cap SYS_PTRACE --json']
  static override args = {profile: Args.string({description: 'a profile file or a built-in name', required: true})}
  static override flags = {
    cap: Flags.string({description: 'a capability the sandbox keeps (decides includes/excludes.caps)', multiple: true}),
    strict: Flags.boolean({description: 'exit 1 when there is any warning', default: false}),
    verbose: Flags.boolean({char: 'v', description: 'also show notes: choices the profile explains', default: false}),
  }

  async run(): Promise<{profile: string; findings: LintFinding[]}> {
    const {args, flags} = await this.parse(ProfileLint)
    const {ref, profile} = await loadProfileRef(args.profile)
    const findings = lintProfile(profile, await syscallTables(), hostContext(flags.cap ?? []))
    const warnings = findings.filter((f) => f.level === 'warning')
    const notes = findings.length - warnings.length
    if (!this.jsonEnabled()) {
      for (const f of findings) if (f.level === 'warning' || flags.verbose) this.log(`${args.profile}: ${f.path}: ${f.level === 'note' ? 'note: ' : ''}${f.rule}: ${f.message}`)
      if (!warnings.length) this.log(`ok ${args.profile}: no warnings${notes ? ` (${notes} note${notes > 1 ? 's' : ''} on choices the profile explains${flags.verbose ? '' : '; --verbose shows them'})` : ''}`)
    }
    if (flags.strict && warnings.length) process.exitCode = 1
    return {profile: ref.id, findings}
  }
}
