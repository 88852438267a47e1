/**
 * Loading a pipeline: the YAML (a lab pipeline or a GitHub Actions workflow) is parsed,
 * checked against the published schema (schemas/ci.schema.json), then by checks of
 * meaning: the needs graph, matrices, expressions, step ids and every path (relative,
 * no ".."). The first problem is one line: "FILE:LINE: /json/path: what is wrong".
 */
import {existsSync, lstatSync, readFileSync, realpathSync} from 'node:fs'
import {basename, isAbsolute, relative, resolve} from 'node:path'

import {LabError} from '../errors.js'
import {relComponents} from '../labs/fsafe.js'
import {parseYaml, problemLine, schemaProblems, summarizeProblems} from '../util/yaml-load.js'
import {check as schemaCheck} from '../validators.js'
import {dagProblems} from './dag.js'
import {checkTemplate} from './expr.js'
import {isCheckout, isGithubWorkflow, unsupportedUses} from './github.js'
import {expandMatrix, matrixProblems} from './matrix.js'
import type {JobDef, Pipeline, StepDef} from './model.js'
import {CI_SCHEMA, type ArtifactFile, type CacheFile, type ContainerFile, type JobFile, type PipelineFile} from './schema.js'

export const DEFAULT_PIPELINE = '.lab/ci.yml'
const MAX_FILE_BYTES = 1024 * 1024

export class PipelineError extends LabError {
  readonly problems: string[]
  constructor(problems: string[]) {
    super('ci-invalid', summarizeProblems(problems), {
      hint: 'fix the pipeline file; its schema is schemas/ci.schema.json',
    })
    this.problems = problems
  }
}

/** A step that has neither run nor uses, or both: one sentence. */
const stepOneOf = (path: string) => (/\/steps\/\d+$/.test(path) ? 'a step needs exactly one of run or uses' : undefined)

/** The repository a pipeline belongs to: the directory holding .lab/ or .github/. */
export function defaultWorkspace(file: string): string {
  const abs = resolve(file)
  const m = /^(.*)\/\.(lab|github\/workflows)\/[^/]+$/.exec(abs)
  return m ? m[1] || '/' : process.cwd()
}

export interface LoadOptions {
  workspace?: string
  /** unsupported uses: steps are errors instead of skipped with a warning */
  strict?: boolean
}

