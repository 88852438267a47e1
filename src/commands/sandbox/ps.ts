import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {engine, stateDirFlag, table} from '../../cli/lifecycle-flags.js'
import {usageError} from '../../errors.js'
import {psRow} from '../../cli/views.js'
import type {SandboxSummary} from '../../sandbox/lifecycle.js'

const FILTERS = ['id', 'name', 'status', 'exited']

export default class SandboxPs extends BaseCommand {
  static override summary = 'List sandboxes'
  static override examples = ['<%= config.bin %> sandbox ps -a', '<%= config.bin %> sandbox ps -q --filter status=exited', '<%= config.bin %> sandbox ps --filter name=web --no-trunc']
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'show every sandbox (default: running ones)'}),
    quiet: Flags.boolean({char: 'q', description: 'print ids only'}),
    'no-trunc': Flags.boolean({description: 'do not shorten ids and commands'}),
    filter: Flags.string({char: 'f', multiple: true, description: 'id=PREFIX, name=SUBSTRING, status=created|running|paused|restarting|exited, exited=CODE', helpValue: 'KEY=VALUE'}),
    ...stateDirFlag,
  }

  async run(): Promise<Array<SandboxSummary & {status: string}>> {
    const {flags} = await this.parse(SandboxPs)
    const filters = (flags.filter ?? []).map((f) => {
      const eq = f.indexOf('=')
      const key = f.slice(0, eq)
      if (eq <= 0 || !FILTERS.includes(key)) throw usageError(`invalid --filter "${f}"`, `use KEY=VALUE with KEY one of ${FILTERS.join(', ')}`)
      return {key, value: f.slice(eq + 1)}
    })
    const all = flags.all || filters.some((f) => f.key === 'status' || f.key === 'exited')
    const rows = engine(flags)
      .list({all})
      .filter((s) =>
        filters.every(({key, value}) =>
          key === 'id' ? s.id.startsWith(value)
          : key === 'name' ? s.name.includes(value)
          : key === 'status' ? s.state.status === value
          : s.state.status === 'exited' && String(s.state.exitCode) === value,
        ),
      )
      .map(psRow)
    if (!this.jsonEnabled()) {
      const id = (x: string) => (flags['no-trunc'] ? x : x.slice(0, 12))
      if (flags.quiet) this.log(rows.map((r) => id(r.id)).join('\n'))
      else {
        const cmd = (c: string) => JSON.stringify(flags['no-trunc'] || c.length <= 20 ? c : c.slice(0, 19) + '…')
        process.stdout.write(table(['SANDBOX ID', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], rows.map((r) => [id(r.id), cmd(r.command), r.created.replace('T', ' ').slice(0, 19), r.status, r.name])))
      }
    }
    return rows
  }
}
