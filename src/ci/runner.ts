/**
 * Running a pipeline: jobs in the order their `needs` allow (independent ones in
 * parallel, up to `jobs` at once), each matrix combination as its own job run, each
 * step in a fresh hardened sandbox. For each job run:
 *
 *   1. a private copy of the checkout (links copied as links, never followed), given
 *      to an unprivileged id so the sandbox's root owns it through an idmapped bind;
 *      the caller's checkout is never mounted, so no step can change it
 *   2. caches restored (a copy, or a read-only bind over the path)
 *   3. services started in one new network namespace and waited for (port or command)
 *   4. steps, each in its own sandbox that joins the services' network; output masked,
 *      streamed with a prefix and kept in per-step logs
 *   5. services stopped, artifacts collected, caches saved, and with `workspace: write`
 *      the copy written back into the checkout (again never through a link)
 *
 * Everything on the host lives in one temporary directory per run, removed at the end,
 * also on failure and Ctrl-C; a run killed outright is swept by the next one (its name
 * carries the owner's pid). Services run in the foreground of this process, so their
 * helpers end them when it dies.
 */
import {chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, type Stats} from 'node:fs'
import {rm} from 'node:fs/promises'
import {availableParallelism, tmpdir} from 'node:os'
import {createHash} from 'node:crypto'
import {join, posix} from 'node:path'

import {LabError} from '../errors.js'
import type {SandboxRequest} from '../sandbox/request.js'
import type {LimitsRequest} from '../sandbox/limits.js'
import type {SandboxResult} from '../sandbox/result.js'
import {runRequest} from '../sandbox/run-request.js'
import type {Mount} from '../sandbox/spec.js'
import {processStartTime} from '../sandbox/state/proc.js'
import {collectArtifact, shouldCollect, type ArtifactResult} from './artifacts.js'
import {CacheStore, fullKey, restoreCopy, type CacheOutcome} from './cache.js'
import {hashFilesGlob} from './hashfiles.js'
import {builtinAction, runBuiltin} from './builtin-actions.js'
import {ancestorsOf, topoOrder} from './dag.js'
import {expandLegs, matrixCallOutputs} from './call-legs.js'
import {buildEvent, triggers} from './events.js'
import {expandMatrix, matrixProblems} from './matrix.js'
import {compile, evalCondition, interpolate, replaceExpressions, toStr, truthy, type ExprContext, type Value} from './expr.js'
import {WorkflowCommands} from './commands.js'
import {shellPlan} from './shells.js'
import {usesKind} from './uses.js'
import {parse as parseYaml} from 'yaml'
import {chownTree, copyTree, ensureDirInside, resolveInside} from './files.js'
import {COMMAND_FILES, EVENT_PATH, githubContext, githubEnv, parseCommandFile, type EventInfo, repositoryName, runnerContext, RUNNER_TEMP_DIR, WORKSPACE_DIR} from './github.js'
import {newRunId, RunRecord, slug, type StepLog} from './logs.js'
import {newId} from '../sandbox/names.js'
import type {JobDef, Pipeline, StepDef} from './model.js'
import {annotations, failuresOf, junitXml, type CiResult, type JobResult, type StepResult} from './report.js'
import {MaskedLines, Masker} from './secrets.js'
import {startService, waitReady, type NetJoin, type RunningService} from './services.js'
import {limiter} from '../util/limiter.js'
import {sweepStaleTemp} from '../util/stale-temp.js'
import type {ContainerFile, EnvMap} from './schema.js'
import type {Refusal, TrustPolicy} from './policy.js'
import {isBuildAction, runBuildAction} from './build-action.js'
import {profileProblems} from '../seccomp/load.js'

/** Owner of a job's private workspace copy as root: idmapped to the sandbox's root inside. */
export const CI_UID = 65534
const TMP_PREFIX = 'lab-ci-'
const DEFAULT_JOB_MINUTES = 360
const DEFAULT_OUTPUT_LIMIT = '64m'
const COMMAND_FILE_MAX = 1024 * 1024
const SERVICE_READY_DEFAULT_S = 30

export interface CiRunOptions {
  /** job runs at once (default: the number of CPUs) */
  jobs?: number
  secrets?: Record<string, string>
  /** every output line as it comes, already masked */
  onLine?: (prefix: string, stream: 'stdout' | 'stderr' | 'lab', line: string) => void
  abortSignal?: AbortSignal
  /** where the workspace copies and job temp directories go (default: the OS temp dir) */
  tmpBase?: string
  /** what triggered the run (default: the workflow's first trigger on the checkout's ref) */
  event?: EventInfo
  /** the vars context (--var NAME=VALUE) */
  vars?: Record<string, string>
  /** the inputs context (workflow_dispatch inputs with their defaults) */
  inputs?: Record<string, Value>
  /** --action-dir: OWNER/REPO@REF → a local copy of that action */
  actionDirs?: Record<string, string>
  /** who granted what (policy.ts): the cache scope, and the refusals to report */
  policy?: TrustPolicy & {refusals: Refusal[]}
}

interface JobRun {
  job: JobDef
  key: string
  matrix: Record<string, Value> | null
  /** strategy.job-index and job-total */
  index: number
  total: number
  result?: JobResult
}

function legsOf(j: JobDef, combos: Array<Record<string, Value> | null>): JobRun[] {
  return combos.map((m, index) => ({job: j, key: jobKey(j, m), matrix: m, index, total: combos.length}))
}

/** The run's event when none is given: the workflow's first trigger (push if it has one) on the checkout's ref. */
function defaultEvent(p: Pipeline): EventInfo {
  const names = Object.keys(triggers(p.on))
  const name = names.includes('push') || names.length === 0 ? 'push' : names[0]
  return buildEvent({name, gitRef: gitRef(p.workspace), gitSha: gitHead(p.workspace), repository: repositoryName(p.workspace), actor: process.env.USER ?? 'lab'})
}

/** A matrix given by expressions (the whole of it, or an axis), evaluated and checked. */
function evalMatrix(j: JobDef, ctx: ExprContext): Array<Record<string, Value>> {
  const where = `/jobs/${j.id}/strategy/matrix`
  const evalIn = (v: unknown, w: string): unknown => {
    if (typeof v === 'string') {
      const inner = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(v)
      if (inner && !inner[1].includes('}}')) return compile(inner[1], w)(ctx)
      return interpolate(v, ctx, w)
    }
    if (Array.isArray(v)) return v.map((x, i) => evalIn(x, `${w}/${i}`))
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evalIn(x, `${w}/${k}`)]))
    return v
  }
  const m = evalIn(j.matrixSource, where)
  const problems = matrixProblems(m, where)
  if (problems.length) throw new LabError('ci-matrix', `${problems[0].path}: ${problems[0].message} (the matrix was computed as ${JSON.stringify(m).slice(0, 200)})`, {hint: 'fix the expression or the output it reads'})
  const combos = expandMatrix(m as Record<string, unknown>)
  if (combos.length === 0) throw new LabError('ci-matrix', `${where}: every combination is excluded, so the job would never run`)
  return combos
}

/** The result of a job that called a reusable workflow: its called jobs' result and the workflow's outputs. */
function finishCall(p: Pipeline, j: JobDef, runs: Record<string, JobRun[]>, outcome: (id: string) => {result: string; outputs: Record<string, string>; finished: number}, ctx: ExprContext, masker: Masker): JobRun {
  const r: JobRun = {job: j, key: j.id, matrix: null, index: 0, total: 1}
  const c = j.callee!
  if (c.unsupported) {
    r.result = emptyJob(r, 'skipped', c.unsupported)
    return r
  }
  if (c.legs) {
    // a matrix call: the legs' results, and the outputs of the last leg that set them
    const rs = c.jobs.map((id) => outcome(id))
    const st: JobResult['status'] = rs.some((x) => x.result === 'failure') ? 'failure' : rs.some((x) => x.result === 'cancelled') ? 'cancelled' : rs.every((x) => x.result === 'skipped') ? 'skipped' : 'success'
    r.result = emptyJob(r, st, st === 'failure' ? `a leg of the matrix call failed (${c.jobs.filter((id) => outcome(id).result === 'failure').join(', ')})` : '')
    if (!r.result.error) delete r.result.error
    r.result.outputs = masker.maskDeep(matrixCallOutputs(rs))
    return r
  }
  const results = c.jobs.map((id) => outcome(id).result)
  const status: JobResult['status'] = results.includes('failure') ? 'failure' : results.includes('cancelled') ? 'cancelled' : results.every((x) => x === 'skipped') ? 'skipped' : 'success'
  r.result = emptyJob(r, status, status === 'failure' ? `a job of the called workflow failed (${c.jobs.filter((id) => outcome(id).result === 'failure').join(', ')})` : '')
  if (!r.result.error) delete r.result.error
  const jobsCtx: Record<string, Value> = {}
  for (const id of c.jobs) if (id.startsWith(`${c.prefix}/`) && !id.slice(c.prefix.length + 1).includes('/')) jobsCtx[id.slice(c.prefix.length + 1)] = outcome(id)
  const octx: ExprContext = {...ctx, contexts: {...ctx.contexts, jobs: jobsCtx}}
  for (const [k, v] of Object.entries(c.outputs)) {
    try {
      r.result.outputs[k] = masker.mask(interpolate(v, octx, `${p.file}: /jobs/${j.id}/outputs/${k}`))
    } catch (e) {
      r.result.error = masker.mask((e as Error).message)
    }
  }
  return r
}

/** A called job's inputs (typed and defaulted as workflow_call.inputs says) and secrets. */
function callInputs(j: JobDef, ctx: ExprContext, secrets: Record<string, string>): {inputs: Record<string, Value>; secrets: Record<string, string>} {
  const call = j.call!
  const given: Record<string, Value> = {}
  for (const [k, v] of Object.entries(call.with)) given[k] = typeof v === 'string' ? interpolate(v, ctx, `/jobs/${call.caller}/with/${k}`) : (v as Value)
  const inputs: Record<string, Value> = {}
  for (const [k, d] of Object.entries(call.inputs)) {
    const v = k in given ? given[k] : d?.default === undefined ? undefined : typeof d.default === 'string' ? interpolate(d.default, ctx, `/on/workflow_call/inputs/${k}/default`) : (d.default as Value)
    if (v === undefined) {
      if (d?.required) throw new LabError('ci-input', `${call.caller} calls a workflow that requires input "${k}"`, {hint: `give it in with: ${k}: …`})
      inputs[k] = d?.type === 'boolean' ? false : d?.type === 'number' ? 0 : ''
    } else inputs[k] = d?.type === 'boolean' ? v === true || String(v).toLowerCase() === 'true' : d?.type === 'number' ? Number(v) : v
  }
  for (const k of Object.keys(given)) if (!(k in call.inputs)) throw new LabError('ci-input', `${call.caller} gives input "${k}", which the called workflow does not declare in workflow_call.inputs`, {hint: `declared: ${Object.keys(call.inputs).join(', ') || 'none'}`})
  let out: Record<string, string> = {}
  if (call.secrets === 'inherit') out = secrets
  else for (const [k, v] of Object.entries(call.secrets ?? {})) out[k] = interpolate(v, ctx, `/jobs/${call.caller}/secrets/${k}`)
  return {inputs, secrets: out}
}

