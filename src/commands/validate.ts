import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {LabError} from '../errors.js'
import {LabFormatError, listLabDirs, loadLab} from '../labs/load.js'

interface Validation {
  path: string
  id?: string
  valid: boolean
  problems: string[]
  unavailableSteps: Array<{step: number; id: string; reason: string}>
}

export default class Validate extends BaseCommand {
  static override summary = 'Check labs: the schema, then their meaning (references, templates, run arguments, safe fixture paths)'
  static override description = 'Prints one line per problem: the file, the line and the JSON path. With no argument, checks every installed lab.'
  static override examples = ['<%= config.bin %> validate labs/my-lab', '<%= config.bin %> validate', '<%= config.bin %> validate labs/my-lab --json']

  static override strict = false
  static override args = {path: Args.string({description: 'lab directories (or ids); default: every installed lab'})}

  async run(): Promise<{valid: boolean; labs: Validation[]}> {
    const {argv} = await this.parse(Validate)
    const targets = (argv as string[]).length ? (argv as string[]) : listLabDirs()
    const labs: Validation[] = []
    for (const t of targets) {
      try {
        const lab = await loadLab(t)
        labs.push({path: t, id: lab.id, valid: true, problems: [], unavailableSteps: lab.steps.filter((s) => s.unavailable).map((s) => ({step: s.number, id: s.id, reason: s.unavailable!}))})
      } catch (e) {
        if (e instanceof LabFormatError) labs.push({path: t, valid: false, problems: e.problems, unavailableSteps: []})
        else if (e instanceof LabError) labs.push({path: t, valid: false, problems: [e.message], unavailableSteps: []})
        else throw e
      }
    }
    const valid = labs.every((l) => l.valid)
    if (!this.jsonEnabled()) {
      for (const l of labs) {
        if (l.valid) {
          this.log(`ok ${l.path}${l.unavailableSteps.length ? ` (${l.unavailableSteps.length} step${l.unavailableSteps.length > 1 ? 's' : ''} unavailable on this engine: ${l.unavailableSteps.map((s) => s.id).join(', ')})` : ''}`)
        } else for (const p of l.problems) process.stderr.write(`lab: ${p}\n`)
      }
    }
    if (!valid) process.exitCode = 1
    return {valid, labs}
  }
}
