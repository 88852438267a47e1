/**
 * Framework runs: a teacher's test file run once per submission by its own framework
 * (pytest, unittest, node:test, a TAP program, or any command writing JUnit XML), each
 * framework test becoming a scored test. One looping or flooding test loses only its own
 * points: the per-test timeout of the framework ends it where the framework has one
 * (lab's pytest and unittest runners arm an alarm per test; node's --test-timeout), and
 * when the sandbox itself had to end the run (a loop the alarm cannot break, an output
 * or memory limit) the test that was running is charged with that verdict and the run
 * starts again without it and without the tests already done — as Exercism's and
 * Gradescope's runners re-run what is left.
 */
import type {SandboxResult} from '../../sandbox/result.js'
import type {FrameworkGroup} from '../schema.js'
import {type FrameworkRun, type FrameworkTest, parseJsonLines, parseJunitXml, parseTap} from './parse.js'
import {NODE_REPORTER, PYTEST_INI, PYTEST_PLUGIN, UNITTEST_RUNNER} from './runners.js'

export const FRAMEWORKS = ['pytest', 'unittest', 'node:test', 'tap', 'junit-xml'] as const
export type FrameworkName = (typeof FRAMEWORKS)[number]

/** Files lab places read-only at /lab-grading for every framework run. */
export const RUNNER_FILES: Record<string, string> = {
  'lab_pytest.py': PYTEST_PLUGIN,
  'lab_unittest.py': UNITTEST_RUNNER,
  'node-reporter.mjs': NODE_REPORTER,
  'pytest.ini': PYTEST_INI,
}

/** Where each run writes its results (a fresh writable directory of that run alone). */
export const RESULTS_FILE = '/lab-results/results.jsonl'

/** Frameworks whose results come through lab's runners (JSON lines) and that honour LAB_SKIP. */
const OWN_RUNNER = new Set<FrameworkName>(['pytest', 'unittest', 'node:test'])

/** Verdicts that mean the sandbox ended the run before the framework could finish. */
const KILLED = new Set(['timeout', 'cpu-time', 'memory', 'pids', 'output-limit', 'file-size', 'signaled'])

