import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {renderFormat} from '../../cli/format.js'
import {stateDirFlag, table} from '../../cli/lifecycle-flags.js'
import {ImageStore} from '../../images/store.js'
import {historyRows, humanSize, shortId} from '../../images/view.js'

export default class ImageHistory extends BaseCommand {
  static override summary = 'Show how an image was made, newest layer first'
  static override examples = ['lab image history busybox', 'lab image history --no-trunc --format \'{{.CreatedBy}}\' app:v1']
  static override args = {image: Args.string({required: true, description: 'image name, id or name@digest'})}
  static override flags = {
    human: Flags.boolean({char: 'H', default: true, allowNo: true, description: 'sizes and dates for humans (--no-human: bytes and RFC 3339)'}),
    'no-trunc': Flags.boolean({description: 'do not shorten ids and commands'}),
    quiet: Flags.boolean({char: 'q', description: 'image ids only'}),
    format: Flags.string({description: 'a template per row, e.g. "{{.CreatedBy}}"', helpValue: 'TEMPLATE'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(ImageHistory)
    const store = new ImageStore(flags['state-dir'])
    const rows = historyRows(store, store.resolve(args.image))
    if (!this.jsonEnabled()) {
      const id = (x: string) => (x === '<missing>' || flags['no-trunc'] ? x : shortId(x))
      const by = (s: string) => (flags['no-trunc'] || s.length <= 45 ? s : `${s.slice(0, 44)}…`)
      if (flags.quiet) this.log(rows.map((r) => id(r.ID)).join('\n'))
      else if (flags.format) {
        const render = await renderFormat(flags.format)
        for (const r of rows) this.log(render({...r, ID: id(r.ID), Size: flags.human ? humanSize(r.Size) : String(r.Size)}))
      } else {
        process.stdout.write(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows.map((r) => [id(r.ID), flags.human ? r.CreatedSince : r.CreatedAt, by(r.CreatedBy), flags.human ? humanSize(r.Size) : String(r.Size), r.Comment])))
      }
    }
    return rows
  }
}
