/**
 * `lab ci --list`: what a run would do for an event, without running anything — whether
 * the workflow triggers (and why not), each job's matrix legs, the jobs skipped because
 * of runs-on, what each `uses:` step maps to. `if:` conditions that depend on results
 * are shown as they are written.
 */
import {decide} from './events.js'
import {evalCondition, type ExprContext, type Value} from './expr.js'
import {githubContext, repositoryName, runnerContext, type EventInfo} from './github.js'
import type {Pipeline} from './model.js'
import {notHere} from './runner.js'
import {describeUses} from './uses.js'

export interface PlannedJob {
  id: string
  key: string
  needs: string[]
  /** runs | skipped | depends (on results known only while running) */
  status: 'runs' | 'skipped' | 'depends'
  reason?: string
  matrix?: Record<string, Value>
  if?: string
  /** the GITHUB_TOKEN permissions it asks for (the job's, else the workflow's) */
  permissions?: unknown
  steps: Array<{name: string; runs: string}>
}

export interface Plan {
  workflow: string
  file: string
  event: string
  ref: string
  runs: boolean
  why: string
  jobs: PlannedJob[]
}

export function planRun(p: Pipeline, event: EventInfo, opts: {vars?: Record<string, string>; inputs?: Record<string, Value>; actionDirs?: Record<string, string>} = {}): Plan {
  const d = p.kind === 'github' ? decide(p.on, event) : {runs: true, why: 'a lab pipeline runs whenever it is asked to'}
  const plan: Plan = {workflow: p.name, file: p.file, event: event.name, ref: event.ref, runs: d.runs, why: d.why, jobs: []}
  if (!d.runs) return plan
  const {context} = githubContext({runId: '0', runNumber: 1, workflow: p.name, job: '', workspace: p.workspace, actor: process.env.USER ?? 'lab', repository: repositoryName(p.workspace), event, file: p.file})
  for (const j of Object.values(p.jobs)) {
    const legs: Array<Record<string, Value> | null> = j.matrixSource !== undefined ? [null] : (j.matrix ?? [null])
    for (const m of legs) {
      const key = m ? `${j.id} (${Object.entries(m).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')})` : j.id
      const ctx: ExprContext = {
        contexts: {github: {...context, job: j.id}, matrix: m ?? {}, runner: runnerContext(), vars: opts.vars ?? {}, inputs: opts.inputs ?? {}, env: {}, needs: {}, secrets: {}, steps: {}, job: {}, strategy: {}},
        status: {success: true, failure: false, cancelled: false},
      }
      const pj: PlannedJob = {id: j.id, key, needs: j.needs, status: 'runs', steps: j.steps.map((s) => ({name: s.name, runs: s.uses ? describeUses(s.uses, opts.actionDirs ?? {}) : 'script'}))}
      if (m) pj.matrix = m
      const perms = j.permissions ?? p.permissions
      if (perms !== undefined) pj.permissions = perms
      if (j.matrixSource !== undefined) {
        pj.status = 'depends'
        pj.reason = 'its matrix is computed when the job starts'
      }
      if (j.callee?.unsupported) {
        // a remote reusable workflow without a local copy
        pj.status = 'skipped'
        pj.reason = j.callee.unsupported
      }
      if (j.if !== undefined) pj.if = String(j.if)
      try {
        const elsewhere = notHere(j.runsOn, ctx, `/jobs/${j.id}/runs-on`)
        if (elsewhere) {
          pj.status = 'skipped'
          pj.reason = elsewhere
        }
      } catch {
        pj.status = 'depends'
        pj.reason = 'runs-on depends on values known only while running'
      }
      if (pj.status === 'runs' && j.if !== undefined) {
        try {
          if (!evalCondition(j.if, ctx, `/jobs/${j.id}/if`)) {
            pj.status = 'skipped'
            pj.reason = `if: ${String(j.if)} is false`
          }
        } catch {
          pj.status = 'depends'
          pj.reason = 'if: depends on results known only while running'
        }
      }
      if (pj.status === 'runs' && j.needs.length) {
        pj.status = 'depends'
        pj.reason = `runs if ${j.needs.join(', ')} succeed${j.needs.length === 1 ? 's' : ''}`
      }
      plan.jobs.push(pj)
    }
  }
  // a job whose needs are all skipped is skipped too (unless its if: says otherwise)
  for (const pj of plan.jobs) {
    if (pj.status === 'depends' && pj.if === undefined && pj.needs.some((n) => plan.jobs.filter((x) => x.id === n).every((x) => x.status === 'skipped'))) {
      pj.status = 'skipped'
      pj.reason = `a job it needs is skipped (${pj.needs.join(', ')})`
    }
  }
  return plan
}

export function planLines(plan: Plan): string[] {
  const out = [`${plan.file}: ${plan.runs ? 'runs' : 'does not run'} on ${plan.event} (${plan.ref}): ${plan.why}`]
  const w = Math.max(4, ...plan.jobs.map((j) => j.key.length))
  for (const j of plan.jobs) {
    out.push(`  ${j.key.padEnd(w)}  ${j.status.padEnd(7)}  ${j.reason ?? ''}`.trimEnd())
    if (j.permissions !== undefined) out.push(`  ${''.padEnd(w)}           permissions: ${typeof j.permissions === 'string' ? j.permissions : Object.entries(j.permissions as Record<string, unknown>).map(([k, v]) => `${k}: ${String(v)}`).join(', ') || 'none'} (no token exists offline)`)
    for (const s of j.steps) if (s.runs !== 'script') out.push(`  ${''.padEnd(w)}           ${s.name}: ${s.runs}`)
  }
  return out
}
