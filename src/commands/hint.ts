import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {selectStep} from '../labs/cli.js'
import {loadLab} from '../labs/load.js'
import {labProgress} from '../labs/progress.js'
import {renderTemplate} from '../labs/render.js'
import {exerciseDir} from '../labs/workdir.js'

interface HintData {
  lab: string
  step: {number: number; id: string; title: string} | null
  task?: string
  /** from the last `lab check`: the checks that failed, with their hints */
  failed: Array<{check: string; detail?: string; hint?: string}>
  /** every hint of the step (before a first check) */
  hints: string[]
  done: boolean
}

export default class Hint extends BaseCommand {
  static override summary = 'Show hints for the next unfinished exercise of a lab (or a given step)'
  static override examples = ['<%= config.bin %> hint ch4-volumes', '<%= config.bin %> hint ch4-volumes --step 2']

  static override args = {lab: Args.string({description: 'lab id or path to a lab directory', required: true})}
  static override flags = {step: Flags.string({description: 'the step (number or id)'})}

  async run(): Promise<HintData> {
    const {args, flags} = await this.parse(Hint)
    const lab = await loadLab(args.lab)
    const progress = labProgress(lab.id)
    const step = flags.step ? selectStep(lab, flags.step, true) : lab.steps.find((s) => s.exercise && !progress?.steps[s.id]?.passed)
    if (!step) {
      if (!this.jsonEnabled()) this.log(`every exercise of ${lab.id} passes: nothing to hint. Try \`lab run ${lab.id}\` to see the whole walkthrough.`)
      return {lab: lab.id, step: null, failed: [], hints: [], done: true}
    }
    const ctx = {lab: {id: lab.id, title: lab.data.title}, work: progress?.workDir ?? exerciseDir(lab), step: {id: step.id, title: step.title, number: step.number}, results: {}}
    const task = step.exercise ? renderTemplate(step.exercise.task, ctx, 'exercise') : undefined
    const last = progress?.steps[step.id]
    const failed = last && !last.passed ? last.failed : []
    const hints = (step.checks ?? []).filter((c) => c.hint).map((c) => `${c.name}: ${c.hint}`)
    if (!this.jsonEnabled()) {
      this.log(`step ${step.number} (${step.id}): ${step.title}`)
      if (task) this.log(`task: ${task}`)
      if (failed.length) {
        this.log(`your last \`lab check\` (${last!.at}) failed:`)
        for (const f of failed) this.log(`  ✗ ${f.check}${f.detail ? `: ${f.detail}` : ''}${f.hint ? `\n      hint: ${f.hint}` : ''}`)
      } else {
        this.log(last?.passed ? 'this step passed already; its hints:' : 'not checked yet; hints for its checks:')
        for (const h of hints) this.log(`  • ${h}`)
      }
    }
    return {lab: lab.id, step: {number: step.number, id: step.id, title: step.title}, ...(task ? {task} : {}), failed, hints, done: false}
  }
}
