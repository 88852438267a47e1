/**
 * The one YAML loader of the lab file formats (labs, pipelines, grading specs): parse
 * with line numbers, find the line of a JSON path, and turn ajv's schema errors into
 * problems a person can act on — "FILE:LINE: /json/path: what is wrong".
 *
 * ajv, run with allErrors, reports every branch of every anyOf/oneOf that failed, and a
 * misspelled key twice: as an unknown key and as a missing required one. So
 * schemaProblems() keeps the real cause: a misspelling becomes "unknown key `step` —
 * did you mean `steps`?" (and the missing `steps` it explains goes), and a problem
 * inside a value beats the failed alternatives about the whole value ("must be null",
 * "must match a schema in anyOf").
 */
import {createRequire} from 'node:module'

import type {Document} from 'yaml'

import type {SchemaProblem} from '../validators.js'
import {closest} from './suggest.js'

export type YamlPath = Array<string | number>

export interface ParsedYaml {
  data: unknown
  doc: Document.Parsed
  /** the 1-based line where the value at a path (or its nearest ancestor) starts */
  lineOf(path: YamlPath | string): number | null
}

/** A YAML syntax error, already formatted as "FILE:LINE:COL: message". */
export class YamlSyntaxError extends Error {}

/** "/a/0/b" → ['a', 0, 'b'] (JSON pointer unescaping included). */
export function jsonPathToYaml(path: string): YamlPath {
  if (path === '/' || path === '') return []
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p))
}

export function yamlPathToJson(path: YamlPath): string {
  return path.length === 0 ? '/' : '/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')
}

/**
 * Parses YAML text (duplicate keys are an error). A syntax error, "FILE:LINE:COL: message",
 * is thrown as the format's own error (`invalid`, given the problems), or as a YamlSyntaxError.
 */
declare const __lab_bundled_yaml: typeof import('yaml') | undefined

export function parseYaml(text: string, shown: string, invalid?: (problems: string[]) => Error): ParsedYaml {
  // loaded on first use: the schema helpers below are on `lab sandbox run`'s path (seccomp
  // profiles), the YAML parser (70-odd modules) is not; a bundle that has it (lab ci's,
  // scripts/build.mjs) gives its copy
  const {LineCounter, parseDocument} = (typeof __lab_bundled_yaml === 'object' && __lab_bundled_yaml ? __lab_bundled_yaml : createRequire(import.meta.url)('yaml')) as typeof import('yaml')
  const lines = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lines, prettyErrors: false, uniqueKeys: true})
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const pos = lines.linePos(e.pos[0])
    const problem = `${shown}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`
    throw invalid ? invalid([problem]) : new YamlSyntaxError(problem)
  }
  const lineOf = (p: YamlPath | string): number | null => {
    const path = typeof p === 'string' ? jsonPathToYaml(p) : p
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as {range?: [number, number, number]} | undefined
      if (node && node.range) return lines.linePos(node.range[0]).line
    }
    return null
  }
  return {data: doc.toJS(), doc, lineOf}
}

/** "FILE:LINE: /path: message" (the line left out when the path is not in the file). */
export function problemLine(shown: string, parsed: Pick<ParsedYaml, 'lineOf'>, path: YamlPath | string, message: string): string {
  const line = parsed.lineOf(path)
  const json = typeof path === 'string' ? (path === '' ? '/' : path) : yamlPathToJson(path)
  return `${shown}${line ? `:${line}` : ''}: ${json}: ${message}`
}

type Schema = Record<string, unknown>

/** The schemas that may describe the value at a path (every branch of anyOf/oneOf/allOf). */
function schemasAt(schema: Schema, path: YamlPath): Schema[] {
  const expand = (s: unknown): Schema[] => {
    if (!s || typeof s !== 'object') return []
    const o = s as Schema
    return [o, ...(['anyOf', 'oneOf', 'allOf'] as const).flatMap((k) => (Array.isArray(o[k]) ? (o[k] as unknown[]).flatMap(expand) : []))]
  }
  let current = expand(schema)
  for (const seg of path) {
    const next: unknown[] = []
    for (const s of current) {
      if (typeof seg === 'number' || /^\d+$/.test(String(seg))) {
        if (Array.isArray(s.items)) next.push((s.items as unknown[])[Number(seg)])
        else if (s.items) next.push(s.items)
      }
      const props = s.properties as Record<string, unknown> | undefined
      if (props && Object.hasOwn(props, String(seg))) next.push(props[String(seg)])
      else {
        for (const [re, sub] of Object.entries((s.patternProperties ?? {}) as Record<string, unknown>)) if (new RegExp(re, 'u').test(String(seg))) next.push(sub)
        if (s.additionalProperties && typeof s.additionalProperties === 'object') next.push(s.additionalProperties)
      }
    }
    current = next.flatMap(expand)
  }
  return current
}

/** The keys a mapping at this path may have, by its schema. */
function allowedKeys(schema: Schema | undefined, path: string): string[] {
  if (!schema) return []
  return [...new Set(schemasAt(schema, jsonPathToYaml(path)).flatMap((s) => Object.keys((s.properties ?? {}) as object)))]
}

