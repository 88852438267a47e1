import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {imagesInUse} from '../../images/sandbox-image.js'
import {ImageStore} from '../../images/store.js'

export default class ImageRm extends BaseCommand {
  static override summary = 'Remove images (by tag: untag; the image goes with its last name)'
  static override aliases = ['image:remove']
  static override strict = false
  static override examples = ['lab image rm app:v1', 'lab image rm -f 3f57d9401f8d']
  static override args = {image: Args.string({required: true, description: 'image name, id or name@digest (more may follow)'})}
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'remove an image by id even when several tags name it'}),
    'no-prune': Flags.boolean({description: 'keep layers no image uses any more'}),
    ...stateDirFlag,
  }

  async run() {
    const {argv, flags} = await this.parse(ImageRm)
    const store = new ImageStore(flags['state-dir'])
    const out: Array<{Untagged?: string; Deleted?: string}> = []
    const inUse = imagesInUse(flags['state-dir'])
    for (const r of argv as string[]) {
      const done = await store.remove(r, {force: flags.force, noPrune: flags['no-prune'], inUse})
      out.push(...done)
      if (!this.jsonEnabled()) for (const d of done) this.log(d.Untagged ? `Untagged: ${d.Untagged}` : `Deleted: ${d.Deleted}`)
    }
    return out
  }
}
