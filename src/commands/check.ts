import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {chooseReporter, exitCodeFor, selectStep} from '../labs/cli.js'
import {loadLab} from '../labs/load.js'
import {recordSteps, type StepProgress} from '../labs/progress.js'
import {runLab, type LabOutcome} from '../labs/runner.js'
import {ensureExerciseDir, exerciseDir} from '../labs/workdir.js'

export default class Check extends BaseCommand {
  static override summary = 'Check your answers to a lab\'s exercises and record your progress'
  static override description = `Runs the exercise steps against your work directory (default ./lab-work/ID, created from the lab's starting files the first time), shows a hint for every check that fails, and records which steps pass (see \`lab list\`, \`lab hint\`).`

  static override examples = ['<%= config.bin %> check ch4-volumes', '<%= config.bin %> check ch4-volumes --step 2', '<%= config.bin %> check ch4-volumes --dir ~/course/ch4']

  static override args = {lab: Args.string({description: 'lab id or path to a lab directory', required: true})}
  static override flags = {
    step: Flags.string({description: 'check only this step (number or id)'}),
    dir: Flags.string({description: 'your work directory (default ./lab-work/ID)'}),
  }

  async run(): Promise<LabOutcome & {created: boolean}> {
    const {args, flags} = await this.parse(Check)
    const lab = await loadLab(args.lab)
    const steps = flags.step ? [selectStep(lab, flags.step, true)] : lab.steps.filter((s) => s.exercise)
    const workDir = exerciseDir(lab, flags.dir)
    const created = ensureExerciseDir(lab, workDir)
    const reporter = chooseReporter(this.jsonEnabled())
    if (created && reporter) process.stdout.write(`created your work directory ${workDir} from the lab's starting files; write your answers there\n`)
    let outcome: LabOutcome
    try {
      outcome = await runLab(lab, {mode: 'exercise', workDir, removeWorkDir: false, steps, reporter})
    } finally {
      reporter?.close?.()
    }
    const at = new Date().toISOString()
    const record: Record<string, StepProgress> = {}
    for (const s of outcome.steps) {
      if (s.status !== 'passed' && s.status !== 'failed') continue
      record[s.id] = {
        passed: s.status === 'passed',
        at,
        failed: [
          ...s.actions.filter((a) => a.error).map((a) => ({check: `run ${a.command}`, detail: a.error, hint: a.hint})),
          ...s.checks.filter((c) => !c.passed).map((c) => ({check: c.name, detail: c.detail, hint: c.hint})),
        ],
      }
    }
    if (outcome.status !== 'interrupted') recordSteps(lab.id, workDir, record)
    process.exitCode = exitCodeFor(outcome)
    return {...outcome, created}
  }
}
