import {BaseCommand} from '../../base-command.js'
import {parseRunArgv} from '../../cli/run-flags.js'
import {requestFromParsed} from '../../cli/sandbox-run.js'
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
    const rec = await lifecycle({stateDir: parsed.flags['state-dir'] as string | undefined}).create({...requestFromParsed(parsed), restart: parsed.flags.restart as string | undefined, autoRemove: parsed.flags.rm as boolean, interactive: parsed.flags.interactive as boolean, volumesFrom: parsed.flags['volumes-from'] as string[] | undefined, ipc: parsed.flags.ipc as string | undefined, pid: parsed.flags.pid as string | undefined, tty: parsed.flags.tty as boolean, logOpts: parsed.flags['log-opt'] as string[] | undefined})
    this.log(json ? JSON.stringify({id: rec.id, name: rec.name}, null, 2) : rec.id)
    return {id: rec.id, name: rec.name}
  }
}
