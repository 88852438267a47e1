import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../errors.js'
import {explainSyscall, type Explanation} from '../../seccomp/explain.js'
import {syscallTables} from '../../seccomp/host.js'
import {loadProfileRef} from '../../seccomp/profiles.js'
import {describeAction, hostContext} from '../../seccomp/resolve.js'

export default class ProfileExplain extends BaseCommand {
  static override summary = 'Explain what a profile does to one syscall, and why'
  static override description = 'For each ABI of this host: the entries naming the syscall, whether each applies (capabilities, arch, kernel), the rule that decides, and what the compiled filter answers for all-zero arguments. Unless the default action allows (or is ENOSYS), a syscall numbered above every one the profile names fails with ENOSYS, as under runc and crun, and the explanation names that newest syscall.'
  static override examples = ['<%= config.bin %> profile explain default clone3', '<%= config.bin %> profile explain default chroot --cap SYS_CHROOT', '<%= config.bin %> profile explain strict socket --json']
  static override args = {
    profile: Args.string({description: 'a profile file or a built-in name', required: true}),
    syscall: Args.string({description: 'the syscall name, e.g. clone3', required: true}),
  }
  static override flags = {cap: Flags.string({description: 'a capability the sandbox keeps', multiple: true})}

  async run(): Promise<{profile: string} & Explanation> {
    const {args, flags} = await this.parse(ProfileExplain)
    const tables = await syscallTables()
    if (!Object.values(tables.arches).some((t) => t.syscalls[args.syscall] !== undefined)) {
      throw usageError(`"${args.syscall}" is not a syscall on this host (libseccomp ${tables.libseccomp})`, 'use the kernel\'s name, e.g. openat, clone3, socket')
    }
    const {ref, profile} = await loadProfileRef(args.profile)
    const e = await explainSyscall(profile, args.syscall, hostContext(flags.cap ?? []), tables)
    if (!this.jsonEnabled()) {
      for (const a of e.arches) {
        this.log(`${a.arch}${a.number === null ? '' : ` (${a.number})`}: ${a.outcome}`)
        if (a.filterSaysForZeroArgs) this.log(`  compiled filter, all arguments 0: ${describeAction(a.filterSaysForZeroArgs)}`)
        if (a.enosysAbove) this.log(`  any syscall numbered above ${a.enosysAbove.number} (${a.enosysAbove.name}, the newest the profile names) fails with ENOSYS`)
      }
      for (const en of e.entries) {
        this.log(`${en.path}: ${describeAction(en.action)}${en.conditions.length ? ` when ${en.conditions.join(' and ')}` : ''}${en.applies ? '' : ` — does not apply: ${en.reason}`}${en.comment ? ` — ${en.comment}` : ''}`)
      }
    }
    return {profile: ref.id, ...e}
  }
}
