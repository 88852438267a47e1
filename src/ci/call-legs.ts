/**
 * strategy.matrix on a job that calls a reusable workflow (`uses: ./.github/workflows/W.yml`),
 * as GitHub runs it: each combination is a call of its own (a leg, `ID (k=v, …)`), and
 * the calling job's result and outputs are the legs'. The matrix may be literal or
 * computed (`${{ fromJSON(needs.setup.outputs.matrix) }}`); either way the legs are made
 * when the calling job starts, once what it needs is done, from the called workflow's
 * jobs loaded once as a template (load.ts). `max-parallel` limits the legs running at
 * once and `fail-fast` cancels the legs not yet finished once one fails (runner.ts).
 *
 * The outputs of a matrix call follow GitHub's rule: each output is the value set by the
 * last successful leg to finish that set it (a leg that leaves it empty does not count).
 */
import type {Value} from './expr.js'
import type {Combination} from './matrix.js'
import type {JobDef} from './model.js'

/** A leg's id: the caller's and the combination's values, `call (target=amd64, os=linux)`. */
export function legId(caller: string, combo: Record<string, unknown>): string {
  return `${caller} (${Object.entries(combo).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ')})`
}

/** A job of a called workflow under new names: its id, needs, caller and callees (their templates too). */
export function renameJob(cj: JobDef, rename: (id: string) => string): JobDef {
  return {
    ...cj,
    id: rename(cj.id),
    needs: cj.needs.map(rename),
    ...(cj.call ? {call: {...cj.call, caller: rename(cj.call.caller), callerNeeds: cj.call.callerNeeds.map(rename)}} : {}),
    ...(cj.callee ? {callee: {...cj.callee, jobs: cj.callee.jobs.map(rename), prefix: rename(cj.callee.prefix), ...(cj.callee.template ? {template: cj.callee.template.map((t) => renameJob(t, rename))} : {})}} : {}),
  }
}

export interface Legs {
  /** one job per combination: it calls the workflow, its result and outputs are its called jobs' */
  legs: JobDef[]
  /** the called jobs of every leg, renamed LEG/JOB */
  called: JobDef[]
}

/**
 * The legs of a matrix call for the combinations given: the template's jobs (ids
 * CALLER/JOB) cloned as LEG/JOB, their needs, callers and callees renamed, and the
 * combination as the matrix context of the call's `with:`, `secrets:` and `if:`.
 */
export function expandLegs(caller: JobDef, combos: Combination[]): Legs {
  const template = caller.callee?.template ?? []
  const id = caller.id
  const out: Legs = {legs: [], called: []}
  const seen = new Set<string>()
  for (const combo of combos) {
    let leg = legId(id, combo)
    // two combinations that print alike (1 and '1') still get distinct ids
    for (let n = 2; seen.has(leg); n++) leg = `${legId(id, combo)} #${n}`
    seen.add(leg)
    const rename = (n: string) => (n === id ? leg : n.startsWith(`${id}/`) ? `${leg}${n.slice(id.length)}` : n)
    const shownCaller = caller.name ?? id
    const legName = caller.name ? `${caller.name} (${leg.slice(id.length + 2, -1)})` : leg
    const ids: string[] = []
    for (const cj of template) {
      ids.push(rename(cj.id))
      const c = renameJob(cj, rename)
      if (cj.name !== undefined && cj.name.startsWith(`${shownCaller} / `)) c.name = `${legName} / ${cj.name.slice(shownCaller.length + 3)}`
      if (c.call && cj.call?.caller === id) c.call = {...c.call, matrix: combo as Record<string, Value>}
      out.called.push(c)
    }
    const {matrixSource: _m, ...rest} = caller
    out.legs.push({
      ...rest,
      id: leg,
      name: legName,
      matrix: null,
      callMatrix: combo,
      needs: [...caller.needs, ...ids],
      callee: {jobs: ids, prefix: leg, outputs: caller.callee?.outputs ?? {}},
    })
  }
  return out
}

/**
 * The outputs of a matrix call: for each output, the value of the last successful leg
 * to finish that set it (GitHub's rule for reusable workflows called with a matrix).
 */
export function matrixCallOutputs(legs: Array<{result: string; outputs: Record<string, string>; finished: number}>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const l of [...legs].sort((a, b) => a.finished - b.finished)) {
    if (l.result !== 'success') continue
    for (const [k, v] of Object.entries(l.outputs)) if (v !== '' || !(k in out)) out[k] = v
  }
  return out
}

/**
 * Every job of a pipeline, the called jobs of matrix calls' templates included (their
 * legs are cloned from them while the pipeline runs): what policy caps and the linter
 * reads must see them before any leg exists.
 */
export function allJobs(jobs: Record<string, JobDef>): JobDef[] {
  const out: JobDef[] = []
  const visit = (j: JobDef) => {
    out.push(j)
    for (const t of j.callee?.template ?? []) visit(t)
  }
  for (const j of Object.values(jobs)) visit(j)
  return out
}
