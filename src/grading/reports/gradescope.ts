/**
 * Gradescope's autograder format: one results.json per submission (score, tests with
 * name, score, max_score, status, output and visibility). Gradescope hides `hidden`
 * and `after_due_date` tests from students itself, so each test's visibility is passed on.
 */
import type {GradeReport, SubmissionResult} from '../harness.js'

export function gradescopeResult(report: GradeReport, s: SubmissionResult): object {
  const output = s.status === 'graded' ? `${report.title}: ${s.score} of ${s.maxScore} points` : `${report.title}: ${s.message ?? s.status}`
  return {
    score: s.score,
    max_score: s.maxScore,
    execution_time: Math.round(s.wallMs / 1000),
    output,
    visibility: 'visible',
    stdout_visibility: 'hidden',
    tests: s.tests.map((t) => ({
      name: t.name,
      score: t.score,
      max_score: t.maxScore,
      status: t.status === 'passed' ? 'passed' : 'failed',
      output: [t.message, t.rerun ? `(${t.rerun.reason})` : ''].filter(Boolean).join('\n'),
      visibility: t.visibility,
    })),
  }
}

/** One submission: its results.json; several: an object keyed by submission id. */
export function gradescope(report: GradeReport): string {
  const data = report.submissions.length === 1 ? gradescopeResult(report, report.submissions[0]) : Object.fromEntries(report.submissions.map((s) => [s.id, gradescopeResult(report, s)]))
  return JSON.stringify(data, null, 2) + '\n'
}
