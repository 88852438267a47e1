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

export function junit(report: GradeReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>']
  const all = report.submissions.flatMap((s) => s.tests)
  const failures = all.filter((t) => t.status === 'failed' || t.status === 'partial').length
  const errors = all.filter((t) => t.status === 'error').length
  out.push(`<testsuites name="${xmlEscape(report.title)}" tests="${all.length}" failures="${failures}" errors="${errors}" time="${(report.wallMs / 1000).toFixed(3)}">`)
  for (const s of report.submissions) {
    const f = s.tests.filter((t) => t.status === 'failed' || t.status === 'partial').length
    const e = s.tests.filter((t) => t.status === 'error').length
    out.push(`  <testsuite name="${xmlEscape(s.id)}" tests="${s.tests.length}" failures="${f}" errors="${e}" time="${(s.wallMs / 1000).toFixed(3)}" timestamp="${report.gradedAt.replace(/\.\d+Z$/, '')}">`)
    out.push(`    <properties><property name="score" value="${s.score}"/><property name="max_score" value="${s.maxScore}"/><property name="status" value="${s.status}"/>${s.sha256 ? `<property name="sha256" value="${s.sha256}"/>` : ''}</properties>`)
    for (const t of s.tests) {
      out.push(`    <testcase name="${xmlEscape(t.name)}" classname="${xmlEscape(s.id)}" time="${(t.wallMs / 1000).toFixed(3)}">`)
      if (t.status === 'error') out.push(`      <error message="${xmlEscape(t.message)}" type="${xmlEscape(t.verdict)}"/>`)
      else if (t.status !== 'passed') out.push(`      <failure message="${xmlEscape(t.message)}" type="${xmlEscape(t.verdict)}">${xmlEscape(`${t.score} of ${t.maxScore} points\n` + t.checks.map((c) => `${c.passed ? 'ok' : 'FAILED'} ${c.name}: ${c.message}`).join('\n'))}</failure>`)
      if (t.stdout) out.push(`      <system-out>${xmlEscape(t.stdout)}</system-out>`)
      if (t.stderr) out.push(`      <system-err>${xmlEscape(t.stderr)}</system-err>`)
      out.push('    </testcase>')
    }
    out.push('  </testsuite>')
  }
  out.push('</testsuites>')
  return out.join('\n') + '\n'
}
