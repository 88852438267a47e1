/**
 * GitHub Actions on lab's engine: the `github` and `runner` contexts, the variables
 * GitHub sets for every step (CI, GITHUB_*, RUNNER_*) at their places inside the
 * sandbox, and GitHub's command files. What `uses:` maps to is in uses.ts.
 */
import {basename} from 'node:path'

import type {Value} from './expr.js'

export const WORKSPACE_DIR = '/workspace'
export const RUNNER_TEMP_DIR = '/runner/temp'
/** per-step files a step writes to set outputs and environment (GITHUB_OUTPUT, GITHUB_ENV…) */
export const COMMAND_FILES = {GITHUB_OUTPUT: 'output', GITHUB_ENV: 'env', GITHUB_PATH: 'path', GITHUB_STATE: 'state', GITHUB_STEP_SUMMARY: 'summary'} as const

export function isGithubWorkflow(file: string, data: Record<string, unknown>): boolean {
  return /(^|\/)\.github\/workflows\/[^/]+$/.test(file) || 'on' in data || Object.values((data.jobs ?? {}) as Record<string, Record<string, unknown>>).some((j) => j && typeof j === 'object' && 'runs-on' in j)
}

/** What triggered the run: `lab ci --event NAME --ref … --sha … --eventpath FILE`. */
export interface EventInfo {
  name: string
  ref: string
  sha: string
  /** the webhook payload (github.event) */
  payload: Record<string, Value>
  /** files the push or pull request changed (paths filters), when given */
  changed?: string[]
}

export const EVENT_PATH = `${RUNNER_TEMP_DIR}/_github_workflow/event.json`

/** The `github` context of a job. */
export function githubContext(opts: {runId: string; runNumber: number; workflow: string; job: string; workspace: string; actor: string; repository: string; event: EventInfo; file?: string}): {context: Record<string, Value>} {
  const ev = opts.event
  const pr = (ev.payload.pull_request ?? null) as Record<string, Record<string, Value>> | null
  const isPr = ev.name.startsWith('pull_request')
  const context: Record<string, Value> = {
    action: '',
    action_path: '',
    action_ref: '',
    action_repository: '',
    actor: opts.actor,
    actor_id: '0',
    api_url: 'https://api.github.com',
    base_ref: isPr ? String(pr?.base?.ref ?? '') : '',
    event: ev.payload,
    event_name: ev.name,
    event_path: EVENT_PATH,
    graphql_url: 'https://api.github.com/graphql',
    head_ref: isPr ? String(pr?.head?.ref ?? '') : '',
    job: opts.job,
    ref: ev.ref,
    ref_name: ev.ref.replace(/^refs\/(heads|tags)\//, '').replace(/^refs\/pull\/(\d+)\/merge$/, '$1/merge'),
    ref_protected: false,
    ref_type: ev.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    repository: opts.repository,
    repository_owner: opts.repository.split('/')[0],
    retention_days: '90',
    run_attempt: '1',
    run_id: opts.runId,
    run_number: String(opts.runNumber),
    secret_source: 'Actions',
    server_url: 'https://github.com',
    sha: ev.sha,
    token: '',
    triggering_actor: opts.actor,
    workflow: opts.workflow,
    workflow_ref: `${opts.repository}/${opts.file ?? '.github/workflows/workflow.yml'}@${ev.ref}`,
    workspace: WORKSPACE_DIR,
  }
  return {context}
}

/** The variables GitHub sets for every step, from the job's `github` context. */
export function githubEnv(gh: Record<string, Value>, job: string): Record<string, string> {
  const str = (k: string) => (gh[k] === null || gh[k] === undefined ? '' : String(gh[k]))
  return {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION: str('action'),
    GITHUB_ACTOR: str('actor'),
    GITHUB_ACTOR_ID: str('actor_id'),
    GITHUB_API_URL: str('api_url'),
    GITHUB_BASE_REF: str('base_ref'),
    GITHUB_EVENT_NAME: str('event_name'),
    GITHUB_EVENT_PATH: EVENT_PATH,
    GITHUB_GRAPHQL_URL: str('graphql_url'),
    GITHUB_HEAD_REF: str('head_ref'),
    GITHUB_JOB: job,
    GITHUB_REF: str('ref'),
    GITHUB_REF_NAME: str('ref_name'),
    GITHUB_REF_PROTECTED: str('ref_protected'),
    GITHUB_REF_TYPE: str('ref_type'),
    GITHUB_REPOSITORY: str('repository'),
    GITHUB_REPOSITORY_OWNER: str('repository_owner'),
    GITHUB_RETENTION_DAYS: str('retention_days'),
    GITHUB_RUN_ATTEMPT: str('run_attempt'),
    GITHUB_RUN_ID: str('run_id'),
    GITHUB_RUN_NUMBER: str('run_number'),
    GITHUB_SERVER_URL: str('server_url'),
    GITHUB_SHA: str('sha'),
    GITHUB_TRIGGERING_ACTOR: str('triggering_actor'),
    GITHUB_WORKFLOW: str('workflow'),
    GITHUB_WORKFLOW_REF: str('workflow_ref'),
    GITHUB_WORKSPACE: WORKSPACE_DIR,
    RUNNER_ARCH: process.arch === 'arm64' ? 'ARM64' : 'X64',
    RUNNER_ENVIRONMENT: 'self-hosted',
    RUNNER_NAME: 'lab',
    RUNNER_OS: 'Linux',
    RUNNER_TEMP: RUNNER_TEMP_DIR,
    RUNNER_TOOL_CACHE: `${RUNNER_TEMP_DIR}/toolcache`,
  }
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
