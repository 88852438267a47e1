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
import {availabilityProblems} from './availability.js'
import {dagProblems} from './dag.js'
import {checkTemplate, hasExpression} from './expr.js'
import {expressionStrings, hasExpressions} from './workflow.js'
import {shellProblem} from './shells.js'
import {expandCalls} from './reusable.js'
import {isGithubWorkflow} from './github.js'
import {describeUses, unsupportedError, usesKind} from './uses.js'
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
  /** --action-dir: OWNER/REPO@REF → a local copy */
  actionDirs?: Record<string, string>
  /** how deep in reusable workflow calls this file is */
  depth?: number
  /** where this file's `./.github/workflows/` calls are read (default: the workspace; a
   * remote reusable workflow's: the copy of its repository) */
  callBase?: string
  /** the unique reusable workflows the whole run calls (GitHub's limit of 20) */
  called?: Set<string>
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
  // GitHub's per-key context availability: a job's if: cannot read matrix, a step's if: cannot read secrets…
  if (kind === 'github') for (const [path, message] of availabilityProblems(data as unknown as Record<string, unknown>)) add(path, message)

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
  const checkShell = (shell: string, path: string) => {
    if (hasExpression(shell)) return checkExpr(shell, path)
    const problem = shellProblem(shell)
    if (problem) add(path, problem)
  }
  const checkEnv = (env: Record<string, unknown> | undefined, path: string) => {
    for (const [k, v] of Object.entries(env ?? {})) checkExpr(v, `${path}/${k}`)
  }
  checkEnv(data.env, '/env')
  // a rootfs or profile the pipeline names is a file of the workspace (runner.ts reads it from the job's copy)
  const checkContainer = (c: ContainerFile | undefined, path: string) => {
    if (!c || typeof c !== 'object') return
    if (c.rootfs !== undefined) checkRel(c.rootfs, `${path}/rootfs`)
    if (c.seccomp !== undefined && !['default', 'strict', 'unconfined'].includes(c.seccomp)) checkRel(c.seccomp, `${path}/seccomp`)
  }
  checkContainer(data.container, '/container')
  for (const [id, j] of Object.entries(data.jobs)) {
    if (typeof j.container === 'object') checkContainer(j.container, `/jobs/${id}/container`)
    for (const [sid, sv] of Object.entries(j.services ?? {})) checkContainer(sv.container, `/jobs/${id}/services/${sid}/container`)
  }

  const jobs: Record<string, JobDef> = {}
  for (const [id, j] of Object.entries(data.jobs)) {
    const base = `/jobs/${id}`
    if (j.uses !== undefined) {
      if (j.steps !== undefined) add(base, 'a job either calls a reusable workflow (uses:) or has steps:, not both')
      for (const [path, v] of expressionStrings(j.with ?? {}, `${base}/with`)) checkExpr(v, path)
      for (const [path, v] of expressionStrings(typeof j.secrets === 'object' ? j.secrets : {}, `${base}/secrets`)) checkExpr(v, path)
      j.steps = []
    } else if (j.steps === undefined) {
      add(base, "must have required property 'steps'")
      continue
    }
    checkIf(j.if, `${base}/if`)
    checkExpr(j.name, `${base}/name`)
    checkEnv(j.env, `${base}/env`)
    let matrix: JobDef['matrix'] = null
    let matrixSource: unknown
    const m = j.strategy?.matrix
    if (m !== undefined && hasExpressions(m)) {
      // computed when the job starts (fromJSON(needs.setup.outputs.matrix)…): only the syntax is checked now
      matrixSource = m
      for (const [path, v] of expressionStrings(m, `${base}/strategy/matrix`)) checkIf(v, path)
    } else if (typeof m === 'string') add(`${base}/strategy/matrix`, 'the matrix must be a mapping of axes, or an expression such as ${{ fromJSON(needs.setup.outputs.matrix) }}')
    else if (m !== undefined) {
      const mp = matrixProblems(m, `${base}/strategy/matrix`)
      for (const p of mp) add(p.path, p.message)
      if (mp.length === 0) {
        matrix = expandMatrix(m as Record<string, unknown>)
        if (matrix.length === 0) add(`${base}/strategy/matrix`, 'every combination is excluded, so the job would never run')
      }
    }
    let container: ContainerFile = {...(data.container ?? {})}
    // GitHub's container: IMAGE (or {image: …}): the steps run on an image of lab's store
    if (typeof j.container === 'string') container = {...container, image: j.container}
    else if (j.container) container = {...container, ...j.container}
    if (container.image !== undefined) {
      checkExpr(container.image, `${base}/container/image`)
      if (container.rootfs !== undefined) add(`${base}/container`, 'give either image or rootfs, not both')
      checkEnv(container.env, `${base}/container/env`)
      if (container.options) warnings.push(`${base}/container/options: "${container.options}" is a docker option; lab applies the container: keys it knows (image, env, and lab's sandbox settings) only`)
    }
    const services: JobDef['services'] = {}
    for (const [sid, s] of Object.entries(j.services ?? {})) {
      const sp = `${base}/services/${sid}`
      checkExpr(s.run, `${sp}/run`)
      checkExpr(s.image, `${sp}/image`)
      const otherOptions = (s.options ?? '').replace(/--health-cmd(?:=|\s+)(?:"(?:[^"\\]|\\.)*"|'[^']*'|\S+)/, '').trim()
      if (otherOptions) warnings.push(`${sp}/options: "${otherOptions}" are docker options lab does not apply; it reads --health-cmd (the readiness command) only`)
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
      // GitHub takes an absolute working-directory as it is and a relative one against the workspace
      if (s['working-directory']) checkExpr(s['working-directory'], `${sp}/working-directory`)
      if (typeof s['continue-on-error'] === 'string') checkIf(s['continue-on-error'], `${sp}/continue-on-error`)
      if (typeof s['timeout-minutes'] === 'string') checkIf(s['timeout-minutes'], `${sp}/timeout-minutes`)
      if (s.shell) checkShell(s.shell, `${sp}/shell`)
      let uses = s.uses
      const usesAs = uses === undefined ? null : usesKind(uses, opts.actionDirs ?? {})
      if (uses !== undefined && (usesAs === 'remote' || usesAs === 'docker')) {
        if (opts.strict) add(`${sp}/uses`, unsupportedError(uses, sp).message.replace(/^[^:]*: /, ''))
        else warnings.push(`${sp}: "uses: ${uses}" ${describeUses(uses, opts.actionDirs ?? {})}`)
      }
      if (uses !== undefined && usesAs === 'checkout') uses = 'actions/checkout'
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
        ...(s.with ? {with: s.with} : {}),
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
    // job defaults override the workflow's, key by key
    const d = {...(data.defaults?.run ?? {}), ...(j.defaults?.run ?? {})}
    const dp = j.defaults?.run ? `${base}/defaults/run` : '/defaults/run'
    if (d['working-directory']) checkExpr(d['working-directory'], `${dp}/working-directory`)
    if (d.shell) checkShell(d.shell, `${dp}/shell`)
    if (typeof j['continue-on-error'] === 'string') checkIf(j['continue-on-error'], `${base}/continue-on-error`)
    if (typeof j['timeout-minutes'] === 'string') checkIf(j['timeout-minutes'], `${base}/timeout-minutes`)
    jobs[id] = {
      id,
      name: j.name,
      needs: needs[id],
      if: j.if,
      env: j.env ?? {},
      matrix,
      ...(matrixSource !== undefined ? {matrixSource} : {}),
      ...(j['runs-on'] !== undefined ? {runsOn: j['runs-on']} : {}),
      ...(j.permissions !== undefined ? {permissions: j.permissions} : {}),
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
  const calls: Array<[string, JobFile]> = []
  const called = opts.called ?? new Set<string>()
  const callOpts = {
    base: opts.callBase ?? workspaceReal,
    depth: opts.depth ?? 0,
    actionDirs: opts.actionDirs ?? {},
    strict: opts.strict,
    called,
    load: (f: string, depth: number, callBase: string) => loadPipeline(f, {...opts, workspace: workspaceReal, depth, callBase, called}),
    add,
    warn: (w: string) => warnings.push(w),
  }
  for (const [id, jf] of Object.entries(data.jobs)) {
    if (jf.uses === undefined) continue
    if (!jobs[id].matrix && jobs[id].matrixSource === undefined) {
      calls.push([id, jf])
      continue
    }
    // a matrix call (literal or computed): the called workflow's jobs are loaded once as a
    // template; each combination becomes a call of its own when the job starts (call-legs.ts)
    const {matrixSource: _m, ...plain} = jobs[id]
    const t: Record<string, JobDef> = {[id]: {...plain, matrix: null}}
    await expandCalls(t, [[id, jf]], callOpts)
    const callee = t[id].callee
    jobs[id] = {...jobs[id], callee: callee?.unsupported ? callee : {jobs: [], prefix: id, outputs: callee?.outputs ?? {}, legs: true, template: Object.values(t).filter((x) => x.id !== id)}}
  }
  if (calls.length) await expandCalls(jobs, calls, callOpts)
  if (problems.length) throw new PipelineError(problems)
  return {file: shown, kind, name: data.name ?? basename(file).replace(/\.ya?ml$/, ''), workspace: workspaceReal, env: data.env ?? {}, jobs, warnings, on: data.on, permissions: data.permissions}
}

function firstLine(s: string): string {
  const l = s.trim().split('\n')[0]
  return l.length > 60 ? l.slice(0, 57) + '...' : l
}
