/**
 * Checks look at outcomes, not just output: exit code and verdict, stdout/stderr,
 * files in the work directory (what a sandbox wrote through a volume), expected
 * failures by errno, and measured facts (peak memory, wall-time ratios). One small
 * function per kind; each returns pass/fail and what it observed.
 */
import {lstatSync} from 'node:fs'
import {join} from 'node:path'

import {labName, type ActionOutcome} from './actions.js'
import {safeReadFile} from './fsafe.js'
import type {Lab} from './load.js'
import type {Lifecycle} from '../sandbox/lifecycle.js'
import {failureSentence} from '../sandbox/result.js'
import type {Check, TextMatch} from './schema.js'
import {parseSize, formatSize} from '../sandbox/units.js'
import {LabError} from '../errors.js'

export interface CheckOutcome {
  name: string
  passed: boolean
  /** what was observed when it failed */
  detail?: string
  hint?: string
}

export interface CheckContext {
  work: string
  results: Map<string, ActionOutcome>
  /** the step's last result-producing action */
  last?: ActionOutcome
  render: (src: string, where: string) => string
  lab: Lab
  /** the lab run's lifecycle engine (state and volume checks) */
  engine: () => Lifecycle
}

/** strerror() texts, as programs print them (EROFS → "Read-only file system"). */
export const ERRNO_TEXT: Record<string, string> = {
  EROFS: 'Read-only file system',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  ENETUNREACH: 'Network is unreachable',
  EAGAIN: 'Resource temporarily unavailable',
  ENOSPC: 'No space left on device',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  ESRCH: 'No such process',
}

const clip = (s: string, n = 120) => {
  const one = JSON.stringify(s.length > n ? s.slice(0, n) + '…' : s)
  return one
}

function matchText(m: TextMatch, text: string, what: string, ctx: CheckContext): string | null {
  const r = (s: string) => ctx.render(s, what)
  if (m.equals !== undefined) {
    const want = r(m.equals)
    return text.replace(/\n$/, '') === want.replace(/\n$/, '') ? null : `${what} is ${clip(text)}, expected ${clip(want)}`
  }
  if (m.contains !== undefined) {
    const want = r(m.contains)
    return text.includes(want) ? null : `${what} does not contain ${clip(want)} (it is ${clip(text)})`
  }
  if (m.notContains !== undefined) {
    const want = r(m.notContains)
    return text.includes(want) ? `${what} contains ${clip(want)}` : null
  }
  if (m.matches !== undefined) {
    return new RegExp(r(m.matches), 'm').test(text) ? null : `${what} does not match /${m.matches}/ (it is ${clip(text)})`
  }
  return null
}

function outcomeOf(c: Check, ctx: CheckContext): ActionOutcome | undefined {
  return c.of !== undefined ? ctx.results.get(c.of) : ctx.last
}

/** Runs one check; never throws for a student's mistake. */
export async function evaluateCheck(c: Check, ctx: CheckContext): Promise<CheckOutcome> {
  const fail = (detail: string): CheckOutcome => ({name: c.name, passed: false, detail, hint: c.hint})
  const ok: CheckOutcome = {name: c.name, passed: true}

  if (c.state) {
    const p = await stateProblem(c.state, ctx).catch((e: Error) => e.message)
    return p === null ? ok : fail(p)
  }
  if (c.volume) {
    const p = volumeProblem(c.volume, ctx)
    return p ? fail(p) : ok
  }
  if (c.error) {
    const o = outcomeOf(c, ctx)
    if (!o) return fail('the action it looks at did not run')
    if (!o.error) return fail(`the engine did it; expected it to refuse${o.result ? ` (exit ${o.result.exitCode})` : ''}`)
    const p = matchText(c.error, o.error, 'the error', ctx)
    return p ? fail(p) : ok
  }
  if (c.measure) {
    const o = outcomeOf(c, ctx)
    if (!o) return fail('the action it looks at did not run')
    if (o.error) return fail(o.error)
    const v = o.metrics?.[c.measure.metric]
    if (v === undefined) return fail(`${o.kind} gives no ${c.measure.metric}`)
    const shown = formatMetric(c.measure.metric, v)
    if (c.measure.below !== undefined && !(v < c.measure.below)) return fail(`${c.measure.metric} is ${shown}, expected below ${formatMetric(c.measure.metric, c.measure.below)}`)
    if (c.measure.atLeast !== undefined && !(v >= c.measure.atLeast)) return fail(`${c.measure.metric} is ${shown}, expected at least ${formatMetric(c.measure.metric, c.measure.atLeast)}`)
    return ok
  }

  if (c.file) {
    const rel = ctx.render(c.file.path, 'file check')
    let content: string | null
    try {
      content = safeReadFile(ctx.work, rel, rel)
    } catch (e) {
      return fail((e as LabError).message)
    }
    const mustExist = c.file.exists ?? true
    if (content === null) return mustExist ? fail(`${rel} does not exist in the work directory`) : ok
    if (!mustExist) return fail(`${rel} exists but should not`)
    if (c.file.hostUid) {
      // the owner as the host sees it (lstat: safeReadFile refused links already)
      const uid = lstatSync(join(ctx.work, rel)).uid
      if (uid === c.file.hostUid.not) return fail(`${rel} is owned by host uid ${uid}`)
    }
    const problem = matchText(c.file, content, rel, ctx)
    return problem ? fail(problem) : ok
  }

  if (c.wallRatio) {
    const slow = ctx.results.get(c.wallRatio.slow)?.result
    const fast = ctx.results.get(c.wallRatio.fast)?.result
    if (!slow || !fast) return fail('one of the two runs did not happen')
    const ratio = slow.wallMs / Math.max(fast.wallMs, 1)
    return ratio >= c.wallRatio.atLeast ? ok : fail(`${c.wallRatio.slow} took ${Math.round(slow.wallMs)} ms, ${ratio.toFixed(2)}× ${c.wallRatio.fast}'s ${Math.round(fast.wallMs)} ms; expected at least ${c.wallRatio.atLeast}×`)
  }

  const o = outcomeOf(c, ctx)
  if (!o) return fail('the action it looks at did not run')
  if (o.error || !o.result) return fail(o.error ?? 'the sandbox did not run')
  const r = o.result
  if (r.error && r.verdict === 'engine-error') return fail(`the sandbox could not be set up: ${failureSentence(r.error, '')}`)

  if (c.exitCode !== undefined) {
    if (typeof c.exitCode === 'number') return r.exitCode === c.exitCode ? ok : fail(`exit code ${r.exitCode} (${r.verdict}), expected ${c.exitCode}${stderrTail(r.stderr)}`)
    return r.exitCode !== c.exitCode.not ? ok : fail(`exit code ${r.exitCode}, expected anything else`)
  }
  if (c.verdict !== undefined) return r.verdict === c.verdict ? ok : fail(`verdict ${r.verdict} (exit ${r.exitCode}), expected ${c.verdict}`)
  if (c.stdout) {
    const p = matchText(c.stdout, r.stdout ?? '', 'stdout', ctx)
    return p ? fail(p) : ok
  }
  if (c.stderr) {
    const p = matchText(c.stderr, r.stderr ?? '', 'stderr', ctx)
    return p ? fail(p) : ok
  }
  if (c.fails) {
    const text = ERRNO_TEXT[c.fails.errno]
    const out = `${r.stderr ?? ''}\n${r.stdout ?? ''}`
    if (r.exitCode === 0) return fail(`the command succeeded (exit 0); expected it to fail with ${c.fails.errno} (${text})`)
    return out.includes(text) || out.includes(c.fails.errno) ? ok : fail(`it failed (exit ${r.exitCode}) but not with ${c.fails.errno} ("${text}")${stderrTail(r.stderr)}`)
  }
  if (c.userns) {
    const u = r.userns
    if (u === undefined) return fail('the run reports no user namespace')
    const mapped = u !== null && u.hostUidBase !== 0
    if (mapped === c.userns.mapped) return ok
    return fail(mapped ? `root inside is host uid ${u!.hostUidBase}, not the host's root` : 'root inside is the host\'s root (no user remapping)')
  }
  if (c.peakMemory) {
    const below = parseSize(c.peakMemory.below, 'peakMemory.below')
    return r.peakMemoryBytes < below ? ok : fail(`peak memory ${formatSize(r.peakMemoryBytes)} is not below ${c.peakMemory.below}`)
  }
  return fail('the check has no kind (run `lab validate`)')
}

