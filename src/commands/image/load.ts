import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {loadImages} from '../../images/archive.js'
import {openInput} from '../../images/output.js'
import {ImageStore} from '../../images/store.js'

export default class ImageLoad extends BaseCommand {
  static override summary = 'Load images from a docker save tarball, an oci-archive or an OCI layout directory'
  static override examples = ['lab image load -i tools.tar', 'docker save busybox | lab image load', 'lab image load -i layout/']
  static override flags = {
    input: Flags.string({char: 'i', description: 'read FILE (or an OCI layout directory) instead of stdin', helpValue: 'FILE'}),
    quiet: Flags.boolean({char: 'q', description: 'print nothing'}),
    ...stateDirFlag,
  }

  async run() {
    const {flags} = await this.parse(ImageLoad)
    const store = new ImageStore(flags['state-dir'])
    const out = await loadImages(store, openInput(flags.input, 'the image archive'))
    if (!this.jsonEnabled() && !flags.quiet) {
      for (const i of out.images) {
        if (i.tags.length) for (const t of i.tags) this.log(`Loaded image: ${t}`)
        else this.log(`Loaded image ID: ${i.id}`)
      }
    }
    return out
  }
}
