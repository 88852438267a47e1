import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {renderFormat} from '../../cli/format.js'
import {stateDirFlag, table} from '../../cli/lifecycle-flags.js'
import {usageError} from '../../errors.js'
import {ImageStore} from '../../images/store.js'
import {humanSize, imageRows, shortId} from '../../images/view.js'

export default class ImageLs extends BaseCommand {
  static override summary = 'List images'
  static override aliases = ['image:list']
  static override examples = ['lab image ls', 'lab image ls -q', 'lab image ls --filter dangling=true', 'lab image ls --filter reference=busybox --digests']
  static override flags = {
    quiet: Flags.boolean({char: 'q', description: 'print image ids only'}),
    'no-trunc': Flags.boolean({description: 'full image ids'}),
    digests: Flags.boolean({description: 'show manifest digests'}),
    filter: Flags.string({char: 'f', multiple: true, multipleNonGreedy: true, description: 'dangling=true|false, reference=PATTERN (* matches within a name part), label=KEY[=VALUE]', helpValue: 'KEY=VALUE'}),
    format: Flags.string({description: 'a template per row, e.g. "{{.Repository}}:{{.Tag}}"', helpValue: 'TEMPLATE'}),
    ...stateDirFlag,
  }

  async run() {
    const {flags} = await this.parse(ImageLs)
    const store = new ImageStore(flags['state-dir'])
    let rows = imageRows(store)
    for (const f of flags.filter ?? []) {
      const eq = f.indexOf('=')
      const [k, v] = eq < 0 ? [f, ''] : [f.slice(0, eq), f.slice(eq + 1)]
      if (k === 'dangling') {
        if (v !== 'true' && v !== 'false') throw usageError(`--filter dangling=${v}: give true or false`)
        rows = rows.filter((r) => (r.Tag === '<none>') === (v === 'true'))
      } else if (k === 'reference') {
        const re = new RegExp(`^${v.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/:]*')}(:.*)?$`)
        rows = rows.filter((r) => re.test(`${r.Repository}:${r.Tag}`) || re.test(r.Repository))
      } else if (k === 'label') {
        const le = v.indexOf('=')
        const [lk, lv] = le < 0 ? [v, undefined] : [v.slice(0, le), v.slice(le + 1)]
        rows = rows.filter((r) => {
          const labels = store.configOf(store.resolve(r.ID)).config?.Labels ?? {}
          return lk in labels && (lv === undefined || labels[lk] === lv)
        })
      } else throw usageError(`--filter ${k} is not supported`, 'filters: dangling=true|false, reference=PATTERN, label=KEY[=VALUE]')
    }
    if (!this.jsonEnabled()) {
      const id = (x: string) => (flags['no-trunc'] ? x : shortId(x))
      if (flags.quiet) {
        const ids = [...new Set(rows.map((r) => id(r.ID)))]
        if (ids.length) this.log(ids.join('\n'))
      } else if (flags.format) {
        const render = await renderFormat(flags.format)
        for (const r of rows) this.log(render({...r, ID: id(r.ID), Size: humanSize(r.Size)}))
      } else {
        const head = flags.digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']
        process.stdout.write(table(head, rows.map((r) => [r.Repository, r.Tag, ...(flags.digests ? [r.Digest] : []), id(r.ID), r.CreatedSince, humanSize(r.Size)])))
      }
    }
    return rows
  }
}