function stderrTail(s: string | undefined): string {
  const line = (s ?? '').trim().split('\n').pop()
  return line ? `; stderr: ${clip(line, 100)}` : ''
}

function formatMetric(metric: string, v: number): string {
  if (metric.endsWith('Bytes')) return formatSize(v)
  if (metric.endsWith('Ms')) return `${Math.round(v)} ms`
  if (metric === 'cpuPercent') return `${v.toFixed(1)}%`
  return String(Math.round(v * 100) / 100)
}

/** A sandbox's live state against the expected one; null when it matches. */
async function stateProblem(s: NonNullable<Check['state']>, ctx: CheckContext): Promise<string | null> {
  const lc = ctx.engine()
  const name = labName(ctx.lab, ctx.render(s.sandbox, 'state check'))
  const id = lc.store.nameHolder(name)
  const rec = id ? lc.store.load(id) : null
  if (!rec) return s.status === 'removed' ? null : `${name} does not exist (it was removed, or never created)`
  const st = lc.state(rec)
  if (s.status !== undefined && st.status !== s.status) return `${name} is ${st.status}${st.status === 'exited' ? ` (exit ${st.exitCode})` : ''}, expected ${s.status}`
  if (s.exitCode !== undefined && st.exitCode !== s.exitCode) return `${name} exited with ${st.exitCode}, expected ${s.exitCode}`
  if (s.restartCount !== undefined && st.restartCount !== s.restartCount) return `${name} was restarted ${st.restartCount} times, expected ${s.restartCount}`
  if (s.oomKilled !== undefined) {
    let kills = 0
    try {
      const stats = await lc.cgroupStats(rec)
      if (!stats) return `cannot read ${name}'s cgroup to see OOM kills (it has not run yet)`
      kills = stats.oomKills
    } catch {
      return `cannot read ${name}'s cgroup to see OOM kills`
    }
    if ((kills > 0) !== s.oomKilled) return kills > 0 ? `the kernel OOM-killed ${kills} process(es) of ${name}` : `no process of ${name} was OOM-killed`
  }
  return null
}

/** A managed volume of the lab, or a file in it; null when it matches. */
function volumeProblem(v: NonNullable<Check['volume']>, ctx: CheckContext): string | null {
  const vols = ctx.engine().volumes
  const name = labName(ctx.lab, ctx.render(v.name, 'volume check'))
  const mustExist = v.exists ?? true
  const exists = vols.exists(name)
  if (v.path === undefined) {
    if (exists === mustExist) return null
    return exists ? `volume ${name} still exists` : `there is no volume ${name}`
  }
  if (!exists) return `there is no volume ${name}`
  let content: string | null
  try {
    content = safeReadFile(vols.dataDir(name), v.path, `volume ${name}`)
  } catch (e) {
    return (e as Error).message
  }
  if (content === null) return mustExist ? `${v.path} does not exist in volume ${name}` : null
  if (!mustExist) return `${v.path} exists in volume ${name} but should not`
  return matchText(v, content, `${v.path} in volume ${name}`, ctx)
}
