/**
 * Gradescope's autograder results.json, with only the keys its specification lists:
 * score, execution_time (the seconds this submission's own sandboxes ran, not time spent
 * waiting for a slot), output (a summary, or the one error that stopped grading),
 * output_format, visibility, stdout_visibility, extra_data (the upload's name and hash)
 * and the tests with name, score, max_score, status, output (the failure message, then
 * what the student's code printed, capped), output_format and visibility. Gradescope
 * hides `hidden` and `after_due_date` tests from students itself.
 */
import type {GradeReport, SubmissionResult, TestResult} from '../harness.js'

export const GRADESCOPE_OUTPUT_LIMIT = 8192

/** A Markdown code block that the text cannot close early. */
function fenced(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = '`'.repeat(longest + 1)
  return `${fence}\n${text}\n${fence}`
}

function capped(text: string, n = GRADESCOPE_OUTPUT_LIMIT): string {
  return text.length > n ? `${text.slice(0, n)}\n[output truncated: ${text.length - n} more characters]` : text
}

function testOutput(t: TestResult): string {
  const parts = [t.status === 'passed' ? '' : fenced(capped(t.message, 4000))]
  if (t.rerun) parts.push(`(${t.rerun.reason})`)
  const printed = `${t.stdout}${t.stderr}`.replace(/\s+$/, '')
  if (printed) parts.push(`Your program's output:\n\n${fenced(capped(printed))}`)
  return parts.filter(Boolean).join('\n\n')
}

export function gradescopeResult(report: GradeReport, s: SubmissionResult): object {
  const stopped = s.status !== 'graded'
  const output = stopped
    ? `${report.title}: ${s.upload} could not be graded (${s.status}).\n\n${fenced(capped(`${s.message ?? s.status}${s.build ? `\n${s.build.stdout}${s.build.stderr}` : ''}`))}`
    : `${report.title}: ${s.score} of ${s.maxScore} points for ${s.upload}`
  return {
    score: s.score,
    execution_time: Math.round(s.runMs / 1000),
    output,
    output_format: 'md',
    visibility: 'visible',
    stdout_visibility: 'hidden',
    extra_data: {upload: s.upload, sha256: s.sha256, status: s.status},
    tests: s.tests.map((t) => {
      const out = testOutput(t)
      return {name: t.name, score: t.score, max_score: t.maxScore, status: t.status === 'passed' ? 'passed' : 'failed', ...(out ? {output: out, output_format: 'md'} : {}), visibility: t.visibility}
    }),
  }
}

/** One submission: its results.json; several: an object keyed by submission id. */
export function gradescope(report: GradeReport): string {
  const data = report.submissions.length === 1 ? gradescopeResult(report, report.submissions[0]) : Object.fromEntries(report.submissions.map((s) => [s.id, gradescopeResult(report, s)]))
  return JSON.stringify(data, null, 2) + '\n'
}
