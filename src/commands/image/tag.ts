import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {ImageStore} from '../../images/store.js'

export default class ImageTag extends BaseCommand {
  static override summary = 'Give an image another name (TARGET refers to SOURCE)'
  static override examples = ['lab image tag busybox:latest localhost:5000/tools/busybox:1.36', 'lab image tag 3f57d9401f8d app:v2']
  static override args = {
    source: Args.string({required: true, description: 'image name, id or name@digest'}),
    target: Args.string({required: true, description: 'new NAME[:TAG]'}),
  }
  static override flags = {...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(ImageTag)
    return new ImageStore(flags['state-dir']).tag(args.source, args.target)
  }
}
