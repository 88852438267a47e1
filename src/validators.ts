/**
 * Loads the ahead-of-time compiled ajv validators and turns their errors into a
 * LabError naming the JSON path of the first problem (all of them in `details`).
 */
import {LabError} from './errors.js'

export interface SchemaProblem {
  path: string
  message: string
  /** ajv's keyword and parameters, for src/util/yaml-load.ts's clean-up */
  keyword?: string
  params?: Record<string, unknown>
  /** where in the schema it failed (ajv's schemaPath), to tell the branches of a oneOf apart */
  schemaPath?: string
}

type CompiledValidator = ((data: unknown) => boolean) & {
  errors?: Array<{instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string}> | null
}

const cache = new Map<string, CompiledValidator>()

// The bundled run path (scripts/build.mjs, bin/fast-start.cjs) loads the CommonJS form
// of the one validator it needs: it has no module loader for import(), and bundling
// every validator would make it read a megabyte it does not use.
declare const __lab_validator: ((name: string) => {default: CompiledValidator}) | undefined
// (a variable, so the bundler does not pull every validator in)
const VALIDATORS = './validators/'

async function load(name: string): Promise<CompiledValidator> {
  let v = cache.get(name)
  if (!v) {
    const mod = typeof __lab_validator === 'function' ? __lab_validator(name) : ((await import(VALIDATORS + name + '.js')) as {default: CompiledValidator})
    v = mod.default
    cache.set(name, v)
  }
  return v
}

export function describeProblem(e: {instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string; schemaPath?: string}): SchemaProblem {
  const path = e.instancePath === '' ? '/' : e.instancePath
  let message = e.message ?? e.keyword
  if (e.keyword === 'additionalProperties' && e.params?.additionalProperty) message = `unknown key "${String(e.params.additionalProperty)}"`
  if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) message = `must be one of ${(e.params!.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`
  return {path, message, keyword: e.keyword, params: e.params, schemaPath: e.schemaPath}
}

/** Validates data against a named schema; returns the problems (empty when valid). */
export async function check(name: string, data: unknown): Promise<SchemaProblem[]> {
  const v = await load(name)
  if (v(data)) return []
  return (v.errors ?? []).map(describeProblem)
}

/** Validates and throws a LabError naming the first problem's JSON path. */
export async function assertValid(name: string, data: unknown, what: string, hint?: string): Promise<void> {
  const problems = await check(name, data)
  if (problems.length === 0) return
  const first = problems[0]
  const err = new LabError('invalid-' + name, `${what}: ${first.path}: ${first.message}`, {hint})
  ;(err as LabError & {details: SchemaProblem[]}).details = problems
  throw err
}