export async function loadPipeline(file: string = DEFAULT_PIPELINE, opts: LoadOptions = {}): Promise<Pipeline> {
  const shown = isAbsolute(file) ? (relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file) || file) : file
  let st
  try {
    st = lstatSync(file)
  } catch {
    throw new LabError('ci-not-found', `${shown}: no such pipeline file`, {hint: file === DEFAULT_PIPELINE ? 'create .lab/ci.yml (see examples/ci/) or give a file: lab ci PATH' : 'check the path', exitCode: 125})
  }
  if (!st.isFile() && !st.isSymbolicLink()) throw new LabError('ci-not-found', `${shown}: not a regular file`, {hint: 'give the pipeline YAML file'})
  if (st.size > MAX_FILE_BYTES) throw new LabError('ci-invalid', `${shown}: larger than ${MAX_FILE_BYTES} bytes`, {hint: 'a pipeline file is small YAML'})
  const text = readFileSync(file, 'utf8')

  const parsed = parseYaml(text, shown, (problems) => new PipelineError(problems))
  const problems: string[] = []
  const add = (path: string, message: string) => problems.push(problemLine(shown, parsed, path, message))
  const data = parsed.data as PipelineFile
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new PipelineError([`${shown}: /: the file must be a mapping with a jobs: key`])

  // services with a container image are a common GitHub pattern lab cannot honour: say so plainly
  for (const [jid, j] of Object.entries((data.jobs ?? {}) as unknown as Record<string, Record<string, unknown>>)) {
    for (const [sid, s] of Object.entries((j?.services ?? {}) as Record<string, Record<string, unknown>>)) {
      if (s && typeof s === 'object' && 'image' in s) add(`/jobs/${jid}/services/${sid}/image`, 'services run a command in a sandbox, not a container image: give the service a run: command (and ready: port or run)')
    }
  }
  if (problems.length) throw new PipelineError(problems)
  for (const p of schemaProblems(await schemaCheck('ci', data), {schema: CI_SCHEMA, data, oneOf: stepOneOf})) add(p.path, p.message)
  if (problems.length) throw new PipelineError(problems)

  const kind = isGithubWorkflow(resolve(file), data as unknown as Record<string, unknown>) ? 'github' : 'lab'
  const warnings: string[] = []
  const workspace = opts.workspace ? resolve(opts.workspace) : defaultWorkspace(file)
  if (!existsSync(workspace)) throw new LabError('ci-workspace', `workspace ${workspace} does not exist`, {hint: 'give the repository directory with --workspace'})
  const workspaceReal = realpathSync(workspace)

  // --- meaning
  const needs: Record<string, string[]> = {}
  for (const [id, j] of Object.entries(data.jobs)) needs[id] = j.needs === undefined ? [] : Array.isArray(j.needs) ? j.needs : [j.needs]
  for (const p of dagProblems(needs)) add(p.path, p.message)

  const checkExpr = (value: unknown, path: string) => {
    if (typeof value !== 'string') return
    try {
      checkTemplate(value, path)
    } catch (e) {
      add(path, (e as LabError).message.replace(/^[^:]*: /, ''))
    }
  }
  const checkIf = (value: unknown, path: string) => {
    if (typeof value !== 'string') return
    const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(value)
    checkExpr(m ? value : `\${{ ${value} }}`, path)
  }
  const checkRel = (value: string, path: string) => {
    try {
      relComponents(value.replace(/\/+$/, ''), path)
    } catch (e) {
      add(path, `${(e as LabError).message.replace(/^[^:]*: /, '')}; paths are relative to the workspace`)
    }
  }
  const checkEnv = (env: Record<string, unknown> | undefined, path: string) => {
    for (const [k, v] of Object.entries(env ?? {})) checkExpr(v, `${path}/${k}`)
  }
  checkEnv(data.env, '/env')

  const jobs: Record<string, JobDef> = {}
  for (const [id, j] of Object.entries(data.jobs)) {
    const base = `/jobs/${id}`
    checkIf(j.if, `${base}/if`)
    checkExpr(j.name, `${base}/name`)
    checkEnv(j.env, `${base}/env`)
    let matrix: JobDef['matrix'] = null
    const m = j.strategy?.matrix
    if (typeof m === 'string') add(`${base}/strategy/matrix`, 'a matrix computed by an expression is not supported; list the axes')
    else if (m !== undefined) {
      const mp = matrixProblems(m, `${base}/strategy/matrix`)
      for (const p of mp) add(p.path, p.message)
      if (mp.length === 0) {
        matrix = expandMatrix(m as Record<string, unknown>)
        if (matrix.length === 0) add(`${base}/strategy/matrix`, 'every combination is excluded, so the job would never run')
      }
    }
    let container: ContainerFile = {...(data.container ?? {})}
    if (typeof j.container === 'string') {
      const msg = `${base}/container: "${j.container}" names a container image; lab runs steps on the host's system directories (or container.rootfs) instead`
      if (opts.strict) add(`${base}/container`, 'a container image is not supported (lab does not pull images); use container: {rootfs: DIR} or leave it out')
      else warnings.push(msg)
    } else if (j.container) {
      container = {...container, ...j.container}
    }
    const services: JobDef['services'] = {}
    for (const [sid, s] of Object.entries(j.services ?? {})) {
      const sp = `${base}/services/${sid}`
      checkExpr(s.run, `${sp}/run`)
      checkEnv(s.env, `${sp}/env`)
      if (s['working-directory']) checkRel(s['working-directory'], `${sp}/working-directory`)
      for (const [k, v] of Object.entries(s.env ?? {})) if (typeof v === 'string' && /secrets\s*\./.test(v)) add(`${sp}/env/${k}`, 'secrets are not given to services (a service\'s settings are kept on disk while it runs)')
      services[sid] = s
    }
    if (Object.keys(services).length && container.network === 'host') add(`${base}/services`, 'services need the job\'s own network; they cannot be used with container.network: host')
    const stepIds = new Set<string>()
    const steps: StepDef[] = j.steps.map((s, i) => {
      const sp = `${base}/steps/${i}`
      if (s.id) {
        if (stepIds.has(s.id)) add(`${sp}/id`, `two steps of job "${id}" have the id "${s.id}"`)
        stepIds.add(s.id)
      }
      checkIf(s.if, `${sp}/if`)
      checkExpr(s.run, `${sp}/run`)
      checkExpr(s.name, `${sp}/name`)
      checkEnv(s.env, `${sp}/env`)
      if (s['working-directory']) {
        checkExpr(s['working-directory'], `${sp}/working-directory`)
        if (!s['working-directory'].includes('${{')) checkRel(s['working-directory'], `${sp}/working-directory`)
      }
      if (typeof s['continue-on-error'] === 'string') checkIf(s['continue-on-error'], `${sp}/continue-on-error`)
      if (s.shell && !/^(sh|bash|python3?)$/.test(s.shell)) add(`${sp}/shell`, `shell "${s.shell}" is not supported (use sh, bash or python)`)
      let uses = s.uses
      if (uses !== undefined && !isCheckout(uses)) {
        try {
          warnings.push(unsupportedUses(uses, sp, opts.strict ?? false))
        } catch (e) {
          add(`${sp}/uses`, (e as LabError).message.replace(/^[^:]*: /, ''))
        }
      }
      if (uses !== undefined && isCheckout(uses)) uses = 'actions/checkout'
      return {
        index: i,
        id: s.id,
        name: s.name ?? (s.run ? firstLine(s.run) : `uses ${s.uses}`),
        run: s.run,
        uses,
        env: s.env ?? {},
        shell: s.shell,
        workingDirectory: s['working-directory'],
        timeoutMinutes: s['timeout-minutes'],
        continueOnError: s['continue-on-error'] ?? false,
        if: s.if,
      }
    })
    const artifacts: ArtifactFile[] = j.artifacts === undefined ? [] : Array.isArray(j.artifacts) ? j.artifacts : [j.artifacts]
    artifacts.forEach((a, i) => a.paths.forEach((p, k) => checkRel(p, `${base}/artifacts${Array.isArray(j.artifacts) ? `/${i}` : ''}/paths/${k}`)))
    const caches: CacheFile[] = j.cache === undefined ? [] : Array.isArray(j.cache) ? j.cache : [j.cache]
    caches.forEach((c, i) => {
      const cp = `${base}/cache${Array.isArray(j.cache) ? `/${i}` : ''}`
      checkExpr(c.key, `${cp}/key`)
      c.paths.forEach((p, k) => checkRel(p, `${cp}/paths/${k}`))
      ;(c.files ?? []).forEach((p, k) => checkRel(p, `${cp}/files/${k}`))
    })
    const d = j.defaults?.run ?? data.defaults?.run ?? {}
    if (d['working-directory']) checkRel(d['working-directory'], `${base}/defaults/run/working-directory`)
    jobs[id] = {
      id,
      name: j.name,
      needs: needs[id],
      if: j.if,
      env: j.env ?? {},
      matrix,
      failFast: j.strategy?.['fail-fast'] ?? true,
      maxParallel: j.strategy?.['max-parallel'],
      container,
      workspace: j.workspace ?? 'copy',
      services,
      steps,
      artifacts,
      caches,
      timeoutMinutes: j['timeout-minutes'],
      continueOnError: j['continue-on-error'] ?? false,
      defaults: {shell: d.shell, workingDirectory: d['working-directory']},
      outputs: (j as JobFile).outputs ?? {},
    }
  }
  if (problems.length) throw new PipelineError(problems)
  return {file: shown, kind, name: data.name ?? basename(file).replace(/\.ya?ml$/, ''), workspace: workspaceReal, env: data.env ?? {}, jobs, warnings}
}

function firstLine(s: string): string {
  const l = s.trim().split('\n')[0]
  return l.length > 60 ? l.slice(0, 57) + '...' : l
}
