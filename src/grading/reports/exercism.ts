/**
 * Exercism's test runner interface, results.json version 3: a status for the whole run
 * (pass, fail, or error when it could not be tested) and one entry per test. It is a
 * student-facing format, so only `visible` tests are listed.
 */
import type {GradeReport, SubmissionResult} from '../harness.js'

export function exercismResult(report: GradeReport, s: SubmissionResult): object {
  if (s.status === 'rejected' || s.status === 'build-failed' || s.status === 'error') {
    const out = s.build ? `${s.build.stdout}${s.build.stderr}`.slice(0, 500) : ''
    return {version: 3, status: 'error', message: [s.message ?? s.status, out].filter(Boolean).join('\n'), tests: []}
  }
  const shown = s.tests.filter((t) => t.visibility === 'visible')
  const tests = shown.map((t) => {
    const e: Record<string, unknown> = {name: t.name, status: t.status === 'passed' ? 'pass' : t.status === 'error' ? 'error' : 'fail', test_code: report.tests.find((x) => x.name === t.name)?.command ?? ''}
    if (t.status !== 'passed') e.message = t.message
    const output = t.stdout.slice(0, 500)
    if (output) e.output = output
    return e
  })
  const result: Record<string, unknown> = {version: 3, status: s.tests.every((t) => t.status === 'passed') ? 'pass' : 'fail', tests}
  return result
}

export function exercism(report: GradeReport): string {
  const data = report.submissions.length === 1 ? exercismResult(report, report.submissions[0]) : Object.fromEntries(report.submissions.map((s) => [s.id, exercismResult(report, s)]))
  return JSON.stringify(data, null, 2) + '\n'
}
