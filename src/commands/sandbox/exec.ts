import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {usageError} from '../../errors.js'

export default class SandboxExec extends BaseCommand {
  static override summary = 'Run a command in a running sandbox, with the same hardening as the sandbox'
  static override examples = ['<%= config.bin %> sandbox exec web ls /', '<%= config.bin %> sandbox exec -u 1000 -e DEBUG=1 -w /tmp web sh -c "id; pwd"']
  static override strict = false
  static override flags = {
    interactive: Flags.boolean({char: 'i', description: 'keep stdin open'}),
    tty: Flags.boolean({char: 't', description: 'allocate a pseudo-terminal (from the sandbox\'s devpts); with -i it is relayed in raw mode'}),
    detach: Flags.boolean({char: 'd', description: 'run the command in the background; print its pid'}),
    user: Flags.string({char: 'u', description: 'run as this user', helpValue: 'UID[:GID]|NAME'}),
    env: Flags.string({char: 'e', multiple: true, description: 'set an environment variable', helpValue: 'KEY=VALUE'}),
    workdir: Flags.string({char: 'w', description: 'working directory inside the sandbox', helpValue: 'DIR'}),
    ...stateDirFlag,
  }

  async run() {
    // Options end at the sandbox's name, as with docker exec.
    const raw = this.argv
    const firstArg = raw.findIndex((a, i) => !a.startsWith('-') && !['-u', '--user', '-e', '--env', '-w', '--workdir', '--state-dir'].includes(raw[i - 1] ?? ''))
    if (firstArg < 0) throw usageError('no sandbox given', 'usage: lab sandbox exec [OPTIONS] SANDBOX COMMAND [ARG...]')
    const optArgv = raw.slice(0, firstArg).filter((a) => a !== '--')
    const [ref, ...command] = raw.slice(firstArg)
    const {flags} = await this.parse({flags: SandboxExec.flags, enableJsonFlag: true, strict: true, args: {}}, optArgv)
    const json = this.jsonEnabled()
    const cmd = command[0] === '--' ? command.slice(1) : command
    if (flags.detach) {
      if (flags.interactive) throw usageError('-i cannot be used with -d', 'a background command has no stdin to keep open: leave out -i')
      const r = await engine(flags).execDetached(ref, cmd, {user: flags.user, env: flags.env, workdir: flags.workdir, tty: flags.tty})
      if (!json) this.log(String(r.pid))
      return r
    }
    const result = await engine(flags).exec(ref, cmd, {
      user: flags.user,
      env: flags.env,
      workdir: flags.workdir,
      interactive: flags.interactive,
      tty: flags.tty,
      stdio: json ? 'pipe' : 'inherit',
    })
    if (!json && result.error) process.stderr.write(`lab: exec in ${ref} failed at ${result.error.stage}: ${result.error.message}${result.error.hint ? ` (${result.error.hint})` : ''}\n`)
    process.exitCode = result.exitCode
    return result
  }
}
