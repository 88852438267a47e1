/**
 * JUnit XML, as CI systems read it: one <testsuite> per submission, one <testcase> per
 * test, <failure> with the reason, <error> when the test could not be graded, and the
 * program's output in <system-out>. Everything a submission produced is escaped, and
 * characters XML 1.0 cannot hold are dropped.
 */
import type {GradeReport} from '../harness.js'

export function xmlEscape(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[<>&"']/g, (c) => ({'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;'})[c]!)
}

const firstLine = (m: string) => m.split('\n')[0].slice(0, 500)

export function junit(report: GradeReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>']
  // a submission that could not be tested (rejected, build or load failed) errs in every test
  const isError = (s: GradeReport['submissions'][number], t: GradeReport['submissions'][number]['tests'][number]) => t.status === 'error' || (s.status !== 'graded' && t.status !== 'passed')
  const all = report.submissions.flatMap((s) => s.tests.map((t) => ({s, t})))
  const errors = all.filter(({s, t}) => isError(s, t)).length
  const failures = all.filter(({s, t}) => !isError(s, t) && (t.status === 'failed' || t.status === 'partial')).length
  out.push(`<testsuites name="${xmlEscape(report.title)}" tests="${all.length}" failures="${failures}" errors="${errors}" time="${(report.wallMs / 1000).toFixed(3)}">`)
  for (const s of report.submissions) {
    const e = s.tests.filter((t) => isError(s, t)).length
    const f = s.tests.filter((t) => !isError(s, t) && (t.status === 'failed' || t.status === 'partial')).length
    out.push(`  <testsuite name="${xmlEscape(s.id)}" tests="${s.tests.length}" failures="${f}" errors="${e}" time="${(s.wallMs / 1000).toFixed(3)}" timestamp="${report.gradedAt.replace(/\.\d+Z$/, '')}">`)
    out.push(`    <properties><property name="score" value="${s.score}"/><property name="max_score" value="${s.maxScore}"/><property name="status" value="${s.status}"/><property name="upload" value="${xmlEscape(s.upload)}"/>${s.sha256 ? `<property name="sha256" value="${s.sha256}"/>` : ''}</properties>`)
    for (const t of s.tests) {
      out.push(`    <testcase name="${xmlEscape(t.name)}" classname="${xmlEscape(s.id)}" time="${(t.wallMs / 1000).toFixed(3)}">`)
      if (isError(s, t)) out.push(`      <error message="${xmlEscape(firstLine(s.status === 'graded' ? t.message : (s.message ?? t.message)))}" type="${xmlEscape(s.status === 'graded' ? t.verdict : s.status)}">${xmlEscape(s.status === 'graded' ? t.message : (s.message ?? t.message))}</error>`)
      else if (t.status !== 'passed') out.push(`      <failure message="${xmlEscape(firstLine(t.message))}" type="${xmlEscape(t.verdict)}">${xmlEscape(`${t.score} of ${t.maxScore} points\n${t.message}\n` + t.checks.map((c) => `${c.passed ? 'ok' : 'FAILED'} ${c.name}: ${c.message}`).join('\n'))}</failure>`)
      if (t.stdout) out.push(`      <system-out>${xmlEscape(t.stdout)}</system-out>`)
      if (t.stderr) out.push(`      <system-err>${xmlEscape(t.stderr)}</system-err>`)
      out.push('    </testcase>')
    }
    out.push('  </testsuite>')
  }
  out.push('</testsuites>')
  return out.join('\n') + '\n'
}
