/**
 * `lab ci --lint`: script injection. A `${{ }}` in a `run:` is pasted into the script
 * before the shell reads it (on GitHub and in lab alike), so a value an outsider
 * controls — an issue or pull request title, a branch name, a commit message — becomes
 * code. GitHub's security guidance and actionlint flag these; the fix is to pass the
 * value through an environment variable and quote it ("$TITLE").
 */
import {readFileSync} from 'node:fs'

import {LineCounter, parseDocument} from 'yaml'

import {allJobs} from './call-legs.js'
import {templateExpressions} from './expr.js'
import {topoOrder} from './dag.js'
import {resolveInside} from './files.js'
import type {Pipeline} from './model.js'

export interface LintFinding {
  file: string
  line?: number
  path: string
  expression: string
  message: string
}

// property paths (lower case, * for any element or key) that the event's sender controls
const UNTRUSTED = [
  'github.head_ref',
  'github.event.issue.title',
  'github.event.issue.body',
  'github.event.pull_request.title',
  'github.event.pull_request.body',
  'github.event.pull_request.head.ref',
  'github.event.pull_request.head.label',
  'github.event.pull_request.head.repo.default_branch',
  'github.event.comment.body',
  'github.event.review.body',
  'github.event.review_comment.body',
  'github.event.discussion.title',
  'github.event.discussion.body',
  'github.event.pages.*.page_name',
  'github.event.commits.*.message',
  'github.event.commits.*.author.email',
  'github.event.commits.*.author.name',
  'github.event.head_commit.message',
  'github.event.head_commit.author.email',
  'github.event.head_commit.author.name',
  'github.event.workflow_run.head_branch',
  'github.event.workflow_run.head_commit.message',
  'github.event.workflow_run.head_commit.author.email',
  'github.event.workflow_run.head_commit.author.name',
  'github.event.workflow_run.pull_requests.*.head.ref',
]

