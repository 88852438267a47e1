import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {profileProblems, readProfileText, type ProfileProblem} from '../../seccomp/load.js'
import {findProfile} from '../../seccomp/profiles.js'

export default class ProfileValidate extends BaseCommand {
  static override summary = 'Check a seccomp profile (Docker format): the schema, then its meaning'
  static override description = 'Prints every problem with its JSON path and exits 1 when there is any. Accepts everything Docker accepts (args: null, missing keys, the legacy "name", old arch spellings like amd64 and x32).'
  static override examples = ['<%= config.bin %> profile validate my-profile.json', '<%= config.bin %> profile validate default --json']
  static override args = {profile: Args.string({description: 'a profile file or a built-in name', required: true})}

  async run(): Promise<{profile: string; valid: boolean; problems: ProfileProblem[]}> {
    const {args} = await this.parse(ProfileValidate)
    const ref = findProfile(args.profile)
    const {problems} = await profileProblems(readProfileText(ref.path))
    const valid = problems.length === 0
    if (!this.jsonEnabled()) {
      if (valid) this.log(`ok ${args.profile}`)
      for (const p of problems) process.stderr.write(`${args.profile}: ${p.path}: ${p.message}\n`)
    }
    if (!valid) process.exitCode = 1
    return {profile: ref.id, valid, problems}
  }
}
