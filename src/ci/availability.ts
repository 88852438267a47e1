/**
 * Which contexts and special functions an expression may use, key by key: GitHub's
 * "Context availability" table (docs: Accessing contextual information about workflow
 * runs). GitHub refuses a workflow whose expression names a context its key does not
 * have (`Unrecognized named-value: 'matrix'`); lab refuses it at load time, with the key,
 * the context and what that key may use. Keys the table does not list are not checked.
 */
import {references, templateExpressions} from './expr.js'
import {expressionStrings} from './workflow.js'

const STATUS = ['always', 'cancelled', 'success', 'failure']
const JOB = 'github needs strategy matrix vars inputs'
const STEP = 'github needs strategy matrix job runner env vars secrets steps inputs'

/** [key as GitHub's table names it, JSON path pattern (* one segment, ** any below), contexts, special functions] */
const TABLE: Array<[string, string, string, string[]]> = [
  ['run-name', 'run-name', 'github inputs vars', []],
  ['concurrency', 'concurrency/**', 'github inputs vars', []],
  ['env', 'env/*', 'github secrets inputs vars', []],
  ['jobs.<job_id>.concurrency', 'jobs/*/concurrency/**', JOB, []],
  ['jobs.<job_id>.container.credentials', 'jobs/*/container/credentials/**', 'github needs strategy matrix env vars secrets inputs', []],
  ['jobs.<job_id>.container.env.<env_id>', 'jobs/*/container/env/*', 'github needs strategy matrix job runner env vars secrets inputs', []],
  ['jobs.<job_id>.container', 'jobs/*/container/**', JOB, []],
  ['jobs.<job_id>.continue-on-error', 'jobs/*/continue-on-error', JOB, []],
  ['jobs.<job_id>.defaults.run', 'jobs/*/defaults/run/**', 'github needs strategy matrix env vars inputs', []],
  ['jobs.<job_id>.env', 'jobs/*/env/*', 'github needs strategy matrix vars secrets inputs', []],
  ['jobs.<job_id>.environment.url', 'jobs/*/environment/url', 'github needs strategy matrix job runner env vars steps inputs', []],
  ['jobs.<job_id>.environment', 'jobs/*/environment/**', JOB, []],
  ['jobs.<job_id>.if', 'jobs/*/if', 'github needs vars inputs', STATUS],
  ['jobs.<job_id>.name', 'jobs/*/name', JOB, []],
  ['jobs.<job_id>.outputs.<output_id>', 'jobs/*/outputs/*', 'github needs strategy matrix job runner env vars secrets steps inputs', []],
  ['jobs.<job_id>.runs-on', 'jobs/*/runs-on/**', JOB, []],
  ['jobs.<job_id>.secrets.<secrets_id>', 'jobs/*/secrets/*', 'github needs strategy matrix secrets inputs vars', []],
  ['jobs.<job_id>.services.<service_id>.credentials', 'jobs/*/services/*/credentials/**', 'github needs strategy matrix env vars secrets inputs', []],
  ['jobs.<job_id>.services.<service_id>.env.<env_id>', 'jobs/*/services/*/env/*', 'github needs strategy matrix job runner env vars secrets inputs', []],
  ['jobs.<job_id>.services', 'jobs/*/services/**', JOB, []],
  ['jobs.<job_id>.steps.continue-on-error', 'jobs/*/steps/*/continue-on-error', STEP, ['hashfiles']],
  ['jobs.<job_id>.steps.env', 'jobs/*/steps/*/env/*', STEP, ['hashfiles']],
  ['jobs.<job_id>.steps.if', 'jobs/*/steps/*/if', 'github needs strategy matrix job runner env vars steps inputs', [...STATUS, 'hashfiles']],
  ['jobs.<job_id>.steps.name', 'jobs/*/steps/*/name', STEP, ['hashfiles']],
  ['jobs.<job_id>.steps.run', 'jobs/*/steps/*/run', STEP, ['hashfiles']],
  ['jobs.<job_id>.steps.timeout-minutes', 'jobs/*/steps/*/timeout-minutes', STEP, ['hashfiles']],
  ['jobs.<job_id>.steps.with', 'jobs/*/steps/*/with/**', STEP, ['hashfiles']],
  ['jobs.<job_id>.steps.working-directory', 'jobs/*/steps/*/working-directory', STEP, ['hashfiles']],
  ['jobs.<job_id>.strategy', 'jobs/*/strategy/**', 'github needs vars inputs', []],
  ['jobs.<job_id>.timeout-minutes', 'jobs/*/timeout-minutes', JOB, []],
  ['jobs.<job_id>.with.<with_id>', 'jobs/*/with/*', 'github needs strategy matrix inputs vars', []],
  ['on.workflow_call.inputs.<inputs_id>.default', 'on/workflow_call/inputs/*/default', 'github inputs vars', []],
  ['on.workflow_call.outputs.<output_id>.value', 'on/workflow_call/outputs/*/value', 'github jobs vars inputs', []],
]

