/**
 * Exercism's test runner interface, results.json version 3: a status for the whole run
 * (pass, fail, or error when the tests could not run: a rejected upload, a failed build,
 * a syntax or import error — then one top-level message and no tests) and one entry per
 * test in the test file's order: name, status, message on failure, the test's own code
 * (its body, for framework tests), task_id, and as output only what the student's code
 * printed, cut at 500 characters with the official runner's note. A student-facing
 * format: only `visible` tests are listed.
 */
import type {GradeReport, SubmissionResult} from '../harness.js'

export const EXERCISM_OUTPUT_LIMIT = 500
const TRUNCATED = ' [Output was truncated. Please limit to 500 chars]'

function userOutput(s: string): string {
  const out = s.replace(/\s+$/, '')
  return out.length > EXERCISM_OUTPUT_LIMIT ? out.slice(0, EXERCISM_OUTPUT_LIMIT) + TRUNCATED : out
}

export function exercismResult(report: GradeReport, s: SubmissionResult): object {
  if (s.status === 'rejected' || s.status === 'build-failed' || s.status === 'load-failed' || s.status === 'error') {
    const out = s.build ? `${s.build.stdout}${s.build.stderr}` : ''
    return {version: 3, status: 'error', message: [`${s.upload}: ${s.message ?? s.status}`, out].filter(Boolean).join('\n'), tests: []}
  }
  const shown = s.tests.filter((t) => t.visibility === 'visible')
  const tests = shown.map((t) => {
    const planned = report.tests.find((x) => x.name === t.name)
    const status = t.status === 'passed' ? 'pass' : t.status === 'error' || t.verdict === 'error' ? 'error' : 'fail'
    const e: Record<string, unknown> = {name: t.name, status}
    if (status !== 'pass') e.message = t.message
    e.test_code = t.code ?? planned?.code ?? planned?.command ?? ''
    const task = t.task ?? planned?.task
    if (task !== undefined) e.task_id = task
    const output = userOutput(t.stdout)
    if (output) e.output = output
    return e
  })
  return {version: 3, status: s.tests.every((t) => t.status === 'passed') ? 'pass' : 'fail', tests}
}

export function exercism(report: GradeReport): string {
  const data = report.submissions.length === 1 ? exercismResult(report, report.submissions[0]) : Object.fromEntries(report.submissions.map((s) => [s.id, exercismResult(report, s)]))
  return JSON.stringify(data, null, 2) + '\n'
}
