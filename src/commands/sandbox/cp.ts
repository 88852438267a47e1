import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'

export default class SandboxCp extends BaseCommand {
  static override summary = 'Copy files between a running sandbox and the host'
  static override description = `One side is SANDBOX:PATH, the other a local path (a local path with a colon starts with / or ./). Paths in the sandbox are resolved inside the sandbox's own root: its symlinks never lead onto the host. Directories are copied recursively; devices, fifos, sockets and symlinks pointing outside what is copied are refused. Into an existing directory the copy goes under its own name, otherwise it takes the destination's name. A failed copy out leaves the destination as it was.`

  static override examples = [
    '<%= config.bin %> sandbox cp web:/etc/hostname ./hostname',
    '<%= config.bin %> sandbox cp ./site web:/srv',
    '<%= config.bin %> sandbox cp -L web:/etc/localtime ./localtime',
  ]

  static override args = {
    source: Args.string({required: true, description: 'SANDBOX:PATH or a local path'}),
    destination: Args.string({required: true, description: 'a local path or SANDBOX:PATH'}),
  }

  static override flags = {
    archive: Flags.boolean({char: 'a', description: 'keep owners: uid and gid travel with the files, as ids inside the sandbox (without it the copy belongs to the receiving side: the sandbox\'s root, or you)'}),
    'follow-link': Flags.boolean({char: 'L', description: 'follow a symlink at SOURCE itself (inside the sandbox: within its own root); links below it are copied as links'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(SandboxCp)
    const r = await engine(flags).copy(args.source, args.destination, {followLink: flags['follow-link'], archive: flags.archive})
    if (!this.jsonEnabled()) process.stderr.write(`Successfully copied ${r.files} file${r.files === 1 ? '' : 's'} (${r.bytes} bytes) to ${r.direction === 'in' ? `${r.sandbox}:` : ''}${r.destination}\n`)
    return r
  }
}
