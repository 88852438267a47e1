/** What the lab commands share: choosing a reporter, selecting steps, exit codes. */
import {LabError} from '../errors.js'
import type {Lab, LoadedStep} from './load.js'
import {LineReporter} from './report.js'
import {findStep, type LabOutcome, type Reporter} from './runner.js'

/** Exit code of a lab run: 0 passed, 1 a check failed, 130 interrupted (as a shell reports Ctrl-C). */
export function exitCodeFor(o: LabOutcome): number {
  return o.status === 'passed' ? 0 : o.status === 'interrupted' ? 130 : 1
}

export function chooseReporter(json: boolean): Reporter | undefined {
  if (json) return undefined
  return new LineReporter(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR)
}

export function selectStep(lab: Lab, sel: string, exercisesOnly: boolean): LoadedStep {
  const s = findStep(lab, sel)
  if (!s) {
    throw new LabError('usage', `${lab.id} has no step "${sel}"`, {hint: `give a number from 1 to ${lab.steps.length} or a step id (${lab.steps.map((x) => x.id).join(', ')})`, exitCode: 2})
  }
  if (exercisesOnly && !s.exercise) {
    const ex = lab.steps.filter((x) => x.exercise).map((x) => `${x.number} (${x.id})`)
    throw new LabError('usage', `step ${s.number} (${s.id}) of ${lab.id} is not an exercise`, {hint: ex.length ? `exercises: ${ex.join(', ')}` : `${lab.id} has no exercises; try \`lab run ${lab.id}\``, exitCode: 2})
  }
  return s
}
