/**
 * A gradebook: one row per submission with its total and each test's points, for a
 * spreadsheet. Fields are quoted as RFC 4180 says, and a field that a spreadsheet would
 * run as a formula (=, +, -, @ first) is prefixed with ' — submission names and
 * messages come from students.
 */
import type {GradeReport} from '../harness.js'

export function csvField(v: string | number): string {
  let s = String(v)
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function csv(report: GradeReport): string {
  const header = ['submission', 'status', 'score', 'max_score', 'percent', ...report.tests.map((t) => t.name), 'sha256', 'message']
  const rows = report.submissions.map((s) => [
    s.id,
    s.status,
    s.score,
    s.maxScore,
    s.maxScore ? Math.round((s.score / s.maxScore) * 1000) / 10 : 0,
    ...report.tests.map((t) => s.tests.find((x) => x.name === t.name)?.score ?? 0),
    s.sha256 ?? '',
    s.message ?? '',
  ])
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n'
}