/** Why a job's runs-on cannot run here (Windows, macOS), or null: ubuntu and Linux labels run here. */
export function notHere(runsOn: unknown, ctx: ExprContext, where: string): string | null {
  if (runsOn === undefined) return null
  const labelsOf = (v: unknown): string[] => {
    if (typeof v === 'string') {
      const inner = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(v)
      if (inner && !inner[1].includes('}}')) return labelsOf(compile(inner[1], where)(ctx))
      return [interpolate(v, ctx, where)]
    }
    if (Array.isArray(v)) return v.flatMap(labelsOf)
    if (v && typeof v === 'object') return labelsOf((v as Record<string, unknown>).labels ?? [])
    return []
  }
  const labels = labelsOf(runsOn)
  const other = labels.find((l) => /^(windows|macos|macOS|osx)/i.test(l))
  return other ? `runs-on: ${labels.join(', ')}: lab runs Linux jobs only (ubuntu-*, linux, self-hosted)` : null
}


const isRoot = () => process.getuid?.() === 0

/** Removes temp directories of runs whose lab process is gone (killed with SIGKILL). */
export function sweepStaleRuns(base = tmpdir()): string[] {
  return sweepStaleTemp(TMP_PREFIX, base)
}

function jobKey(job: JobDef, combo: Record<string, Value> | null): string {
  if (!combo) return job.id
  return `${job.id} (${Object.entries(combo).map(([k, v]) => `${k}=${toStr(v)}`).join(', ')})`
}

function envStrings(env: EnvMap, ctx: ExprContext, where: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) out[k] = typeof v === 'string' ? interpolate(v, ctx, `${where}/${k}`) : String(v)
  return out
}

const PROFILE_MAX = 1024 * 1024

/**
 * A path the pipeline names (a rootfs, a seccomp profile): inside the job's copy of the
 * workspace, reached through no link and no "..". The copy holds only what the checkout
 * held, so lab never reads a host file on the pipeline's behalf.
 */
function pipelinePath(ws: string, raw: string, what: string, kind: 'file' | 'dir'): string {
  const rel = raw.replace(/^\.\/+/, '').replace(/\/+$/, '')
  const found = !raw.startsWith('/') && rel && !rel.split('/').includes('..') ? resolveInside(ws, rel) : null
  const ok = found && (kind === 'dir' ? found.st.isDirectory() : found.st.isFile() && found.st.nlink === 1)
  if (!ok) throw new LabError('ci-path', `${what} ${raw}: not a ${kind === 'dir' ? 'directory' : 'regular file'} of the workspace (paths in a pipeline are relative to the workspace, without "..", through no link)`, {hint: `put the ${kind === 'dir' ? 'directory' : 'file'} in the repository and name it relative to its root`})
  return found!.path
}

/** A seccomp profile of the workspace, checked and copied where the job's steps cannot change it; errors never echo its content. */
async function pipelineProfile(ws: string, raw: string, dir: string): Promise<string> {
  const src = pipelinePath(ws, raw, 'container.seccomp', 'file')
  const text = readFileSync(src, 'utf8')
  const bad = () => new LabError('ci-seccomp', `container.seccomp ${raw}: not a valid seccomp profile`, {hint: 'check it with: lab profile validate FILE'})
  if (text.length > PROFILE_MAX) throw bad()
  let problems
  try {
    problems = (await profileProblems(text)).problems
  } catch {
    throw bad()
  }
  if (problems.length) throw bad()
  const copy = join(dir, `seccomp-${createHash('sha256').update(text).digest('hex').slice(0, 12)}.json`)
  writeFileSync(copy, text, {mode: 0o600})
  return copy
}

/** The request fields the pipeline's `container:` settings turn into (policy.ts has capped them already). */
async function containerRequest(c: ContainerFile, ws: string, dir: string, ctx?: ExprContext): Promise<Partial<SandboxRequest>> {
  const limits: LimitsRequest = {outputLimit: c['output-limit'] ?? DEFAULT_OUTPUT_LIMIT}
  if (c.memory) limits.memory = c.memory
  if (c.cpus !== undefined) limits.cpus = String(c.cpus)
  if (c['pids-limit'] !== undefined) limits.pidsLimit = String(c['pids-limit'])
  const rootfs = c.rootfs === undefined ? undefined : pipelinePath(ws, c.rootfs, 'container.rootfs', 'dir')
  const seccomp = c.seccomp === undefined ? undefined : ['default', 'strict', 'unconfined'].includes(c.seccomp) ? c.seccomp : await pipelineProfile(ws, c.seccomp, dir)
  const image = c.image === undefined ? undefined : ctx ? interpolate(c.image, ctx, 'container/image') : c.image
  return {
    rootfs,
    ...(image ? {image} : {}),
    limits,
    network: c.network ?? 'none',
    capAdd: c['cap-add'],
    capDrop: c['cap-drop'],
    readOnly: c['read-only'] ?? true,
    securityOpt: seccomp ? [`seccomp=${seccomp}`] : undefined,
    ulimit: c.ulimits,
  }
}

/** GitHub's `options: --health-cmd "CMD"` (or 'CMD', or one word): the readiness command. */
export function healthCmd(options: string | undefined): string | undefined {
  const m = /--health-cmd(?:=|\s+)(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+))/.exec(options ?? '')
  return m ? (m[1]?.replace(/\\(.)/g, '$1') ?? m[2] ?? m[3]) : undefined
}

/** The container side of a service's first `ports:` entry: services share the job's network, so that is where it listens. */
export function firstPort(ports: Array<string | number> | undefined): number | undefined {
  const p = ports?.[0]
  if (p === undefined) return undefined
  const n = Number(String(p).replace(/\/tcp$/, '').split(':').pop())
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined
}

function readCommandFile(dir: string, name: string): Record<string, string> {
  // the step wrote it: read it without following a link it may have put there
  const found = resolveInside(dir, name)
  if (!found || !found.st.isFile() || found.st.size > COMMAND_FILE_MAX) return {}
  return parseCommandFile(readFileSync(found.path, 'utf8'))
}

/**
 * A run: script's ${{ }} are replaced by their values, as GitHub does (so an untrusted
 * value is code: `lab ci --lint` warns about it). Values that hold a secret reach a POSIX
 * shell as environment variables instead, so a secret never lands in the script file;
 * other shells (python, custom templates) get the value itself, in a file only the
 * step's sandbox can read, removed after the step.
 */
function prepareScript(script: string, ctx: ExprContext, masker: Masker, where: string, posix: boolean): {script: string; env: Record<string, string>} {
  const env: Record<string, string> = {}
  let n = 0
  const out = replaceExpressions(script, (e) => {
    const v = toStr(compile(e, where)(ctx))
    if (!posix || masker.mask(v) === v) return v
    const name = `LAB_SECRET_${n++}`
    env[name] = v
    return `\${${name}}`
  })
  return {script: out, env}
}

