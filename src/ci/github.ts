/**
 * GitHub Actions on lab's engine: which workflow features map to what. A workflow's
 * run: steps run as they are; `actions/checkout` is the workspace (already mounted);
 * any other `uses:` step is reported as unsupported — skipped with a warning, or an
 * error with --strict. The variables GitHub sets (CI, GITHUB_WORKSPACE, RUNNER_TEMP…)
 * are set to their places inside the sandbox.
 */
import {basename} from 'node:path'

import {LabError} from '../errors.js'
import type {Value} from './expr.js'

export const WORKSPACE_DIR = '/workspace'
export const RUNNER_TEMP_DIR = '/runner/temp'
/** per-step files a step writes to set outputs and environment (GITHUB_OUTPUT, GITHUB_ENV…) */
export const COMMAND_FILES = {GITHUB_OUTPUT: 'output', GITHUB_ENV: 'env', GITHUB_PATH: 'path', GITHUB_STEP_SUMMARY: 'summary'} as const

export function isGithubWorkflow(file: string, data: Record<string, unknown>): boolean {
  return /(^|\/)\.github\/workflows\/[^/]+$/.test(file) || 'on' in data || Object.values((data.jobs ?? {}) as Record<string, Record<string, unknown>>).some((j) => j && typeof j === 'object' && 'runs-on' in j)
}

/** actions/checkout (any version or ref) is the workspace lab mounts anyway. */
export function isCheckout(uses: string): boolean {
  return /^actions\/checkout(@.*)?$/.test(uses)
}

export function unsupportedUses(uses: string, where: string, strict: boolean): string {
  const msg = `${where}: "uses: ${uses}" is not supported (lab runs the run: steps of a workflow; actions are not downloaded or executed)`
  if (strict) throw new LabError('ci-unsupported', msg, {hint: 'replace the step with a run: step, or leave out --strict to skip it with a warning'})
  return `${msg}; the step is skipped`
}

/** The `github` context and the variables GitHub sets for every step. */
export function githubContext(opts: {runId: string; runNumber: number; workflow: string; job: string; workspace: string; actor: string; sha: string; ref: string; repository: string}): {context: Record<string, Value>; env: Record<string, string>} {
  const context: Record<string, Value> = {
    run_id: opts.runId,
    run_number: String(opts.runNumber),
    run_attempt: '1',
    workflow: opts.workflow,
    job: opts.job,
    workspace: WORKSPACE_DIR,
    actor: opts.actor,
    sha: opts.sha,
    ref: opts.ref,
    ref_name: opts.ref.replace(/^refs\/(heads|tags)\//, ''),
    repository: opts.repository,
    event_name: 'workflow_dispatch',
    server_url: 'https://github.com',
    action: '',
  }
  const env: Record<string, string> = {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: WORKSPACE_DIR,
    GITHUB_RUN_ID: opts.runId,
    GITHUB_RUN_NUMBER: String(opts.runNumber),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: opts.workflow,
    GITHUB_JOB: opts.job,
    GITHUB_ACTOR: opts.actor,
    GITHUB_SHA: opts.sha,
    GITHUB_REF: opts.ref,
    GITHUB_REF_NAME: String(context.ref_name),
    GITHUB_REPOSITORY: opts.repository,
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    RUNNER_TEMP: RUNNER_TEMP_DIR,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: process.arch === 'arm64' ? 'ARM64' : 'X64',
    RUNNER_NAME: 'lab',
    RUNNER_TOOL_CACHE: `${RUNNER_TEMP_DIR}/toolcache`,
  }
  return {context, env}
}

export function runnerContext(): Record<string, Value> {
  return {os: 'Linux', arch: process.arch === 'arm64' ? 'ARM64' : 'X64', name: 'lab', temp: RUNNER_TEMP_DIR, tool_cache: `${RUNNER_TEMP_DIR}/toolcache`}
}

/** The repository's name as GitHub would show it: the workspace directory's name. */
export function repositoryName(workspace: string): string {
  return `local/${basename(workspace)}`
}

/** Parses a GITHUB_OUTPUT / GITHUB_ENV file: NAME=value lines and NAME<<DELIM heredocs. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '')
    if (!line) continue
    const heredoc = /^([^=<\s]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const body: string[] = []
      i++
      while (i < lines.length && lines[i].replace(/\r$/, '') !== heredoc[2]) body.push(lines[i++])
      out[heredoc[1]] = body.join('\n')
      continue
    }
    const eq = line.indexOf('=')
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return out
}