/** Functions GitHub allows only where the table lists them. */
const SPECIAL = new Set([...STATUS, 'hashfiles'])
const SHOWN: Record<string, string> = {always: 'always()', cancelled: 'cancelled()', success: 'success()', failure: 'failure()', hashfiles: 'hashFiles()'}

export interface Availability {
  key: string
  contexts: string[]
  functions: string[]
}

function matches(pattern: string[], path: string[]): boolean {
  if (pattern.length === 0) return path.length === 0
  if (pattern[0] === '**') return true
  if (path.length === 0) return false
  return (pattern[0] === '*' || pattern[0] === path[0]) && matches(pattern.slice(1), path.slice(1))
}

/** What the key at a JSON path (/jobs/build/steps/0/if) may use, or null when the table does not list it. */
export function availabilityAt(path: string): Availability | null {
  const parts = path.split('/').filter(Boolean).map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'))
  for (const [key, pattern, contexts, functions] of TABLE) {
    if (matches(pattern.split('/'), parts)) return {key, contexts: contexts.split(' '), functions}
  }
  return null
}

/** Keys whose whole value is an expression even without ${{ }}. */
const CONDITION = /^\/jobs\/[^/]+(\/steps\/\d+)?\/if$/

/**
 * Every use of a context or function that its key does not allow, as [JSON path, message];
 * the workflow's syntax has been checked already (an expression that does not parse is skipped).
 */
export function availabilityProblems(data: Record<string, unknown>): Array<[string, string]> {
  const found: Array<[string, string]> = []
  const strings = expressionStrings(data, '')
  for (const [id, job] of Object.entries((data.jobs ?? {}) as Record<string, Record<string, unknown>>)) {
    const ifs: Array<[string, unknown]> = [[`/jobs/${id}/if`, job?.if]]
    if (Array.isArray(job?.steps)) job.steps.forEach((s: Record<string, unknown>, i: number) => ifs.push([`/jobs/${id}/steps/${i}/if`, s?.if]))
    for (const [path, v] of ifs) if (typeof v === 'string' && !v.includes('${{') && CONDITION.test(path)) strings.push([path, `\${{ ${v} }}`])
  }
  for (const [path, value] of strings) {
    const a = availabilityAt(path)
    if (!a) continue
    for (const e of templateExpressions(value)) {
      if (e.end < 0) continue
      let refs
      try {
        refs = references(e.expr, path)
      } catch {
        continue
      }
      const ctx = [...refs.contexts].find((c) => !a.contexts.includes(c))
      if (ctx) {
        found.push([path, `${a.key} may not use the ${ctx} context (GitHub's context availability: it may use ${a.contexts.join(', ')})`])
        break
      }
      const fn = [...refs.functions].find((f) => SPECIAL.has(f) && !a.functions.includes(f))
      if (fn) {
        found.push([path, `${a.key} may not call ${SHOWN[fn]} (GitHub's context availability: ${a.functions.length ? `its special functions are ${a.functions.map((f) => SHOWN[f]).join(', ')}` : 'it has no special functions'})`])
        break
      }
    }
  }
  return found
}
