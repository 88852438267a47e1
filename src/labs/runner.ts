/**
 * Runs a lab's steps: the walkthrough (every step, against the reference solution in
 * a private work directory) and exercises (the steps with an exercise, against the
 * student's work directory). The result is data with one shape; reporters print it.
 * Ctrl-C and SIGTERM end the running sandbox (the helper forwards the signal), stop
 * the lab after that action, and still clean up: every sandbox and volume the lab made
 * lives in a private lifecycle state directory that is emptied and removed at the end.
 */
import {LabError} from '../errors.js'
import {lifecycle, type Lifecycle} from '../sandbox/lifecycle.js'
import {failureSentence} from '../sandbox/result.js'
import {performAction, type ActionContext, type ActionOutcome} from './actions.js'
import {evaluateCheck, type CheckOutcome} from './checks.js'
import type {Lab, LoadedStep} from './load.js'
import {markdownToTerminal, renderTemplate, resultView, type RenderContext} from './render.js'
import {startLabRegistry, type LabRegistry} from './registry.js'
import {RESULT_ACTIONS} from './schema.js'
import {makeStateDir, removeStateDir, removeWorkDir, sweepStaleStateDirs} from './workdir.js'

export type StepStatus = 'passed' | 'failed' | 'unavailable' | 'skipped'

export interface ActionRecord {
  kind: string
  as: string
  command: string
  show: boolean
  exitCode?: number
  verdict?: string
  wallMs?: number
  stdout?: string
  stderr?: string
  error?: string
  hint?: string
}

export interface StepOutcome {
  number: number
  id: string
  title: string
  summary?: string
  status: StepStatus
  /** why the step did not run (unavailable, skipped) */
  reason?: string
  actions: ActionRecord[]
  checks: CheckOutcome[]
  /** the instructions rendered with the step's results (with --explain) */
  instructions?: string
  /** the engine's warnings about the step's background sandboxes (kept out of the checklist) */
  warnings?: string[]
}

export interface LabOutcome {
  lab: string
  title: string
  mode: 'walkthrough' | 'exercise'
  workDir: string
  status: 'passed' | 'failed' | 'interrupted'
  counts: Record<StepStatus, number>
  wallMs: number
  steps: StepOutcome[]
}

export interface Reporter {
  labStart(lab: Lab, steps: LoadedStep[], workDir: string, mode: LabOutcome['mode']): void
  stepStart(step: LoadedStep, total: number): void
  stepEnd(step: StepOutcome, total: number): void
  labEnd(outcome: LabOutcome): void
  /** stop any animation (before the process prints an error) */
  close?(): void
}

export interface RunLabOptions {
  mode: LabOutcome['mode']
  workDir: string
  /** remove workDir at the end (walkthroughs) */
  removeWorkDir: boolean
  /** the steps to run (default: all in a walkthrough, the exercise steps otherwise) */
  steps?: LoadedStep[]
  reporter?: Reporter
  explain?: boolean
  color?: boolean
}

function record(o: ActionOutcome): ActionRecord {
  const r: ActionRecord = {kind: o.kind, as: o.as, command: o.command, show: o.show}
  if (o.result) {
    r.exitCode = o.result.exitCode
    r.verdict = o.result.verdict
    r.wallMs = Math.round(o.result.wallMs)
    r.stdout = o.result.stdout
    r.stderr = o.result.stderr
    const e = o.result.error
    // the engine's own explanation, so a failed set-up is never a bare "exit 125"
    if (e) {
      r.error = failureSentence(e, e.stage === 'exec' ? '' : 'sandbox')
      if (e.hint) r.hint = e.hint
    }
  }
  if (o.error) r.error = o.error
  if (o.hint) r.hint = o.hint
  return r
}