/** Runs a pipeline to its end; the result has one shape whatever happened. */
export async function runPipeline(p: Pipeline, opts: CiRunOptions = {}): Promise<CiResult> {
  const started = Date.now()
  const base = opts.tmpBase ?? tmpdir()
  sweepStaleRuns(base)
  const tmp = mkdtempSync(join(base, `${TMP_PREFIX}${process.pid}-`))
  // Traversable but not listable: read-only binds are opened by the sandbox's own
  // unprivileged root, which must reach them (writable ones are opened by the helper).
  chmodSync(tmp, 0o711)
  const runId = newRunId()
  const record = new RunRecord(runId)
  const secrets = opts.secrets ?? {}
  const masker = new Masker(Object.values(secrets))
  const abort = new AbortController()
  const onOuterAbort = () => abort.abort()
  opts.abortSignal?.addEventListener('abort', onOuterAbort)
  if (opts.abortSignal?.aborted) abort.abort()
  const say = (prefix: string, line: string) => opts.onLine?.(masker.mask(prefix), 'lab', masker.mask(line))
  const cache = new CacheStore(join(record.dir, '..', '..', 'cache'), undefined, {scope: opts.policy?.cacheScope ?? 'default', holdsSecret: (t) => masker.mask(t) !== t})
  const warnings = [...p.warnings]
  const uploaded = new Map<string, string>()

  // the legs of matrix calls join the pipeline while it runs (call-legs.ts): the caller's object stays as it was
  p = {...p, jobs: {...p.jobs}}
  const needs: Record<string, string[]> = Object.fromEntries(Object.entries(p.jobs).map(([id, j]) => [id, j.needs]))
  const order = topoOrder(needs)
  /** the order jobs finished in: a matrix call's outputs are the last leg's to finish */
  const finished = new Map<string, number>()
  /** the called jobs of a matrix call's legs: fail-fast cancels them together */
  const legGroup = new Map<string, AbortSignal>()
  const runs: Record<string, JobRun[]> = {}
  for (const id of order) {
    const j = p.jobs[id]
    // a matrix computed by an expression is expanded once the jobs it needs are done
    runs[id] = j.matrixSource === undefined ? legsOf(j, j.matrix ?? [null]) : []
  }
  const pidStart = processStartTime(process.pid)
  const head = {id: runId, status: 'running', pid: process.pid, pidStart, pipeline: p.name, file: p.file, started: new Date(started).toISOString()}
  record.writeSummary(head)

  const event = opts.event ?? defaultEvent(p)
  const ghBase = {runId, runNumber: 1, workflow: p.name, workspace: p.workspace, actor: process.env.USER ?? 'lab', repository: repositoryName(p.workspace), event, file: p.file}
  const extra = {vars: opts.vars ?? {}, inputs: opts.inputs ?? {}}
  const jobOutcome = (id: string): {result: string; outputs: Record<string, string>} => {
    const rs = runs[id].map((r) => r.result!)
    // a job that may fail (continue-on-error) counts as a success for the jobs that need it
    const failed = (r: JobResult) => r.status === 'failure' && !r.continueOnError
    const result = rs.some(failed) ? 'failure' : rs.some((r) => r.status === 'cancelled') ? 'cancelled' : rs.length > 0 && rs.every((r) => r.status === 'skipped') ? 'skipped' : 'success'
    return {result, outputs: Object.assign({}, ...rs.map((r) => r.outputs))}
  }

  const limit = Math.max(1, opts.jobs ?? availableParallelism())
  const slot = limiter(limit)

  const done = new Map<string, Promise<void>>()
  const runJob = (id: string): Promise<void> => {
    let pr = done.get(id)
    if (pr) return pr
    pr = (async () => {
      await Promise.all(needs[id].map(runJob))
      const j = p.jobs[id]
      const needCtx: Record<string, Value> = {}
      // a called workflow's jobs know each other by their own names
      const local = (n: string) => (j.call && n.startsWith(`${j.call.caller}/`) ? n.slice(j.call.caller.length + 1) : n)
      for (const n of j.needs) needCtx[local(n)] = jobOutcome(n)
      // success() and failure() of a job look at every job it needs, directly or not (GitHub's rule)
      const ancestors = [...ancestorsOf(needs, id)]
      const ancestorResults = ancestors.map((n) => ({id: n, result: jobOutcome(n).result}))
      const notOk = ancestorResults.filter((x) => x.result !== 'success')
      const status = {success: notOk.length === 0 && !abort.signal.aborted, failure: ancestorResults.some((x) => x.result === 'failure'), cancelled: abort.signal.aborted}
      const failFast = new AbortController()
      const group = legGroup.get(id)
      if (group?.aborted) failFast.abort()
      else group?.addEventListener('abort', () => failFast.abort(), {once: true})
      if (j.callee?.template) {
        await runMatrixCall(j, needCtx, status)
        return
      }
      if (j.callee) {
        runs[id] = [finishCall(p, j, runs, (n) => ({...jobOutcome(n), finished: finished.get(n) ?? 0}), baseContext(p, {job: j, key: j.id, matrix: null, index: 0, total: 1}, needCtx, secrets, status, ghBase, extra), masker)]
        say(j.id, j.callee.unsupported ? `skipped: ${j.callee.unsupported}` : `called workflow ${runs[id][0].result!.status}`)
        return
      }
      // a job of a called workflow: inputs from the caller's with:, only the secrets it passes
      let jobSecrets = secrets
      let jobExtra = extra
      if (j.call) {
        // what the calling job's with: and secrets: are evaluated in: its needs, named as its
        // workflow names them (a nested caller's are CALLER/JOB here), and its workflow's
        // inputs and secrets — the run's at the top, else only what its own caller passed
        // (so a nested `secrets: inherit` passes no more than that)
        type Scope = {secrets: Record<string, string>; inputs: Record<string, Value>}
        const callerCtx = (c: JobDef, scope: Scope): ExprContext => {
          const at = c.call!.caller.slice(0, c.call!.caller.lastIndexOf('/') + 1)
          const callerNeeds: Record<string, Value> = Object.fromEntries(c.call!.callerNeeds.map((n) => [n.startsWith(at) ? n.slice(at.length) : n, runs[n] ? jobOutcome(n) : {result: 'skipped', outputs: {}}]))
          return baseContext(p, {job: c, key: c.id, matrix: (c.call!.matrix as Record<string, Value> | undefined) ?? null, index: 0, total: 1}, callerNeeds, scope.secrets, status, ghBase, {...extra, inputs: scope.inputs})
        }
        const workflowScope = (callerId: string, depth = 0): Scope => {
          const c = p.jobs[callerId]
          if (!c?.call || depth > 8) return {secrets, inputs: extra.inputs}
          const up = workflowScope(c.call.caller, depth + 1)
          return callInputs(c, callerCtx(c, up), up.secrets)
        }
        try {
          const scope = workflowScope(j.call.caller)
          const cctx = callerCtx(j, scope)
          const r0 = callInputs(j, cctx, scope.secrets)
          jobSecrets = r0.secrets
          jobExtra = {...extra, inputs: r0.inputs}
          if (j.call.callerIf !== undefined && !evalCondition(j.call.callerIf, cctx, `/jobs/${j.call.caller}/if`)) {
            const r: JobRun = {job: j, key: j.id, matrix: null, index: 0, total: 1}
            r.result = emptyJob(r, 'skipped', `if: ${String(j.call.callerIf)} of ${j.call.caller} was false`)
            runs[id] = [r]
            return
          }
        } catch (e) {
          const r: JobRun = {job: j, key: j.id, matrix: null, index: 0, total: 1}
          r.result = emptyJob(r, 'failure', masker.mask((e as Error).message))
          runs[id] = [r]
          say(j.id, `job error: ${r.result.error}`)
          return
        }
      }
      if (j.matrixSource !== undefined) {
        const probe: JobRun = {job: j, key: j.id, matrix: null, index: 0, total: 1}
        try {
          const combos = evalMatrix(j, baseContext(p, probe, needCtx, jobSecrets, status, ghBase, jobExtra))
          runs[id] = legsOf(j, combos)
        } catch (e) {
          probe.result = emptyJob(probe, status.success ? 'failure' : 'skipped', masker.mask((e as Error).message))
          if (status.success) say(j.id, `job error: ${probe.result.error}`)
          runs[id] = [probe]
          return
        }
      }
      const legs = limiter(j.maxParallel ?? Number.MAX_SAFE_INTEGER)
      await Promise.all(
        runs[id].map((r) =>
          legs(() => slot(async () => {
            const ctx = baseContext(p, r, needCtx, jobSecrets, status, ghBase, jobExtra)
            let runIt: boolean
            try {
              runIt = !abort.signal.aborted && evalCondition(j.if, ctx, `/jobs/${id}/if`)
            } catch (e) {
              r.result = emptyJob(r, 'failure', (e as Error).message)
              return
            }
            if (!runIt || failFast.signal.aborted) {
              const why = abort.signal.aborted || failFast.signal.aborted ? 'cancelled' : 'skipped'
              r.result = emptyJob(r, why, why === 'cancelled' ? (abort.signal.aborted ? 'the run was cancelled' : 'cancelled by fail-fast: another leg of the matrix failed') : j.if !== undefined ? `if: ${String(j.if)} was false` : `a job it needs did not succeed (${notOk.map((x) => `${x.id}: ${x.result}`).join(', ')})`)
              say(r.key, `${why}: ${r.result.error}`)
              return
            }
            let elsewhere: string | null
            try {
              elsewhere = notHere(j.runsOn, ctx, `/jobs/${id}/runs-on`)
            } catch (e) {
              r.result = emptyJob(r, 'failure', (e as Error).message)
              return
            }
            if (elsewhere) {
              r.result = emptyJob(r, 'skipped', elsewhere)
              say(r.key, `skipped: ${elsewhere}`)
              return
            }
            const coe = j.continueOnError
            const mayFail = typeof coe === 'string' ? truthy(compile(unwrap(coe), `/jobs/${id}/continue-on-error`)(ctx)) : coe
            r.result = await runJobInstance(p, r, ctx, {tmp, record, masker, secrets: jobSecrets, say, onLine: opts.onLine, abort: abort.signal, failFast, cache, warnings, actionDirs: opts.actionDirs ?? {}, artifacts: uploaded, trust: opts.policy?.trust ?? 'local'})
            if (mayFail) r.result.continueOnError = true
            if (r.result.status === 'failure' && !mayFail && runs[id].length > 1 && j.failFast) failFast.abort()
          })),
        ),
      )
    })().finally(() => finished.set(id, finished.size + 1))
    done.set(id, pr)
    return pr
  }

  /**
   * A job calling a reusable workflow with strategy.matrix: its legs are made now that
   * what it needs is done (the matrix may be computed from their outputs) and run like a
   * matrix job's legs: at most max-parallel at once, and with fail-fast the legs not yet
   * finished are cancelled once one fails.
   */
  const runMatrixCall = async (j: JobDef, needCtx: Record<string, Value>, status: ExprContext['status']): Promise<void> => {
    const id = j.id
    const r: JobRun = {job: j, key: id, matrix: null, index: 0, total: 1}
    const ctx = baseContext(p, r, needCtx, secrets, status, ghBase, extra)
    let combos: Array<Record<string, Value>>
    try {
      if (abort.signal.aborted || !evalCondition(j.if, ctx, `/jobs/${id}/if`)) {
        const why = abort.signal.aborted ? 'cancelled' : 'skipped'
        r.result = emptyJob(r, why, why === 'cancelled' ? (abort.signal.aborted ? 'the run was cancelled' : 'cancelled by fail-fast: another leg of the matrix failed') : j.if !== undefined ? `if: ${String(j.if)} was false` : `a job it needs did not succeed (${j.needs.filter((n) => jobOutcome(n).result !== 'success').map((n) => `${n}: ${jobOutcome(n).result}`).join(', ')})`)
        runs[id] = [r]
        say(id, `${why}: ${r.result.error}`)
        return
      }
      combos = j.matrixSource !== undefined ? evalMatrix(j, ctx) : (j.matrix ?? [])
    } catch (e) {
      r.result = emptyJob(r, 'failure', masker.mask((e as Error).message))
      runs[id] = [r]
      say(id, `job error: ${r.result.error}`)
      return
    }
    const made = expandLegs(j, combos)
    const cancel = new AbortController()
    for (const x of [...made.called, ...made.legs]) {
      p.jobs[x.id] = x
      needs[x.id] = x.needs
      runs[x.id] = x.matrixSource === undefined && !x.callee ? legsOf(x, x.matrix ?? [null]) : []
      legGroup.set(x.id, cancel.signal)
    }
    // listed before the caller, each leg after its called jobs
    const mine = new Set([...made.called, ...made.legs].map((x) => x.id))
    order.splice(order.indexOf(id), 0, ...topoOrder(Object.fromEntries([...made.called, ...made.legs].map((x) => [x.id, x.needs.filter((n) => mine.has(n))]))))
    const lim = limiter(j.maxParallel ?? Number.MAX_SAFE_INTEGER)
    await Promise.all(
      made.legs.map((leg) =>
        lim(async () => {
          await runJob(leg.id)
          if (j.failFast && jobOutcome(leg.id).result === 'failure' && !cancel.signal.aborted) {
            say(id, `fail-fast: ${leg.id} failed; the other legs are cancelled`)
            cancel.abort()
          }
        }),
      ),
    )
    const caller: JobDef = {...j, callee: {...j.callee!, jobs: made.legs.map((l) => l.id), template: undefined}}
    p.jobs[id] = caller
    runs[id] = [finishCall(p, caller, runs, (n) => ({...jobOutcome(n), finished: finished.get(n) ?? 0}), ctx, masker)]
    say(id, `called workflow ${runs[id][0].result!.status}`)
  }

  let result: CiResult
  try {
    await Promise.all(order.map(runJob))
  } finally {
    opts.abortSignal?.removeEventListener('abort', onOuterAbort)
    rmSync(tmp, {recursive: true, force: true})
  }
  const jobs = order.flatMap((id) => runs[id].map((r) => r.result!))
  const failures = failuresOf(jobs.filter((j) => !j.continueOnError))
  const cancelled = abort.signal.aborted
  result = {
    runId,
    pipeline: p.name,
    file: p.file,
    kind: p.kind,
    status: cancelled ? 'cancelled' : failures.length ? 'failure' : 'success',
    exitCode: cancelled ? 130 : failures.length ? 1 : 0,
    wallMs: Date.now() - started,
    jobs,
    failures,
    warnings,
    runDir: record.dir,
    ...(opts.policy ? {trust: {level: opts.policy.trust, allow: opts.policy.allow, sources: opts.policy.sources, cacheScope: opts.policy.cacheScope, refused: opts.policy.refusals}} : {}),
  }
  result = masker.maskDeep(result)
  const junit = junitXml(result, (s) => tailOf(s.log))
  writeFileSync(join(record.dir, 'junit.xml'), masker.mask(junit))
  result.junit = join(record.dir, 'junit.xml')
  record.writeSummary({...head, ...result, status: result.status})
  return result
}

