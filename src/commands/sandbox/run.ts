import {Command, Flags} from '@oclif/core'

import {sandboxRun} from '../../cli/sandbox-run.js'
import {RUN_FLAGS} from '../../sandbox/argv.js'

// Help is built from the same table the Docker-style parser reads.
const flags = Object.fromEntries(
  RUN_FLAGS.map((f) => {
    const common = {char: f.char as never, description: f.description, aliases: f.aliases, helpValue: f.helpValue}
    if (f.kind === 'boolean') return [f.name, Flags.boolean({...common, default: f.default ?? false} as Parameters<typeof Flags.boolean>[0])]
    return [f.name, Flags.string({...common, multiple: f.kind === 'multiple'} as Parameters<typeof Flags.string>[0])]
  }),
)

export default class SandboxRun extends Command {
  static override summary = 'Run a command in a new hardened sandbox'
  static override description = `Every protection is on by default: new pid, mount, uts, ipc, net and cgroup namespaces; a read-only root of the host's system directories (or --rootfs); masked /proc paths; read-only /sys; a minimal /dev; a size-capped /tmp; no capabilities; no_new_privs; no network but loopback; a clean environment.

Options end at the first argument that is not an option, as with docker run. Exit codes: the command's own, 128+N when killed by signal N, 125 when the sandbox could not be set up, 126 when the command cannot be executed, 127 when it is not found.`

  static override examples = [
    '<%= config.bin %> sandbox run -- echo hello',
    '<%= config.bin %> sandbox run -v "$PWD/data:/data:ro" -w /data -- ls -l',
    '<%= config.bin %> sandbox run --userns=host --cap-add NET_RAW --network host -- ping -c1 127.0.0.1',
    '<%= config.bin %> sandbox run --json -- sh -c "exit 3"',
  ]

  static override strict = false
  static override flags = flags

  async run(): Promise<void> {
    const code = await sandboxRun(this.argv)
    if (code === 'help') {
      const {loadHelpClass} = await import('@oclif/core')
      const Help = await loadHelpClass(this.config)
      await new Help(this.config).showHelp(['sandbox:run'])
      return
    }
    process.exitCode = code
  }
}
