/**
 * `lab ci`: shared by the oclif command (src/commands/ci.ts) and the start-up fast path in
 * bin/run.js, which skips loading oclif (a tenth of a second of every run). No oclif
 * imports: the queue's client, which has some, is loaded only with --queue/--attach/--detach.
 */
import {lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'

import {LabError, usageError} from '../errors.js'
import {DEFAULT_PIPELINE, defaultWorkspace, loadPipeline} from '../ci/load.js'
import {summaryLines, type CiResult} from '../ci/report.js'
import {buildEvent, decide, fromFork, inputsContext} from '../ci/events.js'
import type {Value} from '../ci/expr.js'
import {repositoryName} from '../ci/github.js'
import {lintPipeline, type LintFinding} from '../ci/lint.js'
import {planLines, planRun, type Plan} from '../ci/plan.js'
import {gitHead, gitRef, githubAnnotations, runPipeline} from '../ci/runner.js'
import {parseActionDirs} from '../ci/uses.js'
import {loadSecrets, unreferencedSecrets} from '../ci/secrets.js'
import {applyPolicy, cacheScopeOf, checkPrivilege, loadPolicyFile, readAtRef, refusalLines, type Privilege, type Refusal, type TrustPolicy} from '../ci/policy.js'
import type {QueueFlagValues} from '../queue/cli.js'
import {parseFastArgv, type FastArgvSpec} from './fast-argv.js'
import {printError, printJson} from './output.js'

export interface CiFlags extends QueueFlagValues {
  jobs?: number
  secret?: string[]
  'secret-file'?: string[]
  workspace?: string
  strict?: boolean
  junit?: string
  quiet?: boolean
  event?: string
  ref?: string
  sha?: string
  changed?: string[]
  eventpath?: string
  var?: string[]
  input?: string[]
  'action-dir'?: string[]
  'fork-secrets'?: boolean
  list?: boolean
  lint?: boolean
  allow?: string[]
  policy?: string
  'trusted-ref'?: string
  untrusted?: boolean
}

export type CiOutcome = CiResult | Plan | {findings: LintFinding[]} | {runs: false; why: string}

/** Runs (or lists, or lints) a pipeline and prints as `lab ci` does; the result is returned (--json prints it). */
export async function ciCommand(fileArg: string | undefined, flags: CiFlags, json: boolean, log: (text: string) => void = (t) => process.stdout.write(t + '\n')): Promise<CiOutcome> {
  const actionDirs = checkActionDirs(parseActionDirs(flags['action-dir']))
  const file = fileArg ?? DEFAULT_PIPELINE
  if (flags['trusted-ref'] && flags.untrusted) throw usageError('--trusted-ref and --untrusted contradict each other', '--trusted-ref already keeps the checkout\'s own pipeline out; drop one of them')
  let pipelineText: string
  let pipeline: Awaited<ReturnType<typeof loadPipeline>>
  const trustedJobs = new Set<string>()
  if (flags['trusted-ref']) {
    // the pipeline as it is on the trusted ref, run against the checkout under test
    const workspace = flags.workspace ? resolve(flags.workspace) : defaultWorkspace(file)
    pipelineText = readAtRef(workspace, flags['trusted-ref'], file)
    const rel = relative(workspace, resolve(file))
    const dir = mkdtempSync(join(tmpdir(), 'lab-ci-trusted-'))
    try {
      mkdirSync(dirname(join(dir, rel)), {recursive: true})
      writeFileSync(join(dir, rel), pipelineText)
      pipeline = await loadPipeline(join(dir, rel), {workspace, strict: flags.strict, actionDirs})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    pipeline.file = `${flags['trusted-ref']}:${rel}`
    // a reusable workflow is still read from the checkout: its jobs stay capped
    for (const j of Object.values(pipeline.jobs)) if (!j.call) trustedJobs.add(j.id)
  } else {
    pipeline = await loadPipeline(file, {workspace: flags.workspace, strict: flags.strict, actionDirs})
    pipelineText = readFileSync(resolve(file), 'utf8')
  }
  if (flags.lint) {
    const findings = lintPipeline(pipeline, resolve(file))
    if (!json) log(findings.length ? findings.map((f) => `${f.file}${f.line ? `:${f.line}` : ''}: ${f.path}: ${f.message}`).join('\n') : `${pipeline.file}: no script injection found`)
    process.exitCode = findings.length ? 1 : 0
    return {findings}
  }
  const event = buildEvent({name: flags.event, ref: flags.ref, sha: flags.sha, eventPath: flags.eventpath, changed: flags.changed, inputs: nameValues(flags.input, '--input'), gitRef: gitRef(pipeline.workspace), gitSha: gitHead(pipeline.workspace), repository: repositoryName(pipeline.workspace), actor: process.env.USER ?? 'lab'})
  const vars = nameValues(flags.var, '--var')
  const inputs = inputsContext(pipeline.on, event.name, (event.payload.inputs ?? {}) as Record<string, Value>)
  if (flags.list) {
    const plan = planRun(pipeline, event, {vars, inputs, actionDirs})
    if (!json) log(planLines(plan).join('\n'))
    return plan
  }
  if (pipeline.kind === 'github' && flags.event) {
    const d = decide(pipeline.on, event)
    if (!d.runs) {
      if (!json) log(`${pipeline.file}: does not run on ${event.name} (${event.ref}): ${d.why}`)
      return {runs: false, why: d.why}
    }
    if (/not checked/.test(d.why)) pipeline.warnings.push(d.why)
  }
  const policy = await trustPolicy(flags, pipeline.workspace, event)
  const refusals: Refusal[] = applyPolicy(pipeline, policy, trustedJobs)
  for (const l of refusalLines(refusals)) pipeline.warnings.push(l)
  let secrets = loadSecrets({names: flags.secret, files: flags['secret-file']})
  if (fromFork(event) && !flags['fork-secrets'] && !policy.allow.includes('secrets') && Object.keys(secrets).length) {
    pipeline.warnings.push('the pull request comes from a fork: its workflow gets no secrets, as on GitHub (--fork-secrets or --allow secrets gives them)')
    secrets = {}
  } else if (policy.trust === 'untrusted' && !policy.allow.includes('secrets') && Object.keys(secrets).length) {
    pipeline.warnings.push('the run is untrusted: it gets no secrets (--allow secrets gives them)')
    secrets = {}
  }
  // script injection is worth a warning on every run, not only under --lint
  for (const f of lintPipeline(pipeline, resolve(file))) pipeline.warnings.push(`${f.path}: ${f.message}`)
  const unused = unreferencedSecrets(pipelineText, Object.keys(secrets))
  for (const n of unused) pipeline.warnings.push(`secret ${n} is never named by the pipeline, so no step sees it: map it with env: ${n}: \${{ secrets.${n} }}`)
  const live = !json && !flags.quiet
  for (const w of pipeline.warnings) process.stderr.write(`lab: warning: ${w}\n`)
  const abort = new AbortController()
  const stop = () => abort.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let result: CiResult
  let junitText: string | null = null
  // the queue's client (and oclif's flag table with it) is loaded only when asked for
  const queue = flags.queue || flags.attach || flags.detach ? await import('../queue/cli.js') : null
  if (queue?.wantsQueue(flags)) {
    const q = await queue.ciThroughQueue(flags, pipeline, json, Object.keys(secrets).length)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    if ('detached' in q) {
      if (!json) log(q.detached)
      return {runId: q.detached} as CiResult
    }
    result = q.result
    junitText = q.junit
    if (live) for (const l of q.logs) for (const line of l.text.split('\n').filter(Boolean)) log(`[${l.job} › ${l.file}] ${line.replace(/^(stdout|stderr)\t/, '').replace(/^lab\t/, '· ')}`)
  } else try {
    result = await runPipeline(pipeline, {
      jobs: flags.jobs ?? availableParallelism(),
      secrets,
      abortSignal: abort.signal,
      event,
      vars,
      inputs,
      actionDirs,
      policy: {...policy, refusals},
      onLine: live ? (prefix, stream, line) => (stream === 'stderr' ? process.stderr : process.stdout).write(`[${prefix}] ${stream === 'lab' ? '· ' : ''}${line}\n`) : undefined,
    })
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  if (flags.junit) {
    try {
      writeFileSync(resolve(flags.junit), junitText ?? readFileSync(result.junit!, 'utf8'))
    } catch (e) {
      throw new LabError('ci-junit', `--junit ${flags.junit}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {hint: 'give a path in a directory you can write to'})
    }
  }
  // GitHub Actions reads workflow commands from both streams: keep stdout clean for --json
  for (const a of githubAnnotations(result)) (json ? process.stderr : process.stdout).write(a + '\n')
  if (!json) log(summaryLines(result).join('\n'))
  process.exitCode = result.exitCode
  return result
}

async function trustPolicy(flags: {allow?: string[]; policy?: string; untrusted?: boolean; 'trusted-ref'?: string; 'fork-secrets'?: boolean}, workspace: string, event: ReturnType<typeof buildEvent>): Promise<TrustPolicy> {
  const allow = new Set<Privilege>((flags.allow ?? []).map((k) => checkPrivilege(k)))
  const sources: string[] = []
  if (flags.allow?.length) sources.push('--allow')
  if (flags.policy) {
    for (const k of await loadPolicyFile(flags.policy, workspace)) allow.add(k)
    sources.push(`--policy ${flags.policy}`)
  }
  if (flags['fork-secrets']) allow.add('secrets')
  if (flags['trusted-ref']) sources.push(`--trusted-ref ${flags['trusted-ref']}`)
  const trust = flags.untrusted || fromFork(event) ? 'untrusted' : flags['trusted-ref'] ? 'trusted' : 'local'
  const head = (event.payload.pull_request as {head?: {ref?: string}} | undefined)?.head?.ref
  return {trust, allow: [...allow], sources, cacheScope: cacheScopeOf(trust, event.name, event.ref, typeof head === 'string' ? head : undefined)}
}

function nameValues(specs: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const spec of specs ?? []) {
    const eq = spec.indexOf('=')
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(spec.slice(0, eq))) throw usageError(`${flag} ${spec}: expected NAME=VALUE`, `e.g. ${flag} level=debug`)
    out[spec.slice(0, eq)] = spec.slice(eq + 1)
  }
  return out
}

function checkActionDirs(dirs: Record<string, string>): Record<string, string> {
  for (const [uses, dir] of Object.entries(dirs)) {
    let ok = false
    try {
      ok = lstatSync(dir).isDirectory()
    } catch {}
    if (!ok) throw usageError(`--action-dir ${uses}=${dir}: not a directory`, 'give the directory that holds the action\'s action.yml (for a reusable workflow, the repository\'s checkout)')
    dirs[uses] = resolve(dir)
  }
  return dirs
}

const CI_ARGV: FastArgvSpec<CiFlags> = {
  strings: {
    '-j': 'jobs', '--jobs': 'jobs', '-s': 'secret', '--secret': 'secret', '--secret-file': 'secret-file', '-w': 'workspace', '--workspace': 'workspace',
    '--junit': 'junit', '--event': 'event', '--ref': 'ref', '--sha': 'sha', '--changed': 'changed', '--eventpath': 'eventpath', '--var': 'var', '--input': 'input',
    '--action-dir': 'action-dir', '--allow': 'allow', '--policy': 'policy', '--trusted-ref': 'trusted-ref',
  },
  multiple: new Set<keyof CiFlags>(['secret', 'secret-file', 'changed', 'var', 'input', 'action-dir', 'allow']),
  booleans: {'--strict': 'strict', '-q': 'quiet', '--quiet': 'quiet', '--fork-secrets': 'fork-secrets', '--list': 'list', '--lint': 'lint', '--untrusted': 'untrusted', '--json': 'json'},
  positionals: 1,
}

/**
 * The fast path: the exit code, or 'oclif' when oclif should take the argv (help, the
 * queue's flags, `lab ci logs`, anything this table does not know or a value out of range).
 */
export async function ciFast(argv: string[]): Promise<number | 'oclif'> {
  // a pipeline file is optional: without one the argv has no positional
  const p = parseFastArgv(argv, CI_ARGV) ?? parseFastArgv(argv, {...CI_ARGV, positionals: 0})
  if (!p || p.positionals[0] === 'logs') return 'oclif'
  const flags = p.flags as CiFlags & {jobs?: unknown}
  if (flags.jobs !== undefined) {
    const n = Number(flags.jobs)
    if (!/^\d+$/.test(String(flags.jobs)) || n < 1 || n > 64) return 'oclif'
    flags.jobs = n
  }
  try {
    const out = await ciCommand(p.positionals[0], flags, p.json)
    if (p.json) printJson(out)
    return Number(process.exitCode ?? 0)
  } catch (e) {
    return printError(e, p.json)
  }
}
