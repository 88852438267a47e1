/**
 * The checks of a test, evaluated after its run is over (every process dead): exit
 * code, stdout/stderr text checks, files the program left (read through beneath.ts,
 * never following a link), and checker programs (run by the harness in their own
 * sandbox). Each check gives passed + a one-line message; nothing here trusts what the
 * submission printed beyond comparing it.
 */
import {BeneathError, readBeneath} from './beneath.js'
import type {Check, TextCheck} from './schema.js'

export interface CheckResult {
  name: string
  passed: boolean
  message: string
  /** a checker's share of the test's points (0..1); absent: all or nothing */
  fraction?: number
}

export interface RunOutputs {
  exitCode: number
  stdout: string
  stderr: string
  /** the test's work directory on the host (untrusted contents) */
  workDir: string
}

/** Runs a checker program in its own sandbox: exit 0 passes; the first line is the message. */
export type CheckerRunner = (check: NonNullable<Check['checker']>, outputs: RunOutputs) => Promise<CheckResult>

export const MAX_OUTPUT_FILE = 8 * 1024 * 1024

/** Trailing spaces at line ends and trailing newlines are not the student's mistake. */
export function normalize(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(/[ \t]+$/gm, '').replace(/\n+$/, '')
}

function preview(text: string, n = 80): string {
  const one = JSON.stringify(text.length > n ? text.slice(0, n) + '…' : text)
  return one
}

/** The first difference between expected and actual, as "line N: expected …, got …". */
function firstDifference(expected: string, actual: string): string {
  const e = expected.split('\n')
  const a = actual.split('\n')
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    if (e[i] !== a[i]) {
      if (a[i] === undefined) return `line ${i + 1}: expected ${preview(e[i])}, but the output ended`
      if (e[i] === undefined) return `line ${i + 1}: unexpected extra output ${preview(a[i])}`
      return `line ${i + 1}: expected ${preview(e[i])}, got ${preview(a[i])}`
    }
  }
  return 'texts differ'
}

/** Every key of a text check must hold; the first that does not is the message. */
export function checkText(t: TextCheck, actual: string, what: string, texts: Map<string, string>): {passed: boolean; message: string} {
  if (t.equals !== undefined || t.equalsFile !== undefined) {
    const expected = normalize(t.equals ?? texts.get(t.equalsFile!) ?? '')
    const got = normalize(actual)
    if (expected !== got) return {passed: false, message: `${what}: ${firstDifference(expected, got)}`}
  }
  if (t.contains !== undefined && !actual.includes(t.contains)) return {passed: false, message: `${what} does not contain ${preview(t.contains)}`}
  if (t.notContains !== undefined && actual.includes(t.notContains)) return {passed: false, message: `${what} contains ${preview(t.notContains)}`}
  if (t.matches !== undefined && !new RegExp(t.matches, 'm').test(actual)) return {passed: false, message: `${what} does not match /${t.matches}/`}
  if (t.numeric) {
    const trimmed = actual.trim()
    const n = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN
    const tol = (t.numeric.tolerance ?? 1e-6) * (t.numeric.relative ? Math.abs(t.numeric.value) : 1)
    if (Number.isNaN(n)) return {passed: false, message: `${what} is not a number: ${preview(trimmed)}`}
    if (Math.abs(n - t.numeric.value) > tol) return {passed: false, message: `${what}: expected ${t.numeric.value} ± ${tol}, got ${n}`}
  }
  return {passed: true, message: `${what} as expected`}
}

export function checkName(c: Check): string {
  if (c.name) return c.name
  if (c.exitCode !== undefined) return `exit code ${c.exitCode}`
  if (c.stdout) return 'standard output'
  if (c.stderr) return 'standard error'
  if (c.file) return `file ${c.file.path}`
  return `checker ${c.checker!.command[0]}`
}

export async function evaluateChecks(checks: Check[], out: RunOutputs, texts: Map<string, string>, runChecker: CheckerRunner): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  for (const c of checks) {
    const name = checkName(c)
    if (c.exitCode !== undefined) {
      results.push({name, passed: out.exitCode === c.exitCode, message: out.exitCode === c.exitCode ? `exited with ${c.exitCode}` : `expected exit code ${c.exitCode}, got ${out.exitCode}`})
    } else if (c.stdout) {
      results.push({name, ...checkText(c.stdout, out.stdout, 'standard output', texts)})
    } else if (c.stderr) {
      results.push({name, ...checkText(c.stderr, out.stderr, 'standard error', texts)})
    } else if (c.file) {
      const wantAbsent = c.file.exists === false
      let content: string | null = null
      let problem: string | null = null
      try {
        content = readBeneath(out.workDir, c.file.path, MAX_OUTPUT_FILE).toString('utf8')
      } catch (e) {
        if (e instanceof BeneathError && e.reason === 'missing') content = null
        else if (e instanceof BeneathError) problem = `${e.message}: not read`
        else throw e
      }
      if (problem) results.push({name, passed: false, message: problem})
      else if (wantAbsent) results.push({name, passed: content === null, message: content === null ? `${c.file.path} is absent` : `${c.file.path} exists but should not`})
      else if (content === null) results.push({name, passed: false, message: `${c.file.path} was not written`})
      else {
        const {path: _p, exists: _e, ...text} = c.file
        results.push({name, ...(Object.keys(text).length ? checkText(text, content, c.file.path, texts) : {passed: true, message: `${c.file.path} exists`})})
      }
    } else if (c.checker) {
      results.push({...(await runChecker(c.checker, out)), name})
    }
  }
  return results
}
