import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {pullCommand} from '../../cli/image-pull.js'

export const registryFlags = {
  'insecure-registry': Flags.string({multiple: true, multipleNonGreedy: true, description: 'allow plain HTTP to this registry (host[:port]); loopback registries are allowed without it (env LAB_INSECURE_REGISTRIES, comma-separated)', helpValue: 'HOST'}),
}

export default class ImagePull extends BaseCommand {
  static override summary = 'Fetch an image from a registry, by tag or by digest'
  static override examples = [
    'lab image pull busybox:1.36',
    'lab image pull 127.0.0.1:5000/course/tools:v1',
    'lab image pull --platform linux/arm64 alpine@sha256:…',
  ]
  static override args = {image: Args.string({required: true, description: 'NAME[:TAG] or NAME@sha256:DIGEST'})}
  static override flags = {
    platform: Flags.string({description: 'os/arch[/variant] to take from a multi-platform image (default: this machine\'s)', helpValue: 'OS/ARCH'}),
    'registry-mirror': Flags.string({description: 'a registry to try first for docker.io images (env LAB_REGISTRY_MIRROR)', helpValue: 'HOST[:PORT]'}),
    quiet: Flags.boolean({char: 'q', description: 'no progress, only the reference'}),
    ...registryFlags,
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(ImagePull)
    return pullCommand(args.image, flags, this.jsonEnabled(), (l) => this.log(l))
  }
}
