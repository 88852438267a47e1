import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {exportImage} from '../../images/archive.js'
import {writeOutput} from '../../images/output.js'
import {ImageStore} from '../../images/store.js'

export default class ImageExport extends BaseCommand {
  static override summary = 'Write an image\'s file system, its layers merged, as one tarball'
  static override examples = ['lab image export -o rootfs.tar busybox', 'lab image export app:v1 | tar -t']
  static override args = {image: Args.string({required: true, description: 'image name, id or name@digest'})}
  static override flags = {output: Flags.string({char: 'o', description: 'write to FILE instead of stdout', helpValue: 'FILE'}), ...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(ImageExport)
    const store = new ImageStore(flags['state-dir'])
    const img = store.resolve(args.image)
    const out = await writeOutput(flags.output, 'a tar archive', (w) => exportImage(store, img, w))
    return {id: img.id, entries: out.entries, ...(flags.output ? {output: flags.output} : {})}
  }
}