function tailOf(log: string | undefined): string {
  if (!log) return ''
  try {
    return readFileSync(log, 'utf8').split('\n').slice(-21).map((l) => l.slice(l.indexOf('\t') + 1)).join('\n')
  } catch {
    return ''
  }
}

export function gitHead(ws: string): string {
  try {
    const head = readFileSync(join(ws, '.git', 'HEAD'), 'utf8').trim()
    if (!head.startsWith('ref: ')) return head
    return readFileSync(join(ws, '.git', head.slice(5)), 'utf8').trim()
  } catch {
    return '0'.repeat(40)
  }
}

export function gitRef(ws: string): string {
  try {
    const head = readFileSync(join(ws, '.git', 'HEAD'), 'utf8').trim()
    return head.startsWith('ref: ') ? head.slice(5) : 'HEAD'
  } catch {
    return 'refs/heads/main'
  }
}

function emptyJob(r: JobRun, status: JobResult['status'], error: string): JobResult {
  return {
    key: r.key,
    id: r.job.id,
    name: r.job.name ?? r.job.id,
    ...(r.matrix ? {matrix: r.matrix} : {}),
    status,
    wallMs: 0,
    steps: r.job.steps.map((s) => ({index: s.index, id: s.id, name: s.name, status: status === 'failure' ? 'skipped' : status, continueOnError: false, wallMs: 0, reason: error})),
    services: [],
    artifacts: [],
    caches: [],
    outputs: {},
    ...(status === 'skipped' || status === 'cancelled' ? {error} : {error}),
  }
}

function baseContext(p: Pipeline, r: JobRun, needs: Record<string, Value>, secrets: Record<string, string>, status: ExprContext['status'], gh: Omit<Parameters<typeof githubContext>[0], 'job'>, extra: {vars: Record<string, string>; inputs: Record<string, Value>}): ExprContext {
  const {context} = githubContext({...gh, job: r.job.id})
  const ctx: ExprContext = {
    contexts: {
      matrix: r.matrix ?? {},
      needs,
      secrets,
      github: context,
      runner: runnerContext(),
      strategy: {'fail-fast': r.job.failFast, 'job-index': r.index, 'job-total': r.total, 'max-parallel': r.job.maxParallel ?? r.total},
      job: {status: 'success'},
      steps: {},
      inputs: extra.inputs,
      vars: extra.vars,
      env: {},
    },
    status,
  }
  ctx.contexts.env = envStrings(p.env, ctx, '/env')
  return ctx
}

interface JobEnv {
  tmp: string
  record: RunRecord
  masker: Masker
  secrets: Record<string, string>
  say: (prefix: string, line: string) => void
  onLine?: CiRunOptions['onLine']
  abort: AbortSignal
  failFast: AbortController
  cache: CacheStore
  warnings: string[]
  /** --action-dir: OWNER/REPO@REF → a local copy */
  actionDirs: Record<string, string>
  /** artifacts uploaded in this run, by name */
  artifacts: Map<string, string>
  /** who runs the pipeline (policy.ts): an untrusted run's builds write no tags */
  trust: 'local' | 'trusted' | 'untrusted'
}

