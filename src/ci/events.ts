/**
 * Which workflows run for an event, as GitHub decides it: the workflow's `on:` names the
 * event, and its filters match the ref and the changed files.
 *
 *   push           branches / branches-ignore match a branch push, tags / tags-ignore a tag
 *                  push; with only branch filters a tag push does not run (and the reverse)
 *   pull_request   branches / branches-ignore match the base branch; types (default opened,
 *                  synchronize, reopened) match the payload's action
 *   both           paths: runs when at least one changed file matches; paths-ignore: does
 *                  not run when every changed file matches
 *
 * Patterns are GitHub's filter patterns: `*` (no /), `**`, `?` and `+` (of the character
 * before), `[…]`, and `!` to exclude; a later pattern overrides an earlier one.
 */
import {lstatSync, readFileSync} from 'node:fs'

import {LabError} from '../errors.js'
import type {Value} from './expr.js'
import type {EventInfo} from './github.js'

export type Triggers = Record<string, Record<string, unknown>>

const EVENT_FILE_MAX = 4 * 1024 * 1024
const PR_TYPES_DEFAULT = ['opened', 'synchronize', 'reopened']

/** `on:` in any of its forms (a name, a list, a mapping) → event → its settings. */
export function triggers(on: unknown): Triggers {
  if (typeof on === 'string') return {[on]: {}}
  if (Array.isArray(on)) return Object.fromEntries(on.map((e) => [String(e), {}]))
  if (on && typeof on === 'object') return Object.fromEntries(Object.entries(on).map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}]))
  return {}
}