/** What the program needs inside the sandbox (for `lab doctor --grading`). */
export function frameworkNeeds(f: FrameworkName): {commands: string[]; pythonModules: string[]} {
  if (f === 'pytest') return {commands: ['python3'], pythonModules: ['pytest']}
  if (f === 'unittest') return {commands: ['python3'], pythonModules: []}
  if (f === 'node:test') return {commands: ['node'], pythonModules: []}
  return {commands: [], pythonModules: []}
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

/** The command of one attempt: the framework's own, or the spec's with the tests left as arguments. */
export function frameworkCommand(g: FrameworkGroup, files: string[], perTestMs: number, only: string[] | null): {command: string[]; env: string[]} {
  const env = [`LAB_RESULTS=${RESULTS_FILE}`, `LAB_TEST_TIMEOUT=${perTestMs / 1000}`]
  const f = g.framework as FrameworkName
  if (g.run) return {command: ['sh', '-c', g.run, 'sh', ...(only ?? [])], env}
  switch (f) {
    case 'pytest':
      // the teacher's ini, no conftest.py from the submission, lab's plugin for the results
      return {command: ['python3', '-m', 'pytest', '-c', '/lab-grading/pytest.ini', '--rootdir=/work', '--noconftest', '-p', 'lab_pytest', '-q', '--no-header', '-p', 'no:randomly', ...files], env: [...env, 'PYTHONPATH=/lab-grading', 'PYTHONDONTWRITEBYTECODE=1']}
    case 'unittest':
      return {command: ['python3', '/lab-grading/lab_unittest.py', ...files.map((x) => `/work/${x}`)], env: [...env, 'PYTHONDONTWRITEBYTECODE=1']}
    case 'node:test': {
      const pattern = only ? [`--test-name-pattern=^(${only.map(escapeRegex).join('|')})$`] : []
      return {command: ['node', '--test', '--test-reporter=/lab-grading/node-reporter.mjs', '--test-reporter-destination=stdout', `--test-timeout=${perTestMs}`, '--test-concurrency=1', ...pattern, ...files], env}
    }
    default:
      throw new Error(`framework ${f} needs a run: command`)
  }
}

export interface Attempt {
  result: SandboxResult
  /** the runners' JSON lines, the TAP text or the JUnit XML, whichever this framework gives */
  reported: string
}

export type AttemptRunner = (command: string[], env: string[], wallMs: number) => Promise<Attempt>

export interface GroupOutcome {
  tests: Map<string, FrameworkTest & {verdict: string}>
  loadError: string | null
  attempts: number
  wallMs: number
  cpuMs: number
  peakMemoryBytes: number
  /** the run's own output (the framework's summary, a crash) for when no test explains it */
  lastOutput: string
}

export function parseReported(f: FrameworkName, text: string): FrameworkRun {
  if (OWN_RUNNER.has(f)) return parseJsonLines(text)
  if (f === 'tap') return parseTap(text)
  return parseJunitXml(text)
}

/**
 * Runs a group until every expected test has a result: after a run the sandbox ended,
 * the running test is charged and the rest run again. At most one attempt per test plus one.
 */
export async function runGroup(g: FrameworkGroup, files: string[], expected: string[] | null, perTestMs: number, startupMs: number, attempt: AttemptRunner, verdictMessage: (r: SandboxResult) => string): Promise<GroupOutcome> {
  const f = g.framework as FrameworkName
  const done = new Map<string, FrameworkTest & {verdict: string}>()
  const out: GroupOutcome = {tests: done, loadError: null, attempts: 0, wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, lastOutput: ''}
  let order = expected
  // after a stopped run that did not say which test was running, each test left runs alone
  let single = false
  for (let i = 0; i <= 2 * (expected?.length ?? 32) + 2; i++) {
    const left = order ? order.filter((n) => !done.has(n)) : null
    if (left && left.length === 0) break
    const only = single && left ? [left[0]] : i === 0 || !left ? null : left
    const {command, env} = frameworkCommand(g, files, perTestMs, only)
    const skip = OWN_RUNNER.has(f) && f !== 'node:test' && (done.size || only) ? [`LAB_SKIP=${(order ?? []).filter((n) => !only || !only.includes(n)).concat([...done.keys()]).join('\n')}`] : []
    const wall = startupMs + perTestMs * (only?.length ?? left?.length ?? 64)
    const {result: r, reported} = await attempt(command, [...env, ...skip], wall)
    out.attempts++
    out.wallMs += r.wallMs
    out.cpuMs += r.cpu.userMs + r.cpu.systemMs
    out.peakMemoryBytes = Math.max(out.peakMemoryBytes, r.peakMemoryBytes)
    out.lastOutput = `${r.stdout ?? ''}${r.stderr ?? ''}`
    const run = parseReported(f, f === 'tap' ? (r.stdout ?? '') : reported)
    if (!order && run.collected) order = run.collected
    const wanted = (n: string) => (!expected || expected.includes(n)) && (!only || only.includes(n))
    for (const t of run.results) if (!done.has(t.name) && wanted(t.name)) done.set(t.name, {...t, verdict: t.status === 'timeout' ? 'timeout' : 'ok'})
    // a JUnit or TAP report that holds only errors of tests nobody asked for: the file did not load
    if (!run.loadError && done.size === 0 && run.results.length > 0 && run.results.every((t) => t.status === 'error' && !wanted(t.name))) run.loadError = run.results.map((t) => `${t.name}: ${t.message ?? 'error'}`).join('\n')
    if (run.loadError && done.size === 0) {
      out.loadError = run.loadError
      break
    }
    if (r.verdict === 'engine-error' || r.verdict === 'exec-failed') throw Object.assign(new Error(verdictMessage(r)), {verdict: r.verdict})
    const stopped = KILLED.has(r.verdict) || run.stopped !== undefined
    if (!stopped) {
      if (done.size === 0 && run.results.length === 0 && !single) {
        out.loadError = `the tests did not run (${r.verdict === 'ok' ? 'no test reported' : `exit code ${r.exitCode}`})\n${out.lastOutput}`.trim()
        break
      }
      if (!single) break
      // alone, it ended without a result: it did not report
      if (only && !done.has(only[0])) done.set(only[0], {name: only[0], status: 'failed', message: `the test did not report a result (exit code ${r.exitCode})`, output: '', ms: 0, code: null, task: null, verdict: r.verdict})
      continue
    }
    const verdict = KILLED.has(r.verdict) ? r.verdict : 'timeout'
    const charge = (name: string) => done.set(name, {name, status: verdict === 'timeout' ? 'timeout' : 'failed', message: KILLED.has(r.verdict) ? verdictMessage(r) : `time limit exceeded (${perTestMs} ms)`, output: '', ms: verdict === 'timeout' ? perTestMs : 0, code: null, task: null, verdict})
    // the sandbox or the framework ended the run: charge the test that was running, then run what is left
    if (run.running && !done.has(run.running)) charge(run.running)
    else if (single && only) charge(only[0])
    else if (order) single = true
    else break
  }
  return out
}
