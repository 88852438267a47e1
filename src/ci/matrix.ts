/**
 * strategy.matrix → the list of combinations, with GitHub's rules: the cartesian
 * product of the axes, minus every combination an `exclude` entry matches, then each
 * `include` entry either extends the combinations it does not contradict or, when it
 * extends none, is added as a combination of its own.
 */
import type {Value} from './expr.js'

export type Combination = Record<string, Value>

export interface MatrixProblem {
  path: string
  message: string
}

const MAX_COMBINATIONS = 256

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function matches(combo: Combination, partial: Record<string, unknown>): boolean {
  return Object.entries(partial).every(([k, v]) => JSON.stringify(combo[k]) === JSON.stringify(v))
}

/** Checks a matrix; `base` is its JSON path (e.g. /jobs/test/strategy/matrix). */
export function matrixProblems(matrix: unknown, base: string): MatrixProblem[] {
  const problems: MatrixProblem[] = []
  if (!isPlainObject(matrix)) return [{path: base, message: 'the matrix must be a mapping of axes to lists of values'}]
  const axes = Object.keys(matrix).filter((k) => k !== 'include' && k !== 'exclude')
  for (const k of axes) {
    const v = matrix[k]
    if (!Array.isArray(v)) problems.push({path: `${base}/${k}`, message: `axis "${k}" must be a list of values`})
    else if (v.length === 0) problems.push({path: `${base}/${k}`, message: `axis "${k}" is empty, so the job would never run`})
  }
  for (const key of ['include', 'exclude'] as const) {
    const list = matrix[key]
    if (list === undefined) continue
    if (!Array.isArray(list)) {
      problems.push({path: `${base}/${key}`, message: `${key} must be a list of mappings`})
      continue
    }
    list.forEach((e, i) => {
      if (!isPlainObject(e) || Object.keys(e).length === 0) problems.push({path: `${base}/${key}/${i}`, message: `each ${key} entry must be a non-empty mapping`})
      else if (key === 'exclude') {
        for (const k of Object.keys(e)) if (!axes.includes(k)) problems.push({path: `${base}/exclude/${i}/${k}`, message: `exclude names "${k}", which is not an axis of the matrix (${axes.join(', ') || 'none'})`})
      }
    })
  }
  if (axes.length === 0 && !Array.isArray(matrix.include)) problems.push({path: base, message: 'the matrix has no axes and no include entries'})
  if (problems.length === 0) {
    const n = axes.reduce((p, k) => p * (matrix[k] as unknown[]).length, 1)
    if (n > MAX_COMBINATIONS) problems.push({path: base, message: `the matrix has ${n} combinations; at most ${MAX_COMBINATIONS} are allowed`})
  }
  return problems
}

/** The combinations of a checked matrix, in order. */
export function expandMatrix(matrix: Record<string, unknown>): Combination[] {
  const axes = Object.keys(matrix).filter((k) => k !== 'include' && k !== 'exclude')
  let combos: Combination[] = axes.length ? [{}] : []
  for (const k of axes) {
    const next: Combination[] = []
    for (const c of combos) for (const v of matrix[k] as Value[]) next.push({...c, [k]: v})
    combos = next
  }
  const excludes = (matrix.exclude as Array<Record<string, unknown>> | undefined) ?? []
  combos = combos.filter((c) => !excludes.some((e) => matches(c, e)))
  const original = combos.map((c) => ({...c}))
  for (const inc of (matrix.include as Array<Record<string, Value>> | undefined) ?? []) {
    let extended = false
    combos.forEach((c, i) => {
      // an include may add keys to a combination, never overwrite one of its original values
      const ok = Object.entries(inc).every(([k, v]) => !(k in original[i]) || JSON.stringify(original[i][k]) === JSON.stringify(v))
      if (ok && axes.length) {
        Object.assign(c, inc)
        extended = true
      }
    })
    if (!extended) {
      combos.push({...inc})
      original.push({...inc})
    }
  }
  return combos
}
