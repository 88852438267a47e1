import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {selectStep} from '../labs/cli.js'
import {loadLab} from '../labs/load.js'
import {markdownToTerminal, renderTemplate, type RenderContext} from '../labs/render.js'
import {exerciseDir} from '../labs/workdir.js'

interface ShownStep {
  number: number
  id: string
  title: string
  unavailable: string | null
  instructions: string
  exercise?: {file: string; task: string}
}

export default class Show extends BaseCommand {
  static override summary = 'Show a lab\'s instructions'
  static override examples = ['<%= config.bin %> show ch4-volumes', '<%= config.bin %> show ch4-volumes --step 2']

  static override args = {lab: Args.string({description: 'lab id or path to a lab directory', required: true})}
  static override flags = {
    step: Flags.string({description: 'show only this step (number or id)'}),
    dir: Flags.string({description: 'your work directory, as used in the instructions (default ./lab-work/ID)'}),
  }

  async run(): Promise<{lab: string; title: string; source: string; estimatedMinutes: number; workDir: string; intro?: string; steps: ShownStep[]}> {
    const {args, flags} = await this.parse(Show)
    const lab = await loadLab(args.lab)
    const workDir = exerciseDir(lab, flags.dir)
    const color = Boolean(process.stdout.isTTY) && !this.jsonEnabled() && !process.env.NO_COLOR
    const base: RenderContext = {lab: {id: lab.id, title: lab.data.title}, work: workDir, results: {}}
    const steps = flags.step ? [selectStep(lab, flags.step, false)] : lab.steps
    const out: ShownStep[] = steps.map((s) => {
      const ctx = {...base, step: {id: s.id, title: s.title, number: s.number}}
      const text = s.read ? renderTemplate(lab.templates.get(s.read)!, ctx, s.read) : ''
      return {
        number: s.number,
        id: s.id,
        title: s.title,
        unavailable: s.unavailable,
        instructions: text,
        ...(s.exercise ? {exercise: {file: s.exercise.file, task: renderTemplate(s.exercise.task, ctx, 'exercise')}} : {}),
      }
    })
    const intro = lab.data.intro && !flags.step ? renderTemplate(lab.templates.get(lab.data.intro)!, base, lab.data.intro) : undefined
    if (!this.jsonEnabled()) {
      const md: string[] = [`# ${lab.data.title}`, '', `*${lab.data.source}* — about ${lab.data.estimatedMinutes} minutes. Your work directory: \`${workDir}\`.`, '']
      if (intro) md.push(intro, '')
      for (const s of out) {
        md.push(`## Step ${s.number}: ${s.title}`, '')
        if (s.unavailable) md.push(`(unavailable: this step ${s.unavailable})`, '')
        if (s.instructions) md.push(s.instructions.trim(), '')
        if (s.exercise) md.push(`**Exercise** (write \`${s.exercise.file}\` in your work directory, then \`lab check ${lab.id} --step ${s.number}\`): ${s.exercise.task}`, '')
      }
      process.stdout.write(markdownToTerminal(md.join('\n'), color))
    }
    return {lab: lab.id, title: lab.data.title, source: lab.data.source, estimatedMinutes: lab.data.estimatedMinutes, workDir, ...(intro ? {intro} : {}), steps: out}
  }
}
