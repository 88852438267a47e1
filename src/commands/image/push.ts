import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {Progress} from '../../images/progress.js'
import {pushImage} from '../../images/push.js'
import {ImageStore} from '../../images/store.js'
import {registryFlags} from './pull.js'

export default class ImagePush extends BaseCommand {
  static override summary = 'Upload an image to a registry under its name'
  static override examples = ['lab image tag tools:v1 127.0.0.1:5000/course/tools:v1 && lab image push 127.0.0.1:5000/course/tools:v1']
  static override args = {image: Args.string({required: true, description: 'REGISTRY/NAME[:TAG] (tag the image with it first)'})}
  static override flags = {quiet: Flags.boolean({char: 'q', description: 'no progress'}), ...registryFlags, ...stateDirFlag}

  async run() {
    const {args, flags} = await this.parse(ImagePush)
    const store = new ImageStore(flags['state-dir'])
    const quiet = this.jsonEnabled() || flags.quiet
    return pushImage(store, args.image, {stateDir: flags['state-dir'], insecure: flags['insecure-registry'], progress: new Progress(quiet ? null : process.stdout)})
  }
}
