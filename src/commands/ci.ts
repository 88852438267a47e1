import {lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {LabError, usageError} from '../errors.js'
import {DEFAULT_PIPELINE, loadPipeline} from '../ci/load.js'
import {summaryLines, type CiResult} from '../ci/report.js'
import {buildEvent, decide, fromFork, inputsContext} from '../ci/events.js'
import type {Value} from '../ci/expr.js'
import {repositoryName} from '../ci/github.js'
import {lintPipeline, type LintFinding} from '../ci/lint.js'
import {planLines, planRun, type Plan} from '../ci/plan.js'
import {gitHead, gitRef, githubAnnotations, runPipeline} from '../ci/runner.js'
import {parseActionDirs} from '../ci/uses.js'
import {loadSecrets, unreferencedSecrets} from '../ci/secrets.js'
import {applyPolicy, cacheScopeOf, checkPrivilege, loadPolicyFile, PRIVILEGES, readAtRef, refusalLines, type Privilege, type Refusal, type TrustPolicy} from '../ci/policy.js'
import {defaultWorkspace} from '../ci/load.js'
import {ciThroughQueue, queueFlags, wantsQueue} from '../queue/cli.js'

export default class Ci extends BaseCommand {
  static override summary = 'Run a CI pipeline or a GitHub Actions workflow, each step in a hardened sandbox'
  static override description = `FILE is a lab pipeline (default ${DEFAULT_PIPELINE}, schema schemas/ci.schema.json) or a GitHub Actions workflow (.github/workflows/X.yml), run with GitHub's semantics (see docs/ci.md). Jobs run in the order their needs allow, independent ones in parallel; every step runs in its own sandbox (no network but the job's services, remapped ids, seccomp) on a private copy of the workspace, so no step can change your checkout.

The pipeline comes from the checkout under test, so it cannot grant itself privileges: workspace: write, container.network: host, cap-add, another seccomp profile and rootfs are capped (each refusal listed) unless --allow KEY, a --policy FILE outside the checkout, or --trusted-ref REF (the pipeline as it is on that ref, like pull_request_target) grants them. --untrusted (and a pull request from a fork) also gets no secrets and its own cache scope.

Secrets (--secret NAME from the environment, --secret-file) are masked in every log and report. As on GitHub, a secret reaches a step only where the pipeline names it: map it with env: NAME: \${{ secrets.NAME }} on the step or job (lab warns about a secret the pipeline never names). A pull request from a fork (--event pull_request with a payload whose head repository differs) gets no secrets, as on GitHub, unless --fork-secrets.

--event, --ref, --sha, --changed and --eventpath say what triggered the run: a workflow whose on: filters do not match does not run. --list shows what would run without running anything; --lint reports script injection (untrusted event values pasted into run: scripts). Exits 1 when a required step failed (or --lint found a problem), 125 when the pipeline is invalid.`

  static override examples = [
    '<%= config.bin %> ci',
    '<%= config.bin %> ci examples/ci/.lab/ci.yml --jobs 2',
    'API_TOKEN=… <%= config.bin %> ci --secret API_TOKEN --junit junit.xml',
    '<%= config.bin %> ci .github/workflows/test.yml --strict',
    '<%= config.bin %> ci logs --job build --follow',
    '<%= config.bin %> ci .github/workflows/ci.yml --event pull_request --ref main --changed src/app.ts --list',
    '<%= config.bin %> ci .github/workflows/ci.yml --lint',
    '<%= config.bin %> ci .github/workflows/ci.yml --action-dir actions/setup-node@v4=../setup-node',
    '<%= config.bin %> ci --untrusted --event pull_request --ref main',
    '<%= config.bin %> ci --trusted-ref origin/main --secret DEPLOY_TOKEN',
  ]

  static override args = {
    file: Args.string({description: `pipeline file (default ${DEFAULT_PIPELINE})`, required: false}),
  }

  static override flags = {
    jobs: Flags.integer({char: 'j', description: 'job runs at once (default: the number of CPUs)', min: 1, max: 64}),
    secret: Flags.string({char: 's', description: 'a secret taken from this environment variable (repeatable); a step sees it only where the pipeline maps it: env: NAME: ${{ secrets.NAME }}', multiple: true, helpValue: 'NAME'}),
    'secret-file': Flags.string({description: 'a file of NAME=value secret lines (repeatable)', multiple: true}),
    workspace: Flags.string({char: 'w', description: 'the repository (default: the directory holding .lab/ or .github/, else the current one)'}),
    strict: Flags.boolean({description: 'unsupported uses: steps and container images are errors instead of warnings'}),
    junit: Flags.string({description: 'also write the JUnit XML report (one testcase per step) here'}),
    quiet: Flags.boolean({char: 'q', description: 'do not stream step output (it is still in the logs)'}),
    event: Flags.string({description: 'the event that triggers the run: push, pull_request, workflow_dispatch… (default: the workflow\'s first trigger, without filtering)'}),
    ref: Flags.string({description: 'the ref of the event: a branch, refs/heads/X or refs/tags/X (for pull_request: the base branch; default: the checkout\'s)'}),
    sha: Flags.string({description: 'the commit of the event (default: the checkout\'s HEAD)'}),
    changed: Flags.string({description: 'a file the push or pull request changed, for paths filters (repeatable)', multiple: true, helpValue: 'FILE'}),
    eventpath: Flags.string({description: 'a JSON webhook payload: github.event and $GITHUB_EVENT_PATH'}),
    var: Flags.string({description: 'a configuration variable: the vars context (repeatable)', multiple: true, helpValue: 'NAME=VALUE'}),
    input: Flags.string({description: 'a workflow_dispatch input: the inputs context (repeatable)', multiple: true, helpValue: 'NAME=VALUE'}),
    'action-dir': Flags.string({description: 'run a remote action from a local copy (repeatable)', multiple: true, helpValue: 'OWNER/REPO@REF=DIR'}),
    'fork-secrets': Flags.boolean({description: 'give secrets to a pull request from a fork (GitHub does not)'}),
    list: Flags.boolean({description: 'show what would run for the event (jobs, matrix legs, skipped and why) without running anything'}),
    lint: Flags.boolean({description: 'report script injection: untrusted event values pasted into run: scripts through ${{ }}'}),
    allow: Flags.string({description: `grant the pipeline a privilege it cannot grant itself (repeatable): ${Object.keys(PRIVILEGES).join(', ')}`, multiple: true, helpValue: 'KEY'}),
    policy: Flags.string({description: 'a policy file outside the checkout: {allow: [KEY…]}', helpValue: 'FILE'}),
    'trusted-ref': Flags.string({description: 'run the pipeline as it is on this ref (like pull_request_target): what that version asks for is granted', helpValue: 'REF'}),
    untrusted: Flags.boolean({description: 'the checkout is untrusted (a pull request): no secrets, privileges capped, its own cache scope'}),
    ...queueFlags,
  }

  async run(): Promise<CiResult | Plan | {findings: LintFinding[]} | {runs: false; why: string}> {
    const {args, flags} = await this.parse(Ci)
    const actionDirs = checkActionDirs(parseActionDirs(flags['action-dir']))
    const file = args.file ?? DEFAULT_PIPELINE
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
      if (!this.jsonEnabled()) this.log(findings.length ? findings.map((f) => `${f.file}${f.line ? `:${f.line}` : ''}: ${f.path}: ${f.message}`).join('\n') : `${pipeline.file}: no script injection found`)
      process.exitCode = findings.length ? 1 : 0
      return {findings}
    }
    const event = buildEvent({name: flags.event, ref: flags.ref, sha: flags.sha, eventPath: flags.eventpath, changed: flags.changed, inputs: nameValues(flags.input, '--input'), gitRef: gitRef(pipeline.workspace), gitSha: gitHead(pipeline.workspace), repository: repositoryName(pipeline.workspace), actor: process.env.USER ?? 'lab'})
    const vars = nameValues(flags.var, '--var')
    const inputs = inputsContext(pipeline.on, event.name, (event.payload.inputs ?? {}) as Record<string, Value>)
    if (flags.list) {
      const plan = planRun(pipeline, event, {vars, inputs, actionDirs})
      if (!this.jsonEnabled()) this.log(planLines(plan).join('\n'))
      return plan
    }
    if (pipeline.kind === 'github' && flags.event) {
      const d = decide(pipeline.on, event)
      if (!d.runs) {
        if (!this.jsonEnabled()) this.log(`${pipeline.file}: does not run on ${event.name} (${event.ref}): ${d.why}`)
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
    const json = this.jsonEnabled()
    const live = !json && !flags.quiet
    for (const w of pipeline.warnings) process.stderr.write(`lab: warning: ${w}\n`)
    const abort = new AbortController()
    const stop = () => abort.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    let result: CiResult
    let junitText: string | null = null
    if (wantsQueue(flags)) {
      const q = await ciThroughQueue(flags, pipeline, json, Object.keys(secrets).length)
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      if ('detached' in q) {
        if (!json) this.log(q.detached)
        return {runId: q.detached} as CiResult
      }
      result = q.result
      junitText = q.junit
      if (live) for (const l of q.logs) for (const line of l.text.split('\n').filter(Boolean)) this.log(`[${l.job} › ${l.file}] ${line.replace(/^(stdout|stderr)\t/, '').replace(/^lab\t/, '· ')}`)
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
    if (!json) this.log(summaryLines(result).join('\n'))
    process.exitCode = result.exitCode
    return result
  }
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
    if (!ok) throw usageError(`--action-dir ${uses}=${dir}: not a directory`, 'give the directory that holds the action\'s action.yml')
    dirs[uses] = resolve(dir)
  }
  return dirs
}