async function runJobInstance(p: Pipeline, r: JobRun, ctx: ExprContext, e: JobEnv): Promise<JobResult> {
  const j = r.job
  const t0 = Date.now()
  const res: JobResult = {key: r.key, id: j.id, name: j.name ? e.masker.mask(interpolate(j.name, ctx, `/jobs/${j.id}/name`)) : j.id, ...(r.matrix ? {matrix: r.matrix} : {}), status: 'success', wallMs: 0, steps: [], services: [], artifacts: [], caches: [], outputs: {}}
  // a secret never becomes part of a file name
  const keyName = slug(e.masker.mask(r.key))
  const dir = mkdtempSync(join(e.tmp, `${keyName}-`))
  chmodSync(dir, 0o711)
  const ws = join(dir, 'workspace')
  const temp = join(dir, 'temp')
  const services: RunningService[] = []
  const abortJob = new AbortController()
  const onAbort = () => abortJob.abort()
  e.abort.addEventListener('abort', onAbort)
  e.failFast.signal.addEventListener('abort', onAbort)
  const minutes = typeof j.timeoutMinutes === 'string' ? Number(toStr(compile(unwrap(j.timeoutMinutes), `/jobs/${j.id}/timeout-minutes`)(ctx))) : j.timeoutMinutes
  const deadline = t0 + (minutes !== undefined && Number.isFinite(minutes) && minutes > 0 ? minutes : DEFAULT_JOB_MINUTES) * 60_000
  const jobEnv = {...(ctx.contexts.env as Record<string, string>)}
  Object.assign(jobEnv, envStrings(j.env, {...ctx, contexts: {...ctx.contexts, env: jobEnv}}, `/jobs/${j.id}/env`))
  ctx.contexts.env = jobEnv
  e.say(r.key, `job started`)
  let failed = false
  let notCopied = new Set<string>()
  const posts: PostStep[] = []
  let pres = 0
  const removing: Array<Promise<unknown>> = []
  const containerId = newId()
  const networkId = newId()
  try {
    // 1. the job's own copy of the checkout
    const owner = statSync(p.workspace).uid
    const copied = copyTree(p.workspace, ws, {keepSymlinks: true, hardLinkOwner: owner})
    notCopied = new Set(copied.skipped.map((x) => x.replace(/ \([^)]*\)$/, '')))
    ctx.contexts.__hashFiles = ((pats: string[]) => hashFilesGlob(ws, pats)) as unknown as Value
    if (copied.skipped.length) e.say(r.key, `left out of the workspace copy: ${copied.skipped.slice(0, 5).join(', ')}${copied.skipped.length > 5 ? ` and ${copied.skipped.length - 5} more` : ''}`)
    mkdirSync(temp, {mode: 0o700})
    mkdirSync(join(temp, 'home'), {mode: 0o700})
    mkdirSync(join(temp, '_github_workflow'), {mode: 0o700})
    writeFileSync(join(temp, EVENT_PATH.slice(RUNNER_TEMP_DIR.length + 1)), JSON.stringify((ctx.contexts.github as Record<string, Value>).event ?? {}, null, 2))

    // 2. caches
    const extraMounts: Mount[] = []
    for (const [i, c] of j.caches.entries()) {
      const key = fullKey(c, interpolate(c.key, ctx, `/jobs/${j.id}/cache/${i}/key`), ws)
      const mode = c.mode ?? 'copy'
      const hit = e.cache.lookup(key)
      const outcome: CacheOutcome = {key, hit: hit !== null, mode}
      if (hit) {
        try {
          if (mode === 'copy') outcome.bytes = restoreCopy(hit, c, ws)
          else {
            // a private copy bound read-only: the store itself stays closed to others
            const ro = join(dir, `cache-${i + 1}`)
            mkdirSync(ro, {mode: 0o755})
            outcome.bytes = 0
            for (const path of c.paths) {
              const clean = path.replace(/\/+$/, '')
              if (!existsSync(join(hit, clean))) continue
              ensureDirInside(ws, clean)
              mkdirSync(join(ro, clean, '..'), {recursive: true, mode: 0o755})
              outcome.bytes += copyTree(join(hit, clean), join(ro, clean), {keepSymlinks: true, hardLinkOwner: null}).bytes
              extraMounts.push({type: 'bind', source: join(ro, clean), destination: `${WORKSPACE_DIR}/${clean}`, readOnly: true, hide: true})
            }
          }
          e.say(r.key, `cache hit: ${key} (${mode})`)
        } catch (err) {
          outcome.error = (err as Error).message
        }
      } else e.say(r.key, `cache miss: ${key}`)
      res.caches.push(outcome)
    }
    if (isRoot()) {
      chownTree(ws, CI_UID, CI_UID)
      chownTree(temp, CI_UID, CI_UID)
    }
    const container = await containerRequest(j.container, ws, dir, ctx)
    // a job in a container: its steps' sandboxes are that container, named by one id (their
    // host name is its short form, as Docker names a container's host)
    if (container.image !== undefined || j.container.rootfs !== undefined) container.hostname = containerId.slice(0, 12)
    // GitHub: the container's env is the job's environment's base
    if (j.container.env) for (const [k, v] of Object.entries(envStrings(j.container.env, ctx, `/jobs/${j.id}/container/env`))) if (!(k in jobEnv)) jobEnv[k] = v
    // hidden binds: the steps' /proc/self/mountinfo shows no host path of the run's scratch
    // directory (the helper mounts each as an overlay's only upper, with its .NAME.work beside it)
    const hide = isRoot()
    if (hide) {
      for (const w of ['.workspace.work', '.temp.work']) {
        mkdirSync(join(dir, w), {mode: 0o700})
        lchownSync(join(dir, w), CI_UID, CI_UID)
      }
    }
    const mounts: Mount[] = [{type: 'bind', source: ws, destination: WORKSPACE_DIR, readOnly: false, hide}, ...extraMounts, {type: 'bind', source: temp, destination: RUNNER_TEMP_DIR, readOnly: false, hide}]

    // 3. services
    let join_: NetJoin | undefined
    // The job's services and steps share one network namespace: a service answers on
    // localhost (GitHub's case of a job on the runner) and by its name (the case of a job
    // in a container, where GitHub's service containers are reached by their label).
    const serviceHosts = Object.keys(j.services)
      .filter((n) => /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$/.test(n))
      .map((n) => `${n}:127.0.0.1`)
    for (const [name, s] of Object.entries(j.services)) {
      const log = e.record.log(keyName, `service-${slug(name)}.log`)
      const info: JobResult['services'][number] = {name, ready: false, log: log.path}
      res.services.push(info)
      const svcCtx = {...ctx, contexts: {...ctx.contexts, secrets: {}}}
      const {image: _image, env: _env, ...svcBase} = j.container
      const sc = await containerRequest({...svcBase, ...(s.container ?? {}), ...(s.image ? {image: s.image} : {})}, ws, dir, svcCtx)
      // GitHub's image services: the image's own command, env and working directory, no workspace
      const imageSvc = s.image !== undefined
      const svcReq: SandboxRequest = {
        ...sc,
        command: s.run !== undefined ? ['sh', '-c', interpolate(s.run, svcCtx, `/jobs/${j.id}/services/${name}/run`)] : [],
        env: Object.entries({...(imageSvc ? {} : jobEnv), ...envStrings(s.env ?? {}, svcCtx, `/jobs/${j.id}/services/${name}/env`), ...(imageSvc ? {} : {HOME: '/tmp'}), CI: 'true'}).map(([k, v]) => `${k}=${v}`),
        workdir: s['working-directory'] ? `${WORKSPACE_DIR}/${s['working-directory']}` : imageSvc ? undefined : WORKSPACE_DIR,
        // the job's copy, as the steps see it (idmapped like theirs; the checkout is never mounted)
        mounts: imageSvc && !s['working-directory'] ? [] : [{type: 'bind', source: ws, destination: WORKSPACE_DIR, readOnly: false}],
        network: 'none',
        limits: {...sc.limits, outputLimit: undefined},
        hostname: slug(name).replace(/[^a-z0-9-]/g, '-').slice(0, 60) || 'service',
        addHost: [...(sc.addHost ?? []), ...serviceHosts],
      }
      const lines = {stdout: new MaskedLines(e.masker, (l) => log.line('stdout', l)), stderr: new MaskedLines(e.masker, (l) => log.line('stderr', l))}
      const svc = await startService(name, svcReq, {join: join_, onOutput: (stream, c) => lines[stream].write(c)})
      services.push(svc)
      info.id = svc.id
      join_ ??= svc.join
      const readyCmd = s.ready?.run ?? healthCmd(s.options)
      const readyPort = s.ready?.port ?? firstPort(s.ports)
      const probe = readyCmd
        ? async () => {
            const pr = await runRequest({...sc, command: ['sh', '-c', readyCmd], env: Object.entries(jobEnv).map(([k, v]) => `${k}=${v}`), network: 'none', timeout: '10s', workdir: '/', addHost: [...(sc.addHost ?? []), ...serviceHosts], joins: [svc.join]}, {stdio: 'pipe', abortSignal: abortJob.signal, outputLimit: 65536})
            return pr.verdict === 'ok'
          }
        : undefined
      try {
        await waitReady(svc, {port: readyPort, probe, timeoutMs: (s.ready?.['timeout-seconds'] ?? SERVICE_READY_DEFAULT_S) * 1000}, abortJob.signal)
      } catch (err) {
        info.error = (err as Error).message
        throw err
      }
      info.ready = true
      e.say(r.key, `service ${name} is ready`)
    }

    // the job context's container and services, as GitHub documents them
    Object.assign(ctx.contexts.job as Record<string, Value>, jobContainerContext(j, services, res.services, containerId, networkId))

    // 4. steps
    const stepsCtx: Record<string, Value> = {}
    ctx.contexts.steps = stepsCtx
    const fileEnv: Record<string, string> = {}
    const extraPath: string[] = []
    const seq = {n: 0}
    const stepEnv: StepEnv = {ctx, failed, e, ws, temp, mounts, container, join: join_, hosts: serviceHosts, jobEnv, fileEnv, extraPath, deadline, abort: abortJob.signal, seq, posts, artifacts: res.artifacts, dir, preState: new Map(), removing}
    // pre: scripts of the steps' JavaScript actions, in step order, before the first step (GitHub's "Pre" steps)
    for (const s of j.steps) {
      const ps = await runPre(p, r, s, {...stepEnv, ctx, failed})
      if (!ps) continue
      res.steps.push(ps)
      pres++
      if (ps.status === 'failure') {
        failed = true
        ctx.contexts.job = {...(ctx.contexts.job as Record<string, Value>), status: 'failure'}
      }
    }
    for (const s of j.steps) {
      const sr = await runStep(p, r, s, {...stepEnv, ctx, failed})
      res.steps.push(sr)
      const outcome = sr.status === 'unsupported' ? 'skipped' : sr.status
      const conclusion = sr.status === 'failure' && sr.continueOnError ? 'success' : outcome
      if (s.id) stepsCtx[s.id] = {outputs: sr.outputs ?? {}, outcome, conclusion}
      if (sr.status === 'failure' && !sr.continueOnError) {
        failed = true
        ctx.contexts.job = {...(ctx.contexts.job as Record<string, Value>), status: 'failure'}
      }
    }
    // post steps (actions/cache saves, JavaScript actions' post:), the last registered
    // first and before the services stop, as GitHub runs them; a failing one fails the job
    for (const post of posts.reverse()) {
      try {
        const sr = await post(!failed && !abortJob.signal.aborted)
        if (sr) res.steps.push(sr)
        if (sr?.status === 'failure') failed = true
      } catch (err) {
        failed = true
        e.say(r.key, `post step failed: ${e.masker.mask((err as Error).message)}`)
      }
    }
  } catch (err) {
    failed = true
    res.error = e.masker.mask(err instanceof LabError ? err.message : String((err as Error).message ?? err))
    e.say(r.key, `job error: ${res.error}`)
  } finally {
    e.abort.removeEventListener('abort', onAbort)
    e.failFast.signal.removeEventListener('abort', onAbort)
    // 5. nothing of the job outlives it
    for (const svc of services.reverse()) {
      const end = await svc.stop()
      const info = res.services.find((x) => x.name === svc.name)
      if (info && end) info.verdict = end.verdict
    }
  }
  // a leg stopped by fail-fast was cancelled, as GitHub reports it
  if (e.abort.aborted || (e.failFast.signal.aborted && failed)) res.status = 'cancelled'
  else res.status = failed ? 'failure' : 'success'
  // every step that never ran because of an early job error is listed as skipped
  for (const s of j.steps.slice(res.steps.length - pres)) res.steps.push({index: s.index, id: s.id, name: s.name, status: e.abort.aborted ? 'cancelled' : 'skipped', continueOnError: false, wallMs: 0, reason: res.error ?? 'not reached'})

  if (existsSync(ws)) {
    for (const [i, a] of j.artifacts.entries()) {
      if (!shouldCollect(a, failed)) continue
      const out = join(e.record.dir, 'artifacts', keyName)
      let ar: ArtifactResult
      try {
        ar = collectArtifact(a, i, ws, out)
      } catch (err) {
        ar = {name: a.name ?? `artifact-${i + 1}`, path: '', files: 0, bytes: 0, missing: [], skipped: [], error: (err as Error).message}
      }
      res.artifacts.push(ar)
      e.say(r.key, ar.error ? `artifact ${ar.name}: ${ar.error}` : `artifact ${ar.name}: ${ar.files} file${ar.files === 1 ? '' : 's'}, ${ar.bytes} bytes → ${ar.path}`)
    }
    if (!failed) {
      for (const [i, c] of j.caches.entries()) {
        const o = res.caches[i]
        if (!o || o.hit) continue
        try {
          const saved = e.cache.save(c, o.key, ws)
          Object.assign(o, {saved: true, bytes: saved.bytes, evicted: saved.evicted})
          e.say(r.key, `cache saved: ${o.key} (${saved.bytes} bytes)`)
        } catch (err) {
          o.error = (err as Error).message
        }
      }
    }
    if (j.workspace === 'write' && !e.abort.aborted) {
      try {
        const n = writeBack(ws, p.workspace, new Set([...notCopied, ...j.caches.filter((c) => (c.mode ?? 'copy') === 'read-only').flatMap((c) => c.paths.map((x) => x.replace(/\/+$/, '')))]))
        e.say(r.key, `workspace written back (${n} change${n === 1 ? '' : 's'})`)
      } catch (err) {
        res.status = 'failure'
        res.error = `writing the workspace back failed: ${(err as Error).message}`
      }
    }
  }
  try {
    const outCtx = {...ctx, status: {success: !failed, failure: failed, cancelled: e.abort.aborted}}
    for (const [k, v] of Object.entries(j.outputs)) res.outputs[k] = interpolate(v, outCtx, `/jobs/${j.id}/outputs/${k}`)
  } catch {}
  await Promise.all(removing)
  rmSync(dir, {recursive: true, force: true})
  res.wallMs = Date.now() - t0
  e.say(r.key, `job ${res.status} in ${(res.wallMs / 1000).toFixed(1)} s`)
  return res
}

/**
 * job.container and job.services (GitHub's job context): the job container's id and
 * network when the job has `container:`, each service's sandbox id, network and ports.
 * The network is the one the services and steps share (empty without services: each
 * step then has a loopback network of its own). A service's ports map the container
 * port of each `ports:` entry to where the steps reach it: the same port, on localhost
 * or the service's name, since they share its network (no host port is published).
 */
export function jobContainerContext(j: JobDef, running: RunningService[], info: Array<{name: string; id?: string}>, containerId: string, networkId: string): Record<string, Value> {
  const out: Record<string, Value> = {}
  const network = running.length ? networkId : ''
  if (j.container.image !== undefined || j.container.rootfs !== undefined) out.container = {id: containerId, network}
  if (info.length) {
    const services: Record<string, Value> = {}
    for (const s of info) {
      const ports: Record<string, string> = {}
      for (const p of j.services[s.name]?.ports ?? []) {
        const m = /^(\d+)(\/(tcp|udp))?$/.exec(String(p).split(':').pop() ?? '')
        if (m) ports[m[3] === 'udp' ? `${m[1]}/udp` : m[1]] = m[1]
      }
      services[s.name] = {id: s.id ?? '', network, ports}
    }
    out.services = services
  }
  return out
}

/** What runs when the job ends, given whether it succeeded; a step result to report, if any. */
type PostStep = (succeeded: boolean) => void | Promise<StepResult | void>

interface StepEnv {
  ctx: ExprContext
  failed: boolean
  e: JobEnv
  ws: string
  temp: string
  mounts: Mount[]
  container: Partial<SandboxRequest>
  join?: NetJoin
  /** NAME:127.0.0.1 of each of the job's services, for the step's /etc/hosts */
  hosts?: string[]
  jobEnv: Record<string, string>
  fileEnv: Record<string, string>
  extraPath: string[]
  deadline: number
  abort: AbortSignal
  /** numbers the steps' private directories */
  seq: {n: number}
  /** what runs when the job ends (actions/cache saves), given whether it succeeded */
  posts: PostStep[]
  /** artifacts uploaded by its steps */
  artifacts: ArtifactResult[]
  /** the job's private directory on the host (its copies of --action-dir actions live there) */
  dir: string
  /** what each step's action saved in its pre: script (step index → state), for its main and post */
  preState: Map<number, Record<string, string>>  /** removals of finished steps' directories still running: awaited before the job's directory goes */
  removing: Array<Promise<unknown>>
}

/**
 * A step's working directory inside the sandbox, as GitHub resolves it: an absolute
 * path as it is, a relative one against $GITHUB_WORKSPACE. `checked` is false when it
 * is not a plain directory of the workspace copy as seen from here: the step then
 * enters it from inside and fails there, as on GitHub, if it does not exist.
 */
export function stepWorkdir(raw: string | undefined, ws: string): {path: string; checked: boolean} {
  if (!raw) return {path: WORKSPACE_DIR, checked: true}
  const abs = posix.normalize(raw.startsWith('/') ? raw : `${WORKSPACE_DIR}/${raw}`).replace(/(.)\/+$/, '$1')
  if (abs === WORKSPACE_DIR) return {path: abs, checked: true}
  if (abs.startsWith(WORKSPACE_DIR + '/')) {
    const found = resolveInside(ws, abs.slice(WORKSPACE_DIR.length + 1))
    return {path: abs, checked: !!found && found.st.isDirectory()}
  }
  return {path: abs, checked: abs === '/'}
}

