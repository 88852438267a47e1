import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag} from '../../cli/lifecycle-flags.js'
import {LabError} from '../../errors.js'
import {hostText} from '../../network/ports.js'

export default class SandboxPort extends BaseCommand {
  static override summary = 'List a sandbox\'s published ports, or the host address of one (PORT[/udp])'
  static override examples = ['<%= config.bin %> sandbox port web', '<%= config.bin %> sandbox port web 80/tcp']
  static override args = {sandbox: Args.string({required: true, description: 'sandbox name or id'}), port: Args.string({description: 'PORT[/tcp|/udp]'})}
  static override flags = {...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(SandboxPort)
    const rec = engine(flags).store.get(args.sandbox)
    let ports = (rec.spec.bridge?.ports ?? rec.spec.pasta?.ports ?? []).map((p) => ({port: `${p.port}/${p.proto}`, hostIp: p.hostIp, hostPort: p.hostPort}))
    if (args.port !== undefined) {
      const want = args.port.includes('/') ? args.port.toLowerCase() : `${args.port}/tcp`
      ports = ports.filter((p) => p.port === want)
      if (!ports.length) throw new LabError('no-such-port', `sandbox ${rec.name} does not publish ${want}`, {hint: `see lab sandbox port ${rec.name}`, exitCode: 1})
    }
    if (!this.jsonEnabled()) {
      // as Docker prints them: 80/tcp -> 0.0.0.0:8080, 80/tcp -> [::]:8080
      for (const p of ports) this.log(args.port === undefined ? `${p.port} -> ${hostText(p.hostIp)}:${p.hostPort}` : `${hostText(p.hostIp)}:${p.hostPort}`)
    }
    return ports
  }
}
