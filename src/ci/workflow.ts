/**
 * Walking a workflow's values for `${{ }}`: which keys hold expressions, found with
 * their JSON paths (for load-time checks, the linter and --list).
 */

/** Whether any string inside v holds a `${{`. */
export function hasExpressions(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('${{')
  if (Array.isArray(v)) return v.some(hasExpressions)
  if (v && typeof v === 'object') return Object.values(v).some(hasExpressions)
  return false
}

/** Every string holding a `${{` inside v, with its JSON path. */
export function expressionStrings(v: unknown, path: string): Array<[string, string]> {
  if (typeof v === 'string') return v.includes('${{') ? [[path, v]] : []
  if (Array.isArray(v)) return v.flatMap((x, i) => expressionStrings(x, `${path}/${i}`))
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => expressionStrings(x, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`))
  return []
}