/** PATH with $GITHUB_PATH lines put first, the latest first, each once. */
export function prependPath(extra: string[], lines: string[]): void {
  for (const l of lines) {
    const at = extra.indexOf(l)
    if (at >= 0) extra.splice(at, 1)
    extra.unshift(l)
  }
}

async function runStep(p: Pipeline, r: JobRun, s: StepDef, x: StepEnv): Promise<StepResult> {
  const where = `/jobs/${r.job.id}/steps/${s.index}`
  const t0 = Date.now()
  const ctx: ExprContext = {...x.ctx, status: {success: !x.failed && !x.abort.aborted, failure: x.failed, cancelled: x.abort.aborted}}
  const sr: StepResult = {index: s.index, id: s.id, name: s.name, status: 'success', continueOnError: false, wallMs: 0}
  let prefix = `${r.key} › ${s.name}`
  try {
    sr.name = x.e.masker.mask(interpolate(s.name, ctx, `${where}/name`))
    prefix = x.e.masker.mask(`${r.key} › ${sr.name}`)
    if (!evalCondition(s.if, ctx, `${where}/if`)) {
      sr.status = x.abort.aborted ? 'cancelled' : 'skipped'
      sr.reason = s.if === undefined ? 'an earlier step failed' : `if: ${String(s.if)} was false`
      return sr
    }
    const env: Record<string, string> = {...x.jobEnv, ...x.fileEnv}
    ctx.contexts = {...ctx.contexts, env}
    Object.assign(env, envStrings(s.env, ctx, `${where}/env`))
    sr.continueOnError = typeof s.continueOnError === 'string' ? truthy(compile(unwrap(s.continueOnError), `${where}/continue-on-error`)(ctx)) : s.continueOnError
    if (s.uses !== undefined) {
      if (s.uses === 'actions/checkout') {
        sr.reason = `the workspace is already at ${WORKSPACE_DIR}`
        return sr
      }
      const kind = usesKind(s.uses, x.e.actionDirs)
      if (isBuildAction(s.uses)) {
        const inputs: Record<string, string> = {}
        for (const [k, v] of Object.entries(s.with ?? {})) inputs[k] = typeof v === 'string' ? interpolate(v, ctx, `${where}/with/${k}`) : String(v)
        const trust = x.e.trust
        const outputs = await runBuildAction(inputs, {ws: x.ws, mayTag: trust !== 'untrusted', mayUseHostNetwork: x.container.network === 'host', abortSignal: x.abort, note: (l) => x.e.say(prefix, l)})
        sr.outputs = x.e.masker.maskDeep(outputs)
        return sr
      }
      const builtin = builtinAction(s.uses)
      if (builtin) {
        const inputs: Record<string, string> = {}
        for (const [k, v] of Object.entries(s.with ?? {})) inputs[k] = typeof v === 'string' ? interpolate(v, ctx, `${where}/with/${k}`) : String(v)
        // an artifact's name becomes a file name: a secret never may (cache keys are hashed instead)
        if (inputs.name !== undefined && x.e.masker.mask(inputs.name) !== inputs.name) throw new LabError('ci-secret-name', `${s.uses}: the name input holds a secret, and an artifact's name becomes a file name`, {hint: 'name the artifact without secrets'})
        const res = runBuiltin(builtin, s.uses, inputs, {ws: x.ws, home: join(x.temp, 'home'), cache: x.e.cache, artifacts: x.e.artifacts, artifactDir: join(x.e.record.dir, 'artifacts', slug(x.e.masker.mask(r.key))), post: (fn) => x.posts.push(fn), note: (l) => x.e.say(prefix, l)})
        sr.outputs = x.e.masker.maskDeep(res.outputs)
        if (res.artifact) x.artifacts.push(res.artifact)
        // what was restored or downloaded belongs to the sandbox's root, like the rest of the copy
        if (isRoot()) {
          chownTree(x.ws, CI_UID, CI_UID)
          chownTree(join(x.temp, 'home'), CI_UID, CI_UID)
        }
        return sr
      }
      if (kind === 'local' || kind === 'action-dir') {
        await runAction(p, r, sr, x, {uses: s.uses, with: s.with ?? {}, ctx, env, prefix, where, depth: 0})
        return sr
      }
      sr.status = 'unsupported'
      sr.reason = `uses: ${s.uses} cannot run offline; skipped`
      x.e.say(prefix, sr.reason)
      return sr
    }
    const shell = s.shell ?? (r.job.defaults.shell === undefined ? undefined : interpolate(r.job.defaults.shell, ctx, `/jobs/${r.job.id}/defaults/run/shell`))
    const wdRaw = s.workingDirectory !== undefined ? interpolate(s.workingDirectory, ctx, `${where}/working-directory`) : r.job.defaults.workingDirectory === undefined ? undefined : interpolate(r.job.defaults.workingDirectory, ctx, `/jobs/${r.job.id}/defaults/run/working-directory`)
    const minutes = typeof s.timeoutMinutes === 'string' ? Number(toStr(compile(unwrap(s.timeoutMinutes), `${where}/timeout-minutes`)(ctx))) : s.timeoutMinutes
    await runScript(p, r, sr, x, {ctx, env, shell, script: s.run!, workdir: stepWorkdir(wdRaw, x.ws), timeoutMinutes: minutes, prefix, where})
  } catch (err) {
    sr.status = 'failure'
    sr.verdict = 'engine-error'
    sr.reason = x.e.masker.mask((err as Error).message)
    x.e.say(prefix, `step error: ${sr.reason}`)
  } finally {
    sr.wallMs = Date.now() - t0
  }
  if (sr.status === 'failure') x.e.say(prefix, `failed: ${sr.verdict}${sr.exitCode !== undefined ? ` (exit code ${sr.exitCode})` : ''}${sr.reason && sr.verdict !== 'engine-error' ? `: ${sr.reason}` : ''}${sr.continueOnError ? ' (continue-on-error)' : ''}`)
  return sr
}

/** `${{ x }}` or `x` → `x` (keys that hold one expression: continue-on-error, timeout-minutes). */
export function unwrap(v: string): string {
  const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(v)
  return m ? m[1] : v
}

interface ScriptRun {
  ctx: ExprContext
  env: Record<string, string>
  shell?: string
  /** a run: script, or the command itself (a JavaScript action) */
  script?: string
  argv?: string[]
  workdir: {path: string; checked: boolean}
  timeoutMinutes?: number
  prefix: string
  where: string
}

/**
 * Runs one script in a fresh sandbox with GitHub's per-step files (GITHUB_OUTPUT,
 * GITHUB_ENV, GITHUB_PATH, GITHUB_STATE, GITHUB_STEP_SUMMARY) and workflow commands;
 * what the step passes on lands in sr and in the job's file env and PATH.
 */
