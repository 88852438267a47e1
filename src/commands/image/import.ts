import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {usageError} from '../../errors.js'
import {importImage} from '../../images/archive.js'
import {openInput} from '../../images/output.js'
import {ImageStore} from '../../images/store.js'

export default class ImageImport extends BaseCommand {
  static override summary = 'Make a one-layer image from a tarball of a file system (plain or gzip)'
  static override examples = [
    'tar -C rootfs -c . | lab image import - tools:v1',
    'lab image import --change \'CMD ["/bin/sh"]\' --change \'ENV PATH=/bin\' rootfs.tar tools:v2',
  ]
  static override args = {
    file: Args.string({required: true, description: 'the tarball, or - for stdin'}),
    reference: Args.string({description: 'REPOSITORY[:TAG] to name it'}),
  }
  static override flags = {
    change: Flags.string({char: 'c', multiple: true, multipleNonGreedy: true, description: 'a Dockerfile instruction to apply: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR', helpValue: 'INSTRUCTION'}),
    message: Flags.string({char: 'm', description: 'a comment for the image\'s history'}),
    platform: Flags.string({description: 'os/arch the file system is for (default: this machine\'s)', helpValue: 'OS/ARCH'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(ImageImport)
    let platform
    if (flags.platform) {
      const m = /^([a-z0-9]+)\/([a-z0-9_]+)$/.exec(flags.platform)
      if (!m) throw usageError(`--platform ${flags.platform} is not OS/ARCH`, 'e.g. --platform linux/amd64')
      platform = {os: m[1], architecture: m[2]}
    }
    const input = openInput(args.file, 'the tarball')
    if (input.dir) throw usageError(`${args.file} is a directory`, `import takes a tarball: tar -C ${args.file} -c . | lab image import - NAME`)
    const store = new ImageStore(flags['state-dir'])
    const img = await importImage(store, input.stream!, {tags: args.reference ? [args.reference] : [], changes: flags.change, message: flags.message, source: input.name, platform})
    if (!this.jsonEnabled()) this.log(img.id)
    return {id: img.id}
  }
}
