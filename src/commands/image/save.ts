import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {stateDirFlag} from '../../cli/lifecycle-flags.js'
import {usageError} from '../../errors.js'
import {saveImages, type SaveFormat} from '../../images/archive.js'
import {writeDirOutput, writeOutput} from '../../images/output.js'
import {ImageStore} from '../../images/store.js'

export default class ImageSave extends BaseCommand {
  static override summary = 'Write images to a docker save tarball or an OCI layout'
  static override description = 'The default tarball is the one Docker 25 writes: an OCI image layout with docker save\'s manifest.json beside it, read by `docker load`, `lab image load` and skopeo (docker-archive: and oci-archive:). Blobs are written as stored, so digests survive.'
  static override strict = false
  static override examples = ['lab image save -o tools.tar tools:v1 busybox', 'lab image save --format oci-dir -o layout/ tools:v1']
  static override args = {image: Args.string({required: true, description: 'image name, id or name@digest (more may follow)'})}
  static override flags = {
    output: Flags.string({char: 'o', description: 'write to FILE (a directory for oci-dir) instead of stdout', helpValue: 'FILE'}),
    format: Flags.string({options: ['docker-archive', 'oci-archive', 'oci-dir'], default: 'docker-archive', description: 'docker-archive (also a valid oci-archive), oci-archive, or oci-dir (a layout directory)'}),
    ...stateDirFlag,
  }

  async run() {
    const {argv, flags} = await this.parse(ImageSave)
    const store = new ImageStore(flags['state-dir'])
    const format = flags.format as SaveFormat
    const refs = argv as string[]
    let out
    if (format === 'oci-dir') {
      if (!flags.output) throw usageError('--format oci-dir needs -o DIR')
      out = await writeDirOutput(flags.output, (dir) => saveImages(store, refs, format, {dir}))
    } else out = await writeOutput(flags.output, 'an image archive', (w) => saveImages(store, refs, format, {stream: w}))
    return {...out, format, ...(flags.output ? {output: flags.output} : {})}
  }
}
