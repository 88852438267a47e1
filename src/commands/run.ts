import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {chooseReporter, exitCodeFor, selectStep} from '../labs/cli.js'
import {loadLab} from '../labs/load.js'
import {runLab, type LabOutcome} from '../labs/runner.js'
import {makeWalkthroughDir} from '../labs/workdir.js'

export default class Run extends BaseCommand {
  static override summary = 'Walk through a lab: run every step and check that the engine behaves as the lesson says'
  static override description = `Runs each step's commands (with the reference solution for the exercises) in sandboxes named for the lab, prints each command and its output, and checks the outcome. Every sandbox and the temporary work directory are removed at the end, also on failure and Ctrl-C. Steps that need an engine feature this build lacks are listed as unavailable.`

  static override examples = ['<%= config.bin %> run ch4-volumes', '<%= config.bin %> run ch4-volumes --step 2 --explain', '<%= config.bin %> run ./labs/my-lab --json']

  static override args = {lab: Args.string({description: 'lab id (see `lab list`) or path to a lab directory', required: true})}
  static override flags = {
    step: Flags.string({description: 'run only this step (number or id)'}),
    explain: Flags.boolean({description: 'also print each step\'s instructions, rendered with its results', default: false}),
  }

  async run(): Promise<LabOutcome> {
    const {args, flags} = await this.parse(Run)
    const lab = await loadLab(args.lab)
    const steps = flags.step ? [selectStep(lab, flags.step, false)] : undefined
    const reporter = chooseReporter(this.jsonEnabled())
    try {
      const outcome = await runLab(lab, {mode: 'walkthrough', workDir: makeWalkthroughDir(lab), removeWorkDir: true, steps, reporter, explain: flags.explain, color: Boolean(process.stdout.isTTY)})
      process.exitCode = exitCodeFor(outcome)
      return outcome
    } finally {
      reporter?.close?.()
    }
  }
}