/** The keys of the mapping at a path of the data (empty when there is none). */
function keysAt(data: unknown, path: string): Set<string> {
  let v = data
  for (const seg of jsonPathToYaml(path)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[String(seg)] : undefined
  return new Set(v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [])
}

/** Keywords that only say "this whole value matched no alternative". */
const ALTERNATIVES = new Set(['anyOf', 'oneOf', 'type', 'const', 'not', 'if'])

export interface SchemaProblemOptions {
  /** the schema that produced the problems: unknown keys are then matched against the keys it allows */
  schema?: object
  /** the data validated: a key it already has is never suggested for a misspelt one */
  data?: unknown
  /** one sentence for a value that matched no branch of a oneOf (e.g. "an action needs exactly one of run, …") */
  oneOf?: (path: string) => string | undefined
}

/**
 * ajv's problems → the real causes, one per line, in the order of the file's paths:
 * misspelt keys with the key meant, problems inside a value rather than the failed
 * alternatives about the whole value, each message once.
 */
export function schemaProblems(all: SchemaProblem[], opts: SchemaProblemOptions = {}): SchemaProblem[] {
  const problems = likeliestBranches(all, opts)
  const byPath = new Map<string, SchemaProblem[]>()
  for (const p of problems) byPath.set(p.path, [...(byPath.get(p.path) ?? []), p])
  const deeper = (path: string) => problems.some((q) => q.path !== path && q.path.startsWith(path === '/' ? '/' : `${path}/`))
  const out: SchemaProblem[] = []
  for (const [path, list] of byPath) {
    const unknown = [...new Set(list.filter((p) => p.keyword === 'additionalProperties').map((p) => String(p.params?.additionalProperty)))]
    const missing = [...new Set(list.filter((p) => p.keyword === 'required').map((p) => String(p.params?.missingProperty)))]
    const present = keysAt(opts.data, path)
    const allowed = allowedKeys(opts.schema as Schema | undefined, path).filter((k) => !present.has(k))
    const explained = new Set<string>()
    let misspelt = false
    for (const u of unknown) {
      const meant = closest(u, missing) ?? closest(u, allowed.filter((k) => !unknown.includes(k)))
      if (meant) {
        misspelt = true
        explained.add(meant)
        out.push({path, message: `unknown key \`${u}\` — did you mean \`${meant}\`?`, keyword: 'additionalProperties'})
      } else {
        out.push({path, message: `unknown key \`${u}\``, keyword: 'additionalProperties'})
      }
    }
    // a misspelling explains the failed branches and the missing keys of this mapping
    if (misspelt) {
      for (const p of list) if (p.keyword === 'required' && !explained.has(String(p.params?.missingProperty)) && !list.some((q) => q.keyword === 'oneOf' || q.keyword === 'anyOf')) out.push(p)
      continue
    }
    const oneOfSentence = list.some((p) => p.keyword === 'oneOf') && !deeper(path) ? opts.oneOf?.(path) : undefined
    if (oneOfSentence) {
      out.push({path, message: oneOfSentence, keyword: 'oneOf'})
      continue
    }
    for (const p of list) {
      if (p.keyword === 'additionalProperties') continue
      if (ALTERNATIVES.has(p.keyword ?? '') && deeper(path)) continue
      // "must match a schema in anyOf" adds nothing to the branch problems beside it
      if ((p.keyword === 'anyOf' || p.keyword === 'oneOf') && list.length > 1) continue
      out.push(p)
    }
  }
  const seen = new Set<string>()
  return out.filter((p) => (seen.has(p.path + '\0' + p.message) ? false : (seen.add(p.path + '\0' + p.message), true)))
}

/** The schema at a JSON pointer of ajv's schemaPath ("#/properties/x/oneOf/0"). */
function schemaAtPointer(schema: Schema, pointer: string): Schema | undefined {
  let v: unknown = schema
  for (const seg of pointer.replace(/^#\/?/, '').split('/').filter(Boolean)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined
  return v && typeof v === 'object' ? (v as Schema) : undefined
}

/**
 * A value that matched no branch of a oneOf/anyOf gets every branch's problems from ajv; only
 * the branch the author meant explains it: the one whose keys cover most of the value's own
 * keys (a test with `run` and `checks` is a test, not a framework group), then the one with
 * the fewest problems; a branch for another type of value comes last. The other branches' problems are dropped.
 */
function likeliestBranches(problems: SchemaProblem[], opts: SchemaProblemOptions): SchemaProblem[] {
  if (!opts.schema) return problems
  const drop = new Set<SchemaProblem>()
  for (const alt of problems) {
    if ((alt.keyword !== 'oneOf' && alt.keyword !== 'anyOf') || !alt.schemaPath) continue
    const prefix = `${alt.schemaPath}/`
    const inside = (p: SchemaProblem) => p !== alt && !!p.schemaPath?.startsWith(prefix) && (alt.path === '/' || p.path === alt.path || p.path.startsWith(`${alt.path}/`))
    const branches = new Map<string, SchemaProblem[]>()
    for (const p of problems) if (inside(p)) {
      const n = p.schemaPath!.slice(prefix.length).split('/')[0]
      branches.set(n, [...(branches.get(n) ?? []), p])
    }
    if (branches.size < 2) continue
    const present = keysAt(opts.data, alt.path)
    const known = (n: string) => {
      const s = schemaAtPointer(opts.schema as Schema, prefix + n)
      const props = Object.keys((s?.properties ?? {}) as object)
      return [...present].filter((k) => props.includes(k)).length
    }
    // a branch for another type of value (array vs null) is never the one meant
    const wrongType = (n: string) => (branches.get(n)!.some((p) => p.path === alt.path && p.keyword === 'type') ? 1 : 0)
    const ranked = [...branches.keys()].sort((a, b) => wrongType(a) - wrongType(b) || known(b) - known(a) || branches.get(a)!.length - branches.get(b)!.length)
    for (const n of ranked.slice(1)) for (const p of branches.get(n)!) drop.add(p)
  }
  return drop.size ? problems.filter((p) => !drop.has(p)) : problems
}

/** The one-line summary of a list of problems: the first, and how many more. */
export function summarizeProblems(problems: string[]): string {
  return problems[0] + (problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '')
}
