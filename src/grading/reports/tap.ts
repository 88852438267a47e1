/**
 * TAP version 14: one subtest per submission (a "# Subtest:" comment, its tests indented
 * four spaces, then its own test point), YAML diagnostics for each test that did not
 * pass. Submission-controlled text is kept on one line and escaped as a YAML string.
 */
import type {GradeReport} from '../harness.js'

/** A TAP description: no newlines or control characters, and "#" escaped so it cannot start a directive. */
function desc(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\r\n]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '').replace(/\\/g, '\\\\').replace(/#/g, '\\#')
}

const yamlString = (s: string) => JSON.stringify(s)

export function tap(report: GradeReport): string {
  const out = ['TAP version 14', `1..${report.submissions.length}`]
  report.submissions.forEach((s, i) => {
    out.push(`# Subtest: ${desc(s.id)}`)
    out.push(`    1..${s.tests.length}`)
    out.push(`    # upload: ${desc(s.upload ?? s.path)}`)
    s.tests.forEach((t, j) => {
      out.push(`    ${t.status === 'passed' ? 'ok' : 'not ok'} ${j + 1} - ${desc(t.name)}`)
      if (t.status !== 'passed') {
        out.push('      ---')
        out.push(`      message: ${yamlString(t.message)}`)
        out.push(`      severity: ${t.status === 'error' || s.status !== 'graded' ? 'error' : 'fail'}`)
        out.push(`      verdict: ${yamlString(t.verdict)}`)
        out.push(`      points: ${t.score}`)
        out.push(`      max_points: ${t.maxScore}`)
        if (t.rerun) out.push(`      rerun: ${yamlString(t.rerun.reason)}`)
        out.push('      ...')
      }
    })
    const ok = s.status === 'graded' && s.tests.every((t) => t.status === 'passed')
    out.push(`${ok ? 'ok' : 'not ok'} ${i + 1} - ${desc(s.id)} ${s.score}/${s.maxScore}${s.message ? ` (${desc(s.message.split('\n')[0].slice(0, 300))})` : ''}`)
  })
  return out.join('\n') + '\n'
}
