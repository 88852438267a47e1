import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {usageError} from '../../errors.js'

export default class SandboxCp extends BaseCommand {
  static override summary = 'Copy files between a running sandbox and the host'
  static override description = `One side is SANDBOX:PATH, the other a local path (a local path with a colon starts with / or ./). Paths in the sandbox are resolved inside the sandbox's own root: its symlinks never lead onto the host. Directories are copied recursively; devices, fifos, sockets and symlinks pointing outside what is copied are refused. Into an existing directory the copy goes under its own name, otherwise it takes the destination's name. A failed copy out leaves the destination as it was.

With "-" as the local side, a tar archive is written to stdout (out of the sandbox) or read from stdin and unpacked into a directory that exists in the sandbox; the archive's names must be relative (a leading ./ is fine), and hard links, devices and links pointing out of their top entry are refused.`

  static override examples = [
    '<%= config.bin %> sandbox cp web:/etc/hostname ./hostname',
    '<%= config.bin %> sandbox cp ./site web:/srv',
    '<%= config.bin %> sandbox cp -L web:/etc/localtime ./localtime',
    '<%= config.bin %> sandbox cp web:/srv - | tar -t',
    'tar -C site -c . | <%= config.bin %> sandbox cp - web:/srv',
  ]

  static override args = {
    source: Args.string({required: true, description: 'SANDBOX:PATH, a local path, or - for a tar archive on stdin'}),
    destination: Args.string({required: true, description: 'a local path, - for a tar archive on stdout, or SANDBOX:PATH'}),
  }

  static override flags = {
    archive: Flags.boolean({char: 'a', description: 'keep owners: uid and gid travel with the files, as ids inside the sandbox (without it the copy belongs to the receiving side: the sandbox\'s root, or you)'}),
    'follow-link': Flags.boolean({char: 'L', description: 'follow a symlink at SOURCE itself (inside the sandbox: within its own root); links below it are copied as links'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(SandboxCp)
    if (args.destination === '-' && this.jsonEnabled()) throw usageError('--json cannot be used with - as the destination', 'the archive is written to stdout; leave out --json')
    const r = await engine(flags).copy(args.source, args.destination, {followLink: flags['follow-link'], archive: flags.archive})
    if (args.destination === '-') return r // stdout is the archive; nothing else is said, as docker cp
    if (!this.jsonEnabled()) process.stderr.write(`Successfully copied ${r.files} file${r.files === 1 ? '' : 's'} (${r.bytes} bytes) to ${r.direction === 'in' ? `${r.sandbox}:` : ''}${r.destination}\n`)
    return r
  }
}
