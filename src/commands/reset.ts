import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {loadLab} from '../labs/load.js'
import {forgetLab} from '../labs/progress.js'
import {exerciseDir, resetExerciseDir} from '../labs/workdir.js'

export default class Reset extends BaseCommand {
  static override summary = 'Start a lab\'s exercises over: restore its starting files and forget your progress'
  static override description = 'Your own answer files are kept unless you add --all, which empties the work directory first.'
  static override examples = ['<%= config.bin %> reset ch4-volumes', '<%= config.bin %> reset ch4-volumes --all']

  static override args = {lab: Args.string({description: 'lab id or path to a lab directory', required: true})}
  static override flags = {
    dir: Flags.string({description: 'your work directory (default ./lab-work/ID)'}),
    all: Flags.boolean({description: 'also delete your answers (empties the work directory)', default: false}),
  }

  async run(): Promise<{lab: string; workDir: string; answersDeleted: boolean; progressForgotten: boolean}> {
    const {args, flags} = await this.parse(Reset)
    const lab = await loadLab(args.lab)
    const workDir = exerciseDir(lab, flags.dir)
    resetExerciseDir(lab, workDir, flags.all)
    const forgotten = forgetLab(lab.id)
    if (!this.jsonEnabled()) this.log(`${lab.id}: restored the starting files in ${workDir}${flags.all ? ' (answers deleted)' : ' (your answers are kept)'}${forgotten ? '; progress forgotten' : ''}`)
    return {lab: lab.id, workDir, answersDeleted: flags.all, progressForgotten: forgotten}
  }
}
