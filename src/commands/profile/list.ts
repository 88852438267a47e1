import {BaseCommand} from '../../base-command.js'
import {builtinNames, loadProfileRef} from '../../seccomp/profiles.js'

interface Listed {
  name: string
  description: string
  path: string | null
}

export default class ProfileList extends BaseCommand {
  static override summary = 'List the built-in seccomp profiles'
  static override examples = ['<%= config.bin %> profile list', '<%= config.bin %> profile list --json']

  async run(): Promise<{profiles: Listed[]}> {
    const profiles: Listed[] = []
    for (const n of builtinNames()) {
      const {ref, profile} = await loadProfileRef(n)
      profiles.push({name: n, description: profile.description ?? '', path: ref.path})
    }
    profiles.push({name: 'unconfined', description: 'No seccomp filter at all. An explicit choice; never the default.', path: null})
    if (!this.jsonEnabled()) for (const p of profiles) this.log(`${p.name.padEnd(24)} ${p.description}`)
    return {profiles}
  }
}
