/**
 * Jobs and their `needs`: a directed acyclic graph. Problems (an unknown job, a cycle)
 * are reported with the JSON path of the `needs` that causes them.
 */

export interface DagProblem {
  path: string
  message: string
}

/** The problems of a needs graph: unknown names and cycles (each cycle once, named in order). */
export function dagProblems(needs: Record<string, string[]>): DagProblem[] {
  const problems: DagProblem[] = []
  for (const [id, deps] of Object.entries(needs)) {
    for (const d of deps) {
      if (d === id) problems.push({path: `/jobs/${id}/needs`, message: `job "${id}" needs itself`})
      else if (!(d in needs)) problems.push({path: `/jobs/${id}/needs`, message: `job "${id}" needs "${d}", which is not a job of this pipeline (jobs: ${Object.keys(needs).join(', ')})`})
    }
  }
  if (problems.length) return problems
  // depth-first search; a grey node met again closes a cycle
  const color = new Map<string, 'grey' | 'black'>()
  const stack: string[] = []
  const visit = (id: string): boolean => {
    color.set(id, 'grey')
    stack.push(id)
    for (const d of needs[id]) {
      const c = color.get(d)
      if (c === 'grey') {
        const cycle = [...stack.slice(stack.indexOf(d)), d]
        problems.push({path: `/jobs/${id}/needs`, message: `the needs form a cycle: ${cycle.join(' → ')}`})
        return false
      }
      if (c === undefined && !visit(d)) return false
    }
    stack.pop()
    color.set(id, 'black')
    return true
  }
  for (const id of Object.keys(needs)) {
    if (!color.has(id) && !visit(id)) break
  }
  return problems
}

/** Job ids in an order where every job comes after what it needs (ties in file order). */
export function topoOrder(needs: Record<string, string[]>): string[] {
  const order: string[] = []
  const done = new Set<string>()
  const ids = Object.keys(needs)
  while (order.length < ids.length) {
    const next = ids.find((id) => !done.has(id) && needs[id].every((d) => done.has(d)))
    if (next === undefined) throw new Error('needs graph has a cycle')
    order.push(next)
    done.add(next)
  }
  return order
}

/** Every job that transitively needs `id`. */
export function dependents(needs: Record<string, string[]>, id: string): Set<string> {
  const out = new Set<string>()
  let grew = true
  while (grew) {
    grew = false
    for (const [j, deps] of Object.entries(needs)) {
      if (!out.has(j) && deps.some((d) => d === id || out.has(d))) {
        out.add(j)
        grew = true
      }
    }
  }
  return out
}

/** Every job that `id` needs, directly or transitively. */
export function ancestorsOf(needs: Record<string, string[]>, id: string): Set<string> {
  const out = new Set<string>()
  const visit = (j: string) => {
    for (const d of needs[j] ?? []) {
      if (out.has(d)) continue
      out.add(d)
      visit(d)
    }
  }
  visit(id)
  return out
}
