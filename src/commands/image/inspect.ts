import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {printInspected} from '../../cli/format.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {ImageStore} from '../../images/store.js'
import {inspectImage} from '../../images/view.js'

export default class ImageInspect extends BaseCommand {
  static override summary = 'Show images in detail (Docker\'s fields)'
  static override strict = false
  static override examples = ['lab image inspect busybox', 'lab image inspect --format \'{{json .Config.Cmd}}\' app:v1']
  static override args = {image: Args.string({required: true, description: 'image name, id or name@digest (more may follow)'})}
  static override flags = {format: Flags.string({char: 'f', description: 'a template, e.g. {{.Id}} or {{json .Config}}', helpValue: 'TEMPLATE'}), ...stateDirFlag}

  async run() {
    const {argv, flags} = await this.parse(ImageInspect)
    const store = new ImageStore(flags['state-dir'])
    const out = (argv as string[]).map((r) => inspectImage(store, store.resolve(r)))
    if (!this.jsonEnabled()) await printInspected((l) => this.log(l), out, flags.format)
    return out
  }
}
