import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {imagesInUse} from '../../images/sandbox-image.js'
import {ImageStore} from '../../images/store.js'
import {humanSize} from '../../images/view.js'

export default class ImagePrune extends BaseCommand {
  static override summary = 'Remove images without a name (with -a every image) and layers nothing uses'
  static override examples = ['lab image prune', 'lab image prune -a -f']
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'remove every image, not only untagged ones'}),
    force: Flags.boolean({char: 'f', description: 'accepted for Docker\'s scripts: lab does not ask'}),
    ...stateDirFlag,
  }

  async run() {
    const {flags} = await this.parse(ImagePrune)
    const out = await new ImageStore(flags['state-dir']).prune({all: flags.all, inUse: imagesInUse(flags['state-dir'])})
    if (!this.jsonEnabled()) {
      if (out.ImagesDeleted.length) {
        this.log('Deleted Images:')
        for (const d of out.ImagesDeleted) this.log(d.Untagged ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted}`)
        this.log('')
      }
      this.log(`Total reclaimed space: ${humanSize(out.SpaceReclaimed)}`)
    }
    return out
  }
}