async function runScript(p: Pipeline, r: JobRun, sr: StepResult, x: StepEnv, o: ScriptRun): Promise<void> {
  const gh = o.ctx.contexts.github as Record<string, Value>
  const stepDir = `_lab/step-${++x.seq.n}`
  const hostStepDir = join(x.temp, stepDir)
  mkdirSync(hostStepDir, {recursive: true, mode: 0o700})
  let log: StepLog | undefined
  try {
    const files: Record<string, string> = {}
    for (const [v, f] of Object.entries(COMMAND_FILES)) {
      writeFileSync(join(hostStepDir, f), '')
      files[v] = `${RUNNER_TEMP_DIR}/${stepDir}/${f}`
    }
    let argv = o.argv
    let scriptEnv: Record<string, string> = {}
    if (!argv) {
      const plan = shellPlan(o.shell, p.kind, '\0', x.container.image !== undefined)
      const scriptPath = `${RUNNER_TEMP_DIR}/${stepDir}/script${plan.ext}`
      const script = prepareScript(o.script ?? '', o.ctx, x.e.masker, `${o.where}/run`, plan.posix)
      writeFileSync(join(hostStepDir, `script${plan.ext}`), script.script, {mode: 0o644})
      argv = plan.argv.map((a) => a.replaceAll('\0', scriptPath))
      scriptEnv = script.env
    }
    if (isRoot()) chownTree(join(x.temp, '_lab'), CI_UID, CI_UID)
    const base: Record<string, string> = p.kind === 'github' ? {...githubEnv(gh, r.job.id), ...files} : {CI: 'true', LAB_CI: 'true', LAB_WORKSPACE: WORKSPACE_DIR, RUNNER_TEMP: RUNNER_TEMP_DIR, GITHUB_WORKSPACE: WORKSPACE_DIR, ...files}
    const finalEnv: Record<string, string> = {...base, HOME: `${RUNNER_TEMP_DIR}/home`, LANG: 'C.UTF-8', ...o.env, ...scriptEnv}
    if (x.extraPath.length) finalEnv.PATH = [...x.extraPath, finalEnv.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'].join(':')
    // a directory lab cannot vouch for from here is entered from inside, so a missing one fails the step as on GitHub
    if (!o.workdir.checked) argv = ['sh', '-c', 'cd -- "$0" || exit 1; exec "$@"', o.workdir.path, ...argv]

    const stepMs = o.timeoutMinutes !== undefined && Number.isFinite(o.timeoutMinutes) ? o.timeoutMinutes * 60_000 : Infinity
    const left = x.deadline - Date.now()
    const timeoutMs = Math.max(1, Math.round(Math.min(stepMs, left)))
    if (left <= 0) throw new LabError('ci-timeout', `the job ran past its timeout-minutes`)
    const req: SandboxRequest = {
      ...x.container,
      command: argv,
      env: Object.entries(finalEnv).map(([k, v]) => `${k}=${v}`),
      workdir: o.workdir.checked ? o.workdir.path : '/',
      mounts: x.mounts,
      network: x.join ? 'none' : x.container.network,
      timeout: `${timeoutMs}ms`,
      hostname: x.container.hostname ?? 'lab-ci',
      addHost: [...(x.container.addHost ?? []), ...(x.join ? (x.hosts ?? []) : [])],
      joins: x.join ? [x.join] : undefined,
    }
    const stepLog = x.e.record.log(slug(x.e.masker.mask(r.key)), `${String(sr.index + 1).padStart(2, '0')}-${slug(x.e.masker.mask(sr.name))}.log`, {open: true})
    log = stepLog
    sr.log = stepLog.path
    const secretsCtx = o.ctx.contexts.secrets as Record<string, string>
    const cmds = new WorkflowCommands({
      debug: finalEnv.ACTIONS_STEP_DEBUG === 'true' || secretsCtx?.ACTIONS_STEP_DEBUG === 'true',
      allowUnsecure: finalEnv.ACTIONS_ALLOW_UNSECURE_COMMANDS === 'true',
      onMask: (v) => x.e.masker.add(v),
    })
    const emit = (stream: 'stdout' | 'stderr') => (l: string) => {
      const shown = cmds.line(l)
      if (shown === null) return
      stepLog.line(stream, shown)
      x.e.onLine?.(x.e.masker.mask(o.prefix), stream, shown)
    }
    const out = new MaskedLines(x.e.masker, emit('stdout'))
    const err = new MaskedLines(x.e.masker, emit('stderr'))
    const result: SandboxResult = await runRequest(req, {stdio: 'pipe', onStdout: (c) => out.write(c), onStderr: (c) => err.write(c), abortSignal: x.abort})
    out.flush()
    err.flush()
    sr.verdict = result.verdict
    sr.exitCode = result.exitCode
    if (result.verdict !== 'ok' && result.verdict !== 'nonzero-exit') sr.evidence = result.evidence
    if (result.error) sr.reason = result.error.message
    if (result.verdict === 'timeout' && stepMs > left) sr.reason = 'the job ran past its timeout-minutes'
    if (x.abort.aborted) {
      sr.status = 'cancelled'
      sr.reason = 'the run was cancelled'
    } else sr.status = result.verdict === 'ok' ? 'success' : 'failure'
    const fx = cmds.effects
    if (fx.errors.length && sr.status === 'success') {
      sr.status = 'failure'
      sr.verdict = 'workflow-command'
      sr.reason = x.e.masker.mask(fx.errors[0])
    }
    if (sr.status === 'failure') stepLog.line('lab', `step failed: ${sr.verdict}${sr.exitCode !== undefined ? ` (exit code ${sr.exitCode})` : ''}`)
    for (const d of fx.deprecations) {
      const w = `the ${d} workflow command is deprecated on GitHub: write to $${d === 'set-output' ? 'GITHUB_OUTPUT' : 'GITHUB_STATE'} instead`
      if (!x.e.warnings.includes(w)) x.e.warnings.push(w)
    }
    if (fx.annotations.length) sr.annotations = x.e.masker.maskDeep(fx.annotations)

    // what the step asked to pass on (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STATE)
    sr.outputs = x.e.masker.maskDeep({...fx.outputs, ...readCommandFile(hostStepDir, COMMAND_FILES.GITHUB_OUTPUT)})
    const state = {...fx.state, ...readCommandFile(hostStepDir, COMMAND_FILES.GITHUB_STATE)}
    // kept as it is for the action's post: script; the run's result is masked as a whole
    if (Object.keys(state).length) sr.state = state
    const envFile = {...fx.env, ...readCommandFile(hostStepDir, COMMAND_FILES.GITHUB_ENV)}
    // GitHub's runner refuses NODE_OPTIONS from a step: it would reach every later action's node
    if ('NODE_OPTIONS' in envFile) {
      delete envFile.NODE_OPTIONS
      x.e.say(o.prefix, 'warning: NODE_OPTIONS cannot be set through $GITHUB_ENV (as on GitHub); ignored')
    }
    Object.assign(x.fileEnv, envFile)
    prependPath(x.extraPath, fx.path)
    const pathFile = resolveInside(hostStepDir, COMMAND_FILES.GITHUB_PATH)
    if (pathFile && pathFile.st.isFile() && pathFile.st.size < COMMAND_FILE_MAX) {
      prependPath(x.extraPath, readFileSync(pathFile.path, 'utf8').split('\n').map((y) => y.trim()).filter(Boolean))
    }
    const summary = resolveInside(hostStepDir, COMMAND_FILES.GITHUB_STEP_SUMMARY)
    if (summary && summary.st.isFile() && summary.st.size > 0 && summary.st.size < COMMAND_FILE_MAX) sr.summary = x.e.masker.mask(readFileSync(summary.path, 'utf8'))
  } finally {
    log?.close()
    // out of the sandboxes' sight at once (one rename: no later step can read this step's
    // script or files), then removed while the next step runs
    const gone = join(x.dir, `.done-${stepDir.slice(stepDir.lastIndexOf('/') + 1)}`)
    try {
      renameSync(hostStepDir, gone)
      x.removing.push(rm(gone, {recursive: true, force: true}).catch(() => {}))
    } catch {
      rmSync(hostStepDir, {recursive: true, force: true})
    }
  }
}

const ACTION_FILE_MAX = 1024 * 1024
const MAX_ACTION_DEPTH = 8
export const ACTIONS_DIR = '/runner/actions'

interface ActionMeta {
  name?: string
  inputs?: Record<string, {default?: unknown; required?: boolean} | null>
  outputs?: Record<string, {value?: string} | null>
  runs?: {using?: string; main?: string; pre?: string; 'pre-if'?: string; post?: string; 'post-if'?: string; steps?: Array<Record<string, unknown>>}
}

/** Where an action's files are on the host (to read action.yml) and in the sandbox. */
function locateAction(uses: string, x: StepEnv): {host: string; inside: string; mount?: Mount} {
  if (uses.startsWith('./')) {
    const rel = posix.normalize(uses.slice(2)).replace(/\/+$/, '')
    // read from the job's own copy, never through a link (resolveInside refuses them)
    const found = rel === '.' ? {path: x.ws, st: statSync(x.ws)} : resolveInside(x.ws, rel)
    if (!found || !found.st.isDirectory()) throw new LabError('ci-action', `uses: ${uses}: no such directory in the workspace (or it is reached through a link)`, {hint: 'local actions are directories of the repository holding action.yml'})
    return {host: found.path, inside: rel === '.' ? WORKSPACE_DIR : `${WORKSPACE_DIR}/${rel}`}
  }
  const name = slug(uses).replace(/[^A-Za-z0-9._-]/g, '-')
  const inside = `${ACTIONS_DIR}/${name}`
  // the job's own copy, readable by the sandbox's unprivileged root (the directory given may
  // sit where only the host's root can reach it) and frozen for the job's pre, main and post
  const copy = join(x.dir, 'actions', name)
  if (!existsSync(copy)) {
    mkdirSync(join(x.dir, 'actions'), {recursive: true, mode: 0o711})
    const src = x.e.actionDirs[uses]
    copyTree(src, copy, {keepSymlinks: true, hardLinkOwner: statSync(src).uid})
    openTree(copy)
  }
  return {host: copy, inside, mount: {type: 'bind', source: copy, destination: inside, readOnly: true}}
}

/** Directories 0755 and files readable by all (executables kept executable): a read-only copy the sandbox reads. */
function openTree(path: string): void {
  const st = lstatSync(path)
  if (st.isSymbolicLink()) return
  if (st.isDirectory()) {
    chmodSync(path, 0o755)
    for (const n of readdirSync(path)) openTree(join(path, n))
  } else chmodSync(path, (st.mode & 0o777) | 0o444 | (st.mode & 0o100 ? 0o111 : 0))
}

/** An action's inputs: its defaults, then the step's with:, evaluated. */
function actionInputs(meta: ActionMeta, given: Record<string, unknown>, ctx: ExprContext, where: string): Record<string, string> {
  const inputs: Record<string, string> = {}
  for (const [k, d] of Object.entries(meta.inputs ?? {})) if (d?.default !== undefined) inputs[k] = interpolate(String(d.default), ctx, `${where}/with/${k}`)
  for (const [k, v] of Object.entries(given)) inputs[k] = typeof v === 'string' ? interpolate(v, ctx, `${where}/with/${k}`) : String(v)
  return inputs
}

/**
 * The pre: script of a step's JavaScript action, run when the job starts as GitHub's
 * runner does: under pre-if (default always(), the job's status), with the step's
 * inputs and env; what it saves in $GITHUB_STATE reaches the action's main and post.
 * GitHub runs pre: only for actions of a repository (OWNER/REPO@REF, here given with
 * --action-dir): a local ./ action's pre: is skipped with the runner's warning.
 */
async function runPre(p: Pipeline, r: JobRun, s: StepDef, x: StepEnv): Promise<StepResult | null> {
  if (s.uses === undefined) return null
  const kind = usesKind(s.uses, x.e.actionDirs)
  if (kind !== 'local' && kind !== 'action-dir') return null
  const where = `/jobs/${r.job.id}/steps/${s.index}`
  let at: ReturnType<typeof locateAction>
  let meta: ActionMeta
  try {
    at = locateAction(s.uses, x)
    meta = readAction(at.host, s.uses)
  } catch {
    // the step itself reports what is wrong with its action
    return null
  }
  const pre = meta.runs?.pre
  if (!pre || !/^node\d+$/.test(String(meta.runs?.using ?? ''))) return null
  if (kind === 'local') {
    const w = `\`pre\` execution is not supported for local action from '${s.uses}'`
    x.e.say(r.key, `warning: ${w}`)
    if (!x.e.warnings.includes(w)) x.e.warnings.push(w)
    return null
  }
  const t0 = Date.now()
  const ps: StepResult = {index: s.index, name: `Pre ${s.name}`, status: 'success', continueOnError: false, wallMs: 0}
  const status = {success: !x.failed && !x.abort.aborted, failure: x.failed, cancelled: x.abort.aborted}
  const gh = {...(x.ctx.contexts.github as Record<string, Value>), action_path: at.inside, action: slug(s.uses)}
  const ctx: ExprContext = {...x.ctx, contexts: {...x.ctx.contexts, github: gh}, status}
  const prefix = `${r.key} › ${ps.name}`
  try {
    ps.name = `Pre ${x.e.masker.mask(interpolate(s.name, ctx, `${where}/name`))}`
    if (!evalCondition(String(meta.runs?.['pre-if'] ?? 'always()'), ctx, `${where}/uses(${s.uses})/runs/pre-if`)) {
      ps.status = 'skipped'
      ps.reason = `pre-if: ${String(meta.runs?.['pre-if'])} was false`
      return ps
    }
    const env: Record<string, string> = {...x.jobEnv, ...x.fileEnv}
    ctx.contexts = {...ctx.contexts, env}
    Object.assign(env, envStrings(s.env, ctx, `${where}/env`))
    for (const [k, v] of Object.entries(actionInputs(meta, s.with ?? {}, ctx, where))) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v
    Object.assign(env, {GITHUB_ACTION_PATH: at.inside, GITHUB_ACTION: slug(s.uses)})
    await runScript(p, r, ps, {...x, mounts: [...x.mounts, at.mount!]}, {ctx, env, argv: [process.execPath, posix.join(at.inside, pre)], workdir: {path: WORKSPACE_DIR, checked: true}, prefix, where: `${where}/pre`})
    if (ps.state) x.preState.set(s.index, ps.state)
  } catch (err) {
    ps.status = 'failure'
    ps.verdict = 'engine-error'
    ps.reason = x.e.masker.mask((err as Error).message)
    x.e.say(prefix, `step error: ${ps.reason}`)
  } finally {
    ps.wallMs = Date.now() - t0
  }
  return ps
}

function readAction(host: string, uses: string): ActionMeta {
  for (const name of ['action.yml', 'action.yaml']) {
    const found = resolveInside(host, name)
    if (!found) continue
    if (!found.st.isFile() || found.st.size > ACTION_FILE_MAX) throw new LabError('ci-action', `uses: ${uses}: ${name} is not a regular file of at most ${ACTION_FILE_MAX} bytes`)
    let meta: unknown
    try {
      meta = parseYaml(readFileSync(found.path, 'utf8'))
    } catch (e) {
      throw new LabError('ci-action', `uses: ${uses}: ${name} is not valid YAML (${(e as Error).message.split('\n')[0]})`, {hint: 'fix the action\'s metadata file'})
    }
    if (!meta || typeof meta !== 'object' || !('runs' in meta)) throw new LabError('ci-action', `uses: ${uses}: ${name} has no runs: section`, {hint: 'an action says how it runs: runs.using composite or node20'})
    return meta as ActionMeta
  }
  throw new LabError('ci-action', `uses: ${uses}: no action.yml in the action's directory`, {hint: 'an action directory holds action.yml'})
}

/** A local composite or JavaScript action (or one given with --action-dir), run in the step's place. */
async function runAction(p: Pipeline, r: JobRun, sr: StepResult, x: StepEnv, o: {uses: string; with: Record<string, unknown>; ctx: ExprContext; env: Record<string, string>; prefix: string; where: string; depth: number}): Promise<void> {
  if (o.depth > MAX_ACTION_DEPTH) throw new LabError('ci-action', `uses: ${o.uses}: actions nest more than ${MAX_ACTION_DEPTH} deep`)
  const at = locateAction(o.uses, x)
  const meta = readAction(at.host, o.uses)
  const gh = {...(o.ctx.contexts.github as Record<string, Value>), action_path: at.inside, action: slug(o.uses)}
  const outer: ExprContext = {...o.ctx, contexts: {...o.ctx.contexts, github: gh}}
  const inputs = actionInputs(meta, o.with, outer, o.where)
  const missing = Object.entries(meta.inputs ?? {}).filter(([k, d]) => d?.required && !(k in inputs)).map(([k]) => k)
  if (missing.length) x.e.say(o.prefix, `warning: input ${missing.join(', ')} of ${o.uses} is required and not given`)
  const sub: StepEnv = at.mount ? {...x, mounts: [...x.mounts, at.mount]} : x
  const env: Record<string, string> = {...o.env, GITHUB_ACTION_PATH: at.inside, GITHUB_ACTION: slug(o.uses)}
  const using = String(meta.runs?.using ?? '')
  if (/^node\d+$/.test(using)) {
    if (!meta.runs?.main) throw new LabError('ci-action', `uses: ${o.uses}: runs.main is missing`, {hint: 'a JavaScript action names its entry file in runs.main'})
    // GitHub passes inputs as INPUT_NAME (upper case, spaces as _)
    for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v
    // what the action's pre: saved (a step's own action only, not one nested in a composite)
    const preState = o.depth === 0 ? x.preState.get(sr.index) : undefined
    for (const [k, v] of Object.entries(preState ?? {})) env[`STATE_${k}`] = v
    await runScript(p, r, sr, sub, {ctx: outer, env, argv: [process.execPath, posix.join(at.inside, meta.runs.main)], workdir: {path: WORKSPACE_DIR, checked: true}, prefix: o.prefix, where: o.where})
    const post = meta.runs.post
    if (post) {
      // the action's post: script, with what main saved as STATE_NAME; post-if defaults to always()
      x.posts.push(async (ok) => {
        const ps: StepResult = {index: sr.index, name: `Post ${sr.name}`, status: 'success', continueOnError: false, wallMs: 0}
        const t0 = Date.now()
        const status = {success: ok, failure: !ok, cancelled: x.abort.aborted}
        if (!evalCondition(String(meta.runs?.['post-if'] ?? 'always()'), {...outer, status}, `${o.where}/uses(${o.uses})/runs/post-if`)) {
          ps.status = 'skipped'
          return ps
        }
        const penv = {...env, ...x.fileEnv}
        for (const [k, v] of Object.entries({...preState, ...sr.state})) penv[`STATE_${k}`] = v
        try {
          await runScript(p, r, ps, sub, {ctx: {...outer, status}, env: penv, argv: [process.execPath, posix.join(at.inside, post)], workdir: {path: WORKSPACE_DIR, checked: true}, prefix: `${r.key} › Post ${sr.name}`, where: `${o.where}/post`})
        } finally {
          ps.wallMs = Date.now() - t0
        }
        return ps
      })
    }
    return
  }
  if (using !== 'composite') throw new LabError('ci-action', `uses: ${o.uses}: runs.using ${using || '(none)'} is not supported (composite and node actions are)`, {hint: 'container actions need an image, which lab does not pull'})
  const stepsCtx: Record<string, Value> = {}
  const inner: ExprContext = {...outer, contexts: {...outer.contexts, inputs, steps: stepsCtx}}
  let failed = false
  sr.substeps = []
  for (const [i, st] of (meta.runs?.steps ?? []).entries()) {
    const w = `${o.where}/uses(${o.uses})/runs/steps/${i}`
    const name = String(st.name ?? (st.run ? String(st.run).trim().split('\n')[0].slice(0, 60) : `uses ${String(st.uses)}`))
    const ss: StepResult = {index: sr.index, id: st.id as string | undefined, name: `${sr.name} › ${name}`, status: 'success', continueOnError: false, wallMs: 0}
    sr.substeps.push(ss)
    const t0 = Date.now()
    const ictx: ExprContext = {...inner, status: {success: !failed && !x.abort.aborted, failure: failed, cancelled: x.abort.aborted}}
    try {
      if (!evalCondition(st.if as string | boolean | undefined, ictx, `${w}/if`)) {
        ss.status = 'skipped'
        continue
      }
      const senv = {...env, ...x.fileEnv}
      ictx.contexts = {...ictx.contexts, env: senv}
      Object.assign(senv, envStrings((st.env ?? {}) as EnvMap, ictx, `${w}/env`))
      ss.continueOnError = st['continue-on-error'] === true || (typeof st['continue-on-error'] === 'string' && truthy(compile(unwrap(st['continue-on-error']), `${w}/continue-on-error`)(ictx)))
      if (typeof st.uses === 'string') {
        if (usesKind(st.uses, x.e.actionDirs) === 'checkout') continue
        if (!['local', 'action-dir'].includes(usesKind(st.uses, x.e.actionDirs))) {
          ss.status = 'unsupported'
          ss.reason = `uses: ${st.uses} cannot run offline; skipped`
          x.e.say(o.prefix, ss.reason)
          continue
        }
        await runAction(p, r, ss, x, {uses: st.uses, with: (st.with ?? {}) as Record<string, unknown>, ctx: ictx, env: senv, prefix: `${o.prefix} › ${name}`, where: w, depth: o.depth + 1})
      } else {
        // GitHub refuses a composite run: step without shell:
        if (typeof st.shell !== 'string') throw new LabError('ci-action', `${o.uses}: step ${i + 1} of the composite action has run: but no shell:`, {hint: 'composite actions must say shell: bash (or sh, python…) on every run: step'})
        const wd = typeof st['working-directory'] === 'string' ? interpolate(st['working-directory'], ictx, `${w}/working-directory`) : undefined
        await runScript(p, r, ss, x, {ctx: ictx, env: senv, shell: typeof st.shell === 'string' ? st.shell : undefined, script: String(st.run ?? ''), workdir: stepWorkdir(wd, x.ws), prefix: `${o.prefix} › ${name}`, where: w})
      }
    } catch (err) {
      ss.status = 'failure'
      ss.verdict = 'engine-error'
      ss.reason = x.e.masker.mask((err as Error).message)
    } finally {
      ss.wallMs = Date.now() - t0
    }
    const outcome = ss.status === 'unsupported' ? 'skipped' : ss.status
    if (ss.id) stepsCtx[ss.id] = {outputs: ss.outputs ?? {}, outcome, conclusion: ss.status === 'failure' && ss.continueOnError ? 'success' : outcome}
    if (ss.status === 'failure' && !ss.continueOnError) {
      failed = true
      sr.verdict = ss.verdict
      sr.exitCode = ss.exitCode
      sr.reason = `${name}: ${ss.reason ?? ss.verdict}`
    }
    sr.log ??= ss.log
  }
  sr.status = failed ? 'failure' : x.abort.aborted ? 'cancelled' : 'success'
  sr.outputs = {}
  const octx: ExprContext = {...inner, status: {success: !failed, failure: failed, cancelled: x.abort.aborted}}
  for (const [k, d] of Object.entries(meta.outputs ?? {})) sr.outputs[k] = x.e.masker.mask(interpolate(String(d?.value ?? ''), octx, `${o.where}/uses(${o.uses})/outputs/${k}`))
}

/**
 * `workspace: write`: the job's copy becomes the checkout again — files added, changed
 * or removed — without ever following a link in the checkout (a step may have planted
 * one in its copy; it lands as a link, never written through). New entries belong to
 * the checkout's owner.
 */
export function writeBack(copy: string, checkout: string, skip: Set<string>): number {
  const owner = lstatSync(checkout)
  let changes = 0
  const give = (p: string) => {
    if (isRoot()) lchownSync(p, owner.uid, owner.gid)
  }
  const lst = (p: string): Stats | null => {
    try {
      return lstatSync(p)
    } catch {
      return null
    }
  }
  const visit = (rel: string) => {
    const from = join(copy, rel)
    const to = join(checkout, rel)
    const names = new Set(readdirSync(from))
    for (const n of readdirSync(to)) {
      const r = rel ? `${rel}/${n}` : n
      if (!names.has(n) && !skip.has(r)) {
        rmSync(join(to, n), {recursive: true, force: true})
        changes++
      }
    }
    for (const n of [...names].sort()) {
      const r = rel ? `${rel}/${n}` : n
      if (skip.has(r)) continue
      const s = lstatSync(join(from, n))
      const d = lst(join(to, n))
      if (s.isDirectory()) {
        if (d && !d.isDirectory()) {
          unlinkSync(join(to, n))
          changes++
        }
        if (!d || !d.isDirectory()) {
          mkdirSync(join(to, n), {mode: s.mode & 0o777})
          give(join(to, n))
        }
        visit(r)
      } else if (s.isSymbolicLink()) {
        const target = readlinkSync(join(from, n))
        if (d?.isSymbolicLink() && readlinkSync(join(to, n)) === target) continue
        if (d) rmSync(join(to, n), {recursive: true, force: true})
        symlinkSync(target, join(to, n))
        give(join(to, n))
        changes++
      } else if (s.isFile()) {
        if (d?.isFile() && d.size === s.size && d.nlink === 1 && readFileSync(join(to, n)).equals(readFileSync(join(from, n)))) continue
        if (d) rmSync(join(to, n), {recursive: true, force: true})
        copyTree(join(from, n), join(to, n), {hardLinkOwner: s.uid})
        give(join(to, n))
        changes++
      }
    }
  }
  visit('')
  return changes
}

/** The lines to print for a finished run on GitHub Actions. */
export function githubAnnotations(r: CiResult): string[] {
  return process.env.GITHUB_ACTIONS === 'true' ? annotations(r) : []
}