/** Property paths named in an expression: github.event.issue.title, github['head_ref'], x.*.y */
export function references(expr: string): string[] {
  const out: string[] = []
  const re = /\b([A-Za-z_][A-Za-z0-9_-]*)((?:\s*(?:\.\s*(?:[A-Za-z_][A-Za-z0-9_-]*|\*)|\[\s*(?:'[^']*'|\*|\d+)\s*\]))*)/g
  for (const m of expr.matchAll(re)) {
    const parts = [m[1]]
    for (const p of m[2].matchAll(/\.\s*([A-Za-z_][A-Za-z0-9_-]*|\*)|\[\s*('([^']*)'|\*|\d+)\s*\]/g)) parts.push(p[1] ?? (p[3] !== undefined ? p[3] : p[2] === '*' ? '*' : '*'))
    out.push(parts.join('.').toLowerCase())
  }
  return out
}

/** The untrusted value an expression reads, or null. `tainted`: more paths known to carry one (step outputs, env). */
export function untrustedIn(expr: string, tainted: string[] = []): string | null {
  for (const ref of references(expr)) {
    for (const t of tainted) {
      const ts = t.split('.')
      const rs = ref.split('.')
      if (rs.length >= ts.length && ts.every((x, i) => x === '*' || rs[i] === '*' || x === rs[i])) return ref
    }
    for (const u of UNTRUSTED) {
      const us = u.split('.')
      const rs = ref.split('.')
      // the reference reads the value itself, or an object that holds it (toJSON(github.event))
      const n = Math.min(us.length, rs.length)
      if (rs.length < 2) continue
      let ok = true
      for (let i = 0; i < n; i++) if (us[i] !== '*' && rs[i] !== '*' && us[i] !== rs[i]) ok = false
      if (ok && (rs.length >= us.length || rs.join('.') === 'github.event' || rs.length > 2)) return ref
    }
  }
  return null
}

/** Findings for every run: (and actions/github-script's script:) that pastes an untrusted value. */
export function lintPipeline(p: Pipeline, absFile: string): LintFinding[] {
  const findings: LintFinding[] = []
  let locate: (path: Array<string | number>) => number | undefined = () => undefined
  try {
    const lines = new LineCounter()
    const doc = parseDocument(readFileSync(absFile, 'utf8'), {lineCounter: lines})
    locate = (path) => {
      const node = doc.getIn(path, true) as {range?: [number, number, number]} | undefined
      return node?.range ? lines.linePos(node.range[0]).line : undefined
    }
  } catch {}
  // taint: an untrusted value written to env, a step's outputs or a job's outputs stays untrusted downstream
  const tainted: string[] = []
  const reads = (v: unknown): boolean => typeof v === 'string' && templateExpressions(v).some((e) => untrustedIn(e.expr, tainted) !== null)
  const taintEnv = (env: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(env ?? {})) if (reads(v)) tainted.push(`env.${k.toLowerCase()}`)
  }
  taintEnv(p.env)
  const check = (text: string | undefined, yamlPath: Array<string | number>) => findings.push(...injections(text, p.file, yamlPath, locate, tainted))
  const actionsSeen = new Set<string>()
  // the called jobs of matrix calls (cloned per leg while running) are read from their template
  const jobs = Object.fromEntries(allJobs(p.jobs).map((j) => [j.id, j]))
  for (const id of topoOrder(Object.fromEntries(Object.values(jobs).map((j) => [j.id, j.needs.filter((n) => n in jobs)])))) {
    const j = jobs[id]
    const before = tainted.length
    taintEnv(j.env)
    for (const s of j.steps) {
      const stepStart = tainted.length
      taintEnv(s.env)
      check(s.run, ['jobs', j.id, 'steps', s.index, 'run'])
      // a step that reads an untrusted value (in its script, env or inputs) may pass it on as an output
      if (s.id && (reads(s.run) || tainted.length > stepStart || Object.values(s.with ?? {}).some(reads))) tainted.push(`steps.${s.id.toLowerCase()}.outputs`)
      // a step's env is its own; its outputs stay
      const outs = tainted.slice(stepStart).filter((t) => t.startsWith('steps.'))
      tainted.splice(stepStart, tainted.length - stepStart, ...outs)
      if (s.uses?.startsWith('./') && !actionsSeen.has(s.uses)) {
        actionsSeen.add(s.uses)
        findings.push(...lintLocalAction(p.workspace, s.uses))
      }
      if (s.uses && /^actions\/github-script(@|$)/.test(s.uses)) check(s.with?.script as string | undefined, ['jobs', j.id, 'steps', s.index, 'with', 'script'])
    }
    for (const [name, svc] of Object.entries(j.services)) check(svc.run, ['jobs', j.id, 'services', name, 'run'])
    // the job's outputs that carry a tainted value taint needs.JOB.outputs.NAME; its env and steps stay its own
    const outs = Object.entries(j.outputs).filter(([, v]) => reads(v)).map(([k]) => `needs.${j.id.toLowerCase()}.outputs.${k.toLowerCase()}`)
    tainted.splice(before, tainted.length - before, ...outs)
  }
  return findings
}

function injections(text: string | undefined, file: string, yamlPath: Array<string | number>, locate: (path: Array<string | number>) => number | undefined, tainted: string[] = []): LintFinding[] {
  const out: LintFinding[] = []
  if (typeof text !== 'string') return out
  for (const e of templateExpressions(text)) {
    const whole = text.slice(e.start, e.end < 0 ? undefined : e.end)
    const bad = untrustedIn(e.expr, tainted)
    if (!bad) continue
    const name = (bad.split('.').filter((x) => x !== '*').pop() ?? 'value').toUpperCase().replace(/[^A-Z0-9]/g, '_')
    out.push({
      file,
      line: locate(yamlPath),
      path: '/' + yamlPath.join('/'),
      expression: whole,
      message: `${whole} is pasted into the script as code, and ${bad} ${/^(steps|needs|env)\./.test(bad) ? 'carries a value that whoever triggers the event controls' : 'is controlled by whoever triggers the event'}: pass it through the environment instead (env: ${name}: ${whole}) and use "$${name}"`,
    })
  }
  return out
}

/** The run: steps of a local composite action (its action.yml, read through no link). */
function lintLocalAction(workspace: string, uses: string): LintFinding[] {
  const rel = uses.slice(2).replace(/\/+$/, '')
  for (const name of ['action.yml', 'action.yaml']) {
    const found = resolveInside(workspace, `${rel}/${name}`)
    if (!found || !found.st.isFile() || found.st.size > 1024 * 1024) continue
    try {
      const lines = new LineCounter()
      const doc = parseDocument(readFileSync(found.path, 'utf8'), {lineCounter: lines})
      const locate = (path: Array<string | number>) => {
        const node = doc.getIn(path, true) as {range?: [number, number, number]} | undefined
        return node?.range ? lines.linePos(node.range[0]).line : undefined
      }
      const steps = (doc.toJS() as {runs?: {steps?: Array<{run?: string}>}})?.runs?.steps ?? []
      return steps.flatMap((st, i) => injections(st?.run, `${rel}/${name}`, ['runs', 'steps', i, 'run'], locate))
    } catch {
      return []
    }
  }
  return []
}