export async function runLab(lab: Lab, opts: RunLabOptions): Promise<LabOutcome> {
  const started = Date.now()
  const steps = opts.steps ?? (opts.mode === 'walkthrough' ? lab.steps : lab.steps.filter((s) => s.exercise))
  const outcome: LabOutcome = {
    lab: lab.id,
    title: lab.data.title,
    mode: opts.mode,
    workDir: opts.workDir,
    status: 'passed',
    counts: {passed: 0, failed: 0, unavailable: 0, skipped: 0},
    wallMs: 0,
    steps: [],
  }
  let interrupted = false
  const abort = new AbortController()
  // a lab's sandboxes are the lab's business: the first Ctrl-C ends the running one
  const onSignal = () => {
    interrupted = true
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const ctxBase: RenderContext = {lab: {id: lab.id, title: lab.data.title}, work: opts.workDir, results: {}}
  const created = new Map<string, string>()
  const seq = {n: 0}
  let stateDir: string | null = null
  let lc: Lifecycle | null = null
  let current: StepOutcome | null = null
  // the state directory is made on first use: labs of foreground runs only never need one
  const engine = (): Lifecycle => {
    if (!lc) {
      stateDir = makeStateDir()
      lc = lifecycle({stateDir, onWarning: (w) => current && (current.warnings ??= []).push(w)})
    }
    return lc
  }
  // the lab's registry, started by the first step that requires one, ended with the lab
  let registry: LabRegistry | null = null
  await sweepStaleStateDirs().catch(() => [])
  try {
    opts.reporter?.labStart(lab, steps, opts.workDir, opts.mode)
    for (const step of steps) {
      const so: StepOutcome = {number: step.number, id: step.id, title: step.title, summary: step.summary, status: 'passed', actions: [], checks: []}
      current = so
      if (interrupted) {
        so.status = 'skipped'
        so.reason = 'interrupted'
      } else if (step.unavailable) {
        so.status = 'unavailable'
        so.reason = step.unavailable
      } else {
        opts.reporter?.stepStart(step, lab.steps.length)
        let serviceError: ActionRecord | null = null
        if (step.needs.includes('registry') && !registry) {
          try {
            registry = await startLabRegistry(engine(), lab.id, stateDir!)
            ctxBase.ports = {registry: registry.port}
            so.actions.push({kind: 'registry', as: 'registry', command: `(the lab's registry: docker-registry in the sandbox ${registry.sandbox}, on ${registry.host})`, show: true})
          } catch (e) {
            if (!(e instanceof LabError)) throw e
            serviceError = {kind: 'registry', as: 'registry', command: '(start the lab\'s registry)', show: true, error: e.message, hint: e.hint}
          }
        }
        const stepCtx: RenderContext = {...ctxBase, step: {id: step.id, title: step.title, number: step.number}}
        if (serviceError) {
          // the step cannot run without it: failed, with the reason, and the lab goes on
          so.actions.push(serviceError)
          so.status = 'failed'
          outcome.steps.push(so)
          outcome.counts.failed++
          opts.reporter?.stepEnd(so, lab.steps.length)
          continue
        }
        const render = (src: string, where: string) => renderTemplate(src, stepCtx, where)
        const actx: ActionContext = {lab, step, work: opts.workDir, render, created, seq, abort: abort.signal, engine, registry: registry?.host}
        const results = new Map<string, ActionOutcome>()
        let last: ActionOutcome | undefined
        const actions = step.actions ?? []
        for (let i = 0; i < actions.length && !interrupted; i++) {
          const o = await performAction(actions[i], i, actx)
          so.actions.push(record(o))
          results.set(o.as, o)
          if ((RESULT_ACTIONS as readonly string[]).includes(o.kind)) {
            last = o
            if (o.result) ctxBase.results[o.as] = resultView(o.result, o.command)
          }
        }
        if (interrupted) {
          so.status = 'skipped'
          so.reason = 'interrupted'
        } else {
          for (const c of step.checks ?? []) so.checks.push(await evaluateCheck(c, {work: opts.workDir, results, last, render, lab, engine}))
          // a refusal an `error` check expects is the lesson, not a broken step
          const expected = new Set((step.checks ?? []).filter((c) => c.error).map((c) => c.of ?? last?.as))
          // an action that could not run (a missing or malformed answer) fails the step even without checks on it
          // (a run the engine judged — exit 127, a set-up failure — is an outcome for checks, not a broken action)
          const broken = [...results.values()].some((o) => o.error && !expected.has(o.as))
          so.status = so.checks.every((c) => c.passed) && !broken ? 'passed' : 'failed'
          if (opts.explain && step.read) so.instructions = markdownToTerminal(renderTemplate(lab.templates.get(step.read)!, stepCtx, step.read), opts.color ?? false)
        }
      }
      outcome.steps.push(so)
      outcome.counts[so.status]++
      opts.reporter?.stepEnd(so, lab.steps.length)
    }
  } finally {
    // still listening: a second Ctrl-C must not cut the clean-up short
    try {
      await (registry as LabRegistry | null)?.stop()
      if (stateDir) await removeStateDir(stateDir)
      // foreground sandboxes end with their run; the work directory goes here
      if (opts.removeWorkDir) removeWorkDir(opts.workDir)
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
  outcome.status = interrupted ? 'interrupted' : outcome.counts.failed > 0 ? 'failed' : 'passed'
  outcome.wallMs = Date.now() - started
  opts.reporter?.labEnd(outcome)
  return outcome
}

/** Selects steps by number (1-based) or id; a LabError-free lookup for the commands. */
export function findStep(lab: Lab, sel: string): LoadedStep | undefined {
  if (/^\d+$/.test(sel)) return lab.steps[Number(sel) - 1]
  return lab.steps.find((s) => s.id === sel)
}
