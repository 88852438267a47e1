import {BaseCommand} from '../base-command.js'
import {LabError} from '../errors.js'
import {listLabDirs, loadLab} from '../labs/load.js'
import {readProgress} from '../labs/progress.js'

export interface LabListing {
  id: string
  title?: string
  chapter?: string
  source?: string
  estimatedMinutes?: number
  steps?: number
  unavailableSteps?: number
  exercises?: number
  exercisesDone?: number
  error?: string
}

export default class List extends BaseCommand {
  static override summary = 'List the labs, with your progress on their exercises'
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> list --json']

  async run(): Promise<{labs: LabListing[]}> {
    await this.parse(List)
    const progress = readProgress()
    const labs: LabListing[] = []
    for (const dir of listLabDirs()) {
      const id = dir.split('/').pop()!
      try {
        const lab = await loadLab(dir)
        const ex = lab.steps.filter((s) => s.exercise)
        const done = ex.filter((s) => progress.labs[lab.id]?.steps[s.id]?.passed).length
        labs.push({
          id: lab.id,
          title: lab.data.title,
          chapter: lab.data.chapter,
          source: lab.data.source,
          estimatedMinutes: lab.data.estimatedMinutes,
          steps: lab.steps.length,
          unavailableSteps: lab.steps.filter((s) => s.unavailable).length,
          exercises: ex.length,
          exercisesDone: done,
        })
      } catch (e) {
        labs.push({id, error: e instanceof LabError ? e.message : String(e)})
      }
    }
    if (!this.jsonEnabled()) {
      const w = Math.max(...labs.map((l) => l.id.length), 2)
      for (const l of labs) {
        if (l.error) {
          this.log(`${l.id.padEnd(w)}  (invalid: ${l.error})`)
          continue
        }
        const done = l.exercises ? `${l.exercisesDone}/${l.exercises} exercises done` : 'walkthrough only'
        const mark = l.exercises && l.exercisesDone === l.exercises ? '✓' : ' '
        const unav = l.unavailableSteps ? `, ${l.unavailableSteps} step${l.unavailableSteps > 1 ? 's' : ''} unavailable on this engine` : ''
        this.log(`${mark} ${l.id.padEnd(w)}  ch. ${l.chapter}  ${l.title} (~${l.estimatedMinutes} min; ${done}${unav})`)
      }
      if (labs.length === 0) this.log('no labs installed')
    }
    return {labs}
  }
}