/** A GitHub filter pattern as an anchored regular expression. */
export function patternRegex(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++
        // "dir/**/x" also matches "dir/x"
        if (pattern[i + 1] === '/') {
          i++
          re += '(?:.*/)?'
        } else re += '.*'
      } else re += '[^/]*'
    } else if (c === '?' || c === '+') re += c
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end < 0) re += '\\['
      else {
        re += '[' + pattern.slice(i + 1, end).replace(/\\/g, '\\\\') + ']'
        i = end
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/** The last pattern that matches decides; `!pattern` excludes. */
export function matchesPatterns(patterns: string[], value: string): boolean {
  let hit = false
  for (const p of patterns) {
    const neg = p.startsWith('!')
    if (patternRegex(neg ? p.slice(1) : p).test(value)) hit = !neg
  }
  return hit
}

const list = (v: unknown): string[] | undefined => (v === undefined || v === null ? undefined : (Array.isArray(v) ? v : [v]).map(String))

export interface Decision {
  runs: boolean
  /** why it does or does not run, one line */
  why: string
}

function refFilters(cfg: Record<string, unknown>, kind: 'branch' | 'tag', name: string, what: string): Decision | null {
  const key = kind === 'branch' ? 'branches' : 'tags'
  const inc = list(cfg[key])
  const exc = list(cfg[`${key}-ignore`])
  const other = kind === 'branch' ? 'tags' : 'branches'
  if (!inc && !exc) {
    if (list(cfg[other]) || list(cfg[`${other}-ignore`])) return {runs: false, why: `it filters ${other} only, and ${what} is a ${kind}`}
    return null
  }
  if (inc && !matchesPatterns(inc, name)) return {runs: false, why: `${kind} "${name}" is not in ${key}: ${inc.join(', ')}`}
  if (exc && matchesPatterns(exc, name)) return {runs: false, why: `${kind} "${name}" is in ${key}-ignore: ${exc.join(', ')}`}
  return null
}

function pathFilters(cfg: Record<string, unknown>, changed: string[] | undefined): Decision | null {
  const inc = list(cfg.paths)
  const exc = list(cfg['paths-ignore'])
  if (!inc && !exc) return null
  if (changed === undefined) return {runs: true, why: 'paths filters were not checked (give the changed files with --changed)'}
  if (inc && !changed.some((f) => matchesPatterns(inc, f))) return {runs: false, why: `no changed file matches paths: ${inc.join(', ')}`}
  if (exc && changed.length > 0 && changed.every((f) => matchesPatterns(exc, f))) return {runs: false, why: `every changed file matches paths-ignore: ${exc.join(', ')}`}
  return null
}

/** Whether a workflow with this `on:` runs for the event. */
export function decide(on: unknown, ev: EventInfo): Decision {
  const t = triggers(on)
  const names = Object.keys(t)
  if (!(ev.name in t)) return {runs: false, why: `it runs on ${names.join(', ') || 'no event'}, not on ${ev.name}`}
  const cfg = t[ev.name]
  let d: Decision | null = null
  if (ev.name === 'push') {
    const tag = ev.ref.startsWith('refs/tags/')
    d = refFilters(cfg, tag ? 'tag' : 'branch', ev.ref.replace(/^refs\/(heads|tags)\//, ''), ev.ref)
  } else if (ev.name === 'pull_request' || ev.name === 'pull_request_target') {
    const base = String(((ev.payload.pull_request as Record<string, Record<string, Value>> | undefined)?.base?.ref) ?? '')
    d = refFilters({branches: cfg.branches, 'branches-ignore': cfg['branches-ignore']}, 'branch', base, `the base ${base}`)
    const action = String(ev.payload.action ?? 'opened')
    const types = list(cfg.types) ?? PR_TYPES_DEFAULT
    if (!d && !types.includes(action)) d = {runs: false, why: `the pull request action "${action}" is not in types: ${types.join(', ')}`}
  } else {
    const types = list(cfg.types)
    if (types && ev.payload.action !== undefined && !types.includes(String(ev.payload.action))) d = {runs: false, why: `the action "${String(ev.payload.action)}" is not in types: ${types.join(', ')}`}
  }
  if (d && !d.runs) return d
  if (ev.name === 'push' || ev.name.startsWith('pull_request')) {
    const pd = pathFilters(cfg, ev.changed)
    if (pd) return pd
  }
  return d ?? {runs: true, why: `it runs on ${ev.name}`}
}

export interface EventOptions {
  name?: string
  ref?: string
  sha?: string
  /** a JSON webhook payload named on the command line */
  eventPath?: string
  changed?: string[]
  /** workflow_dispatch inputs given with --input NAME=VALUE */
  inputs?: Record<string, string>
  /** what the checkout says when --ref / --sha are not given */
  gitRef: string
  gitSha: string
  repository: string
  actor: string
}

function readPayload(file: string): Record<string, Value> {
  let st
  try {
    st = lstatSync(file)
  } catch {
    throw new LabError('ci-event', `--eventpath ${file}: no such file`, {hint: 'give a JSON webhook payload file'})
  }
  if (!st.isFile()) throw new LabError('ci-event', `--eventpath ${file}: not a regular file`, {hint: 'give a JSON webhook payload file'})
  if (st.size > EVENT_FILE_MAX) throw new LabError('ci-event', `--eventpath ${file}: larger than ${EVENT_FILE_MAX} bytes`, {hint: 'a webhook payload is small JSON'})
  let v: unknown
  try {
    v = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new LabError('ci-event', `--eventpath ${file}: not JSON (${(e as Error).message})`, {hint: 'save the webhook payload as JSON'})
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new LabError('ci-event', `--eventpath ${file}: the payload must be a JSON object`, {hint: 'save the webhook payload as JSON'})
  return v as Record<string, Value>
}

const fullRef = (r: string) => (r.startsWith('refs/') ? r : `refs/heads/${r}`)

/** The event a run is for, with a payload shaped like GitHub's (or the one given). */
export function buildEvent(o: EventOptions): EventInfo {
  const name = o.name ?? 'push'
  if (!/^[a-z_]{1,64}$/.test(name)) throw new LabError('ci-event', `--event ${name}: not an event name`, {hint: 'e.g. push, pull_request, workflow_dispatch'})
  if (o.sha !== undefined && !/^[0-9a-f]{4,64}$/i.test(o.sha)) throw new LabError('ci-event', `--sha ${o.sha}: not a commit id`, {hint: 'give the commit id in hex'})
  const payload: Record<string, Value> = o.eventPath ? readPayload(o.eventPath) : {}
  const sha = o.sha ?? o.gitSha
  const repo = {full_name: o.repository, name: o.repository.split('/')[1] ?? o.repository, owner: {login: o.repository.split('/')[0]}, default_branch: 'main'}
  payload.repository ??= repo
  payload.sender ??= {login: o.actor}
  let ref = fullRef(o.ref ?? o.gitRef)
  if (name === 'pull_request' || name === 'pull_request_target') {
    payload.action ??= 'opened'
    const number = typeof payload.number === 'number' ? payload.number : 1
    payload.number = number
    const pr = (payload.pull_request ??= {}) as Record<string, Value>
    pr.number ??= number
    pr.title ??= ''
    pr.base ??= {ref: ref.replace(/^refs\/heads\//, ''), sha: sha, repo}
    pr.head ??= {ref: 'head', sha, repo}
    if (o.ref === undefined || name === 'pull_request') ref = `refs/pull/${number}/merge`
  } else if (name === 'push') {
    payload.ref ??= ref
    payload.after ??= sha
    payload.head_commit ??= {id: sha, message: ''}
  } else if (name === 'workflow_dispatch') {
    payload.ref ??= ref
    payload.inputs = {...((payload.inputs as Record<string, Value>) ?? {}), ...(o.inputs ?? {})}
  }
  return {name, ref, sha, payload, changed: o.changed}
}

/** The pull request comes from a fork: GitHub gives its workflows no secrets. */
export function fromFork(ev: EventInfo): boolean {
  if (!ev.name.startsWith('pull_request') || ev.name === 'pull_request_target') return false
  const pr = ev.payload.pull_request as Record<string, Record<string, Record<string, Value>>> | undefined
  const head = pr?.head?.repo?.full_name
  const base = pr?.base?.repo?.full_name
  return head !== undefined && base !== undefined && head !== base
}

/** workflow_dispatch / workflow_call inputs with their defaults, typed as GitHub types them. */
export function inputsContext(on: unknown, event: string, given: Record<string, Value>): Record<string, Value> {
  const cfg = triggers(on)[event] ?? {}
  const decl = (cfg.inputs ?? {}) as Record<string, {default?: unknown; type?: string; required?: boolean}>
  const out: Record<string, Value> = {}
  for (const [k, d] of Object.entries(decl)) {
    const v = k in given ? given[k] : d?.default
    if (v === undefined) {
      if (d?.required) throw new LabError('ci-input', `input "${k}" is required by the workflow's ${event} trigger`, {hint: `give it with --input ${k}=VALUE`})
      out[k] = d?.type === 'boolean' ? false : d?.type === 'number' ? 0 : ''
      continue
    }
    out[k] = d?.type === 'boolean' ? v === true || String(v).toLowerCase() === 'true' : d?.type === 'number' ? Number(v) : (v as Value)
  }
  for (const [k, v] of Object.entries(given)) if (!(k in out)) out[k] = v
  return out
}
