import {writeFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {EXIT, LabError, usageError} from '../../errors.js'
import {recordProfile} from '../../seccomp/record.js'
import type {SeccompProfile} from '../../seccomp/schema.js'

export default class ProfileRecord extends BaseCommand {
  static override summary = 'Run a command in a sandbox and write the minimal seccomp profile it needs'
  static override description = `The command runs in a hardened sandbox without a filter while a recorder notes every syscall it and its children make (seccomp user notification, Linux 5.5+), then the profile allows exactly those and denies the rest with EPERM.

Limits: only what this run does is seen, so exercise every path (inputs, errors, signals); arguments are not recorded, so each call is allowed whole, except clone, clone3, socket and personality, which keep the default profile's argument rules; calls run much slower while recorded; the recorder is PID 1 of the sandbox. A command that fails writes no profile (exit 1). See docs/seccomp.md.`
  static override examples = ['<%= config.bin %> profile record -o app.json -v "$PWD:/src" -w /src -- python3 app.py', '<%= config.bin %> sandbox run --security-opt seccomp=app.json -- python3 app.py']
  static override strict = false
  static override flags = {
    output: Flags.string({char: 'o', description: 'write the profile here (default: print it)'}),
    volume: Flags.string({char: 'v', description: 'bind a host directory, as in sandbox run', multiple: true}),
    workdir: Flags.string({char: 'w', description: 'working directory inside the sandbox'}),
    env: Flags.string({char: 'e', description: 'set an environment variable', multiple: true}),
    'cap-add': Flags.string({description: 'keep a capability', multiple: true}),
    network: Flags.string({description: 'none (default) or host'}),
    timeout: Flags.string({description: 'wall-clock limit, e.g. 30s'}),
  }

  async run(): Promise<{output: string | null; exitCode: number; syscalls: number; dangerous: string[]; seen: Record<string, string[]>; profile: SeccompProfile}> {
    const {flags, argv} = await this.parse(ProfileRecord)
    const command = argv as string[]
    if (!command.length) throw usageError('no command to record', 'put it after --, e.g. lab profile record -o app.json -- python3 app.py')
    const r = await recordProfile(command, {capAdd: flags['cap-add'], volumes: flags.volume, workdir: flags.workdir, env: flags.env, network: flags.network, timeout: flags.timeout, stdio: this.jsonEnabled() || !flags.output ? 'pipe' : 'inherit'})
    const text = JSON.stringify(r.profile, null, 2) + '\n'
    const count = new Set(Object.values(r.seen).flat()).size
    // a failed run shows only the way to its failure: its profile would break the real run
    if (r.exitCode !== 0) {
      throw new LabError('record-command-failed', `the command exited with ${r.exitCode} while recorded, so no profile was written: a failed run misses what a successful one needs`, {
        hint: 'make the command succeed in the sandbox first; it starts in / and sees none of your files unless you bind them, e.g. lab profile record -o app.json -v "$PWD:/src" -w /src -- python3 app.py',
        exitCode: EXIT.FAILED,
      })
    }
    if (flags.output) writeFileSync(flags.output, text)
    if (!this.jsonEnabled()) {
      if (!flags.output) process.stdout.write(text)
      process.stderr.write(`lab: recorded ${count} distinct syscalls; the command exited with ${r.exitCode}${flags.output ? `; profile written to ${flags.output}` : ''}\n`)
      if (r.dangerous.length) process.stderr.write(`lab: warning: the command used ${r.dangerous.join(', ')}; the profile allows them (see \`lab profile lint\`)\n`)
    }
    return {output: flags.output ?? null, exitCode: r.exitCode, syscalls: count, dangerous: r.dangerous, seen: r.seen, profile: r.profile}
  }
}
