import {BaseCommand} from '../../base-command.js'
import {parseRunArgv, requestFromArgv} from '../../sandbox/argv.js'
import '../../network/register.js'
import {lifecycle} from '../../sandbox/lifecycle.js'

export default class SandboxCreate extends BaseCommand {
  static override summary = 'Create a sandbox without starting it (same options as run)'
  static override examples = ['<%= config.bin %> sandbox create --name web -- python3 -m http.server 8000', '<%= config.bin %> sandbox start web']
  static override strict = false
  static override enableJsonFlag = false

  async run() {
    const argv = this.argv.filter((a) => a !== '--json')
    const json = argv.length !== this.argv.length
    const parsed = parseRunArgv(argv)
    // a created sandbox keeps stdin open when started with -i, as docker create -i
    const req = {...requestFromArgv(parsed), interactive: parsed.flags.interactive === true, keep: undefined}
    const rec = await lifecycle({stateDir: parsed.flags['state-dir'] as string | undefined}).create(req)
    this.log(json ? JSON.stringify({id: rec.id, name: rec.name}, null, 2) : rec.id)
    return {id: rec.id, name: rec.name}
  }
}
