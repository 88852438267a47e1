import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {LabError} from '../../errors.js'

export default class SandboxAttach extends BaseCommand {
  static override summary = 'Attach to a running sandbox: see its output as it comes, type into it with -i'
  static override description = `Output from now on goes to stdout and stderr (earlier output: lab sandbox logs). A sandbox started with -i takes what you type; with -t too your terminal is put in raw mode and its size passed on. The detach keys (ctrl-p ctrl-q) leave the sandbox running; otherwise attach returns when the sandbox ends for good, with its exit code. For a sandbox without a terminal, SIGINT, SIGTERM and SIGHUP are passed on to it (--sig-proxy); with one, ctrl-c is typed into it (with -i) or ends only the attach.`

  static override examples = [
    '<%= config.bin %> sandbox run -dit --name shell -- sh',
    '<%= config.bin %> sandbox attach shell',
    '<%= config.bin %> sandbox attach --no-stdin web',
  ]

  static override enableJsonFlag = false
  static override args = {sandbox: Args.string({required: true, description: 'name or id'})}
  static override flags = {
    'no-stdin': Flags.boolean({description: 'do not pass input on'}),
    'detach-keys': Flags.string({description: 'keys that detach, Docker\'s spelling (default ctrl-p,ctrl-q; "" for none)', helpValue: 'KEYS'}),
    'sig-proxy': Flags.boolean({description: 'pass SIGINT, SIGTERM and SIGHUP on to a sandbox without a terminal', default: true, allowNo: true}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(SandboxAttach)
    const lc = engine(flags)
    const rec = lc.store.get(args.sandbox)
    const raw = rec.tty === true && rec.keepStdin && !flags['no-stdin'] && process.stdin.isTTY === true
    const proxied: Array<[NodeJS.Signals, () => void]> = []
    // Docker's rule: signals are passed on to sandboxes without a terminal only
    if (flags['sig-proxy'] && rec.tty !== true) {
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        const f = () => void lc.kill(args.sandbox, sig).catch(() => {})
        process.on(sig, f)
        proxied.push([sig, f])
      }
    }
    try {
      const end = await lc.attach(args.sandbox, {stdin: process.stdin, stdout: process.stdout, stderr: process.stderr}, {noStdin: flags['no-stdin'], detachKeys: flags['detach-keys']})
      if (end.dropped) throw new LabError('attach-dropped', `detached from ${end.name}: its output came faster than this terminal took it`, {hint: `it runs on; see all of it with lab sandbox logs ${end.name}`})
      if (end.detached) {
        if (raw) process.stderr.write('\r\n')
        return
      }
      process.exitCode = end.exitCode ?? 0
    } finally {
      for (const [sig, f] of proxied) process.off(sig, f)
    }
  }
}
